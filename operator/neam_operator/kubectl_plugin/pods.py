"""A run's pods: found by their Job's ``job-name`` label, oldest first, and their state."""

from __future__ import annotations

from typing import Any

from neam_operator.kubectl_plugin.client import Api
from neam_operator.kubectl_plugin.resources import POD
from neam_operator.kubectl_plugin.text import one_line

Pod = dict[str, Any]
TERMINAL = ("Succeeded", "Failed")


def of_job(api: Api, namespace: str, job: str) -> list[Pod]:
    """The Job's pods in order of creation: attempt 1, 2, ..."""
    found = api.list(POD.url(namespace), labelSelector=f"job-name={job}")
    return sorted(
        found, key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"])
    )


def container_status(pod: Pod, container: str) -> dict[str, Any]:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == container:
            return cs
    return {}


def phase(pod: Pod) -> str:
    return (pod.get("status") or {}).get("phase") or "Pending"


def started(pod: Pod, container: str) -> bool:
    """Whether ``container`` runs or ran, i.e. may have a log."""
    state = container_status(pod, container).get("state") or {}
    return bool(state.get("running") or state.get("terminated"))


def gone(pod: Pod) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def why_waiting(pod: Pod) -> str:
    """Why a pod has not started: its containers' waiting reason, else its scheduling."""
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            detail = f": {one_line(waiting['message'], 200)}" if waiting.get("message") else ""
            return f"{waiting['reason']}{detail}"
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            detail = f": {one_line(c['message'], 200)}" if c.get("message") else ""
            return f"{c.get('reason') or 'Unschedulable'}{detail}"
    return "not started yet"


def state(pod: Pod) -> str:
    """``Running``, ``Pending``, ``Failed (exit 1, Error)``, ``Running, terminating``."""
    current = phase(pod)
    if gone(pod):
        return f"{current}, terminating"
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated")
        if term:
            return f"{current} (exit {term.get('exitCode')}, {term.get('reason') or 'terminated'})"
    return current
