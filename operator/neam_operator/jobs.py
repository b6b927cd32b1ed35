"""What the operator reads back from its Jobs: their pods' termination messages."""

from __future__ import annotations

from typing import Any

from neam_operator.kube import Kube, path


async def termination_message(kube: Kube, namespace: str, job: str, container: str) -> str | None:
    """The newest terminated ``container``'s termination message among the Job's pods."""
    pods = await kube.select(path("v1", "Pod", namespace), f"job-name={job}")
    return newest_termination(pods, container)


def newest_termination(pods: list[dict[str, Any]], container: str) -> str | None:
    """The termination message of ``container`` in the newest of ``pods``: the latest
    to finish, then the latest created (timestamps have one-second resolution), then a
    succeeded pod over a failed one (a Job completes on its last)."""
    best: tuple[tuple[str, str, bool], str] | None = None
    for pod in pods:
        status = pod.get("status") or {}
        for cs in status.get("containerStatuses") or []:
            term = (cs.get("state") or {}).get("terminated") or {}
            if cs.get("name") != container or not term.get("message"):
                continue
            created = pod["metadata"].get("creationTimestamp") or ""
            order = (term.get("finishedAt") or "", created, status.get("phase") == "Succeeded")
            if best is None or order > best[0]:
                best = (order, term["message"])
    return best[1] if best else None
