"""The PVC route of ``kubectl neam outputs``: a short-lived pod mounts the run's workspace
claim read-only and runs ``lister`` in the run's own image; its log is the answer. The pod
is deleted afterwards, whatever happens (it is also owned by the run and bounded by
``activeDeadlineSeconds``, so one left behind by a killed plugin still goes away)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from neam_operator.builders.common import (
    Owner,
    child_name,
    container_security_context,
    labels,
    pod_security_context,
)
from neam_operator.builders.forgerun import WORKSPACE
from neam_operator.kubectl_plugin import lister, pods
from neam_operator.kubectl_plugin.client import ApiError
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.resources import POD
from neam_operator.kubectl_plugin.session import Session

CONTAINER = "outputs"
COMPONENT = "outputs"
MANAGED_BY = "kubectl-neam"
DEADLINE_SECONDS = 600
POLL = 0.5
LISTER = Path(lister.__file__).read_text()
RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


def pod_manifest(
    run: dict[str, Any],
    claim: str,
    image: str,
    pull_policy: str | None,
    node: str | None,
    lister_args: list[str],
) -> dict[str, Any]:
    """The workspace pod: the runtime pods' hardened security context, the claim mounted
    read-only, no service-account token, owned (not controlled) by the run, and pinned
    to ``node`` when a live pod of the run holds the claim there."""
    owner = Owner.of(run)
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "command": ["python3", "-c", LISTER, *lister_args],
        "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
        "resources": RESOURCES,
        "securityContext": container_security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [{"name": "workspace", "mountPath": WORKSPACE, "readOnly": True}],
    }
    if pull_policy:
        container["imagePullPolicy"] = pull_policy
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "activeDeadlineSeconds": DEADLINE_SECONDS,
        "terminationGracePeriodSeconds": 0,
        "securityContext": pod_security_context(),
        "containers": [container],
        "volumes": [
            {"name": "workspace", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        ],
    }
    if node:
        term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
            }
        }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": child_name(owner.name, COMPONENT) + "-",
            "namespace": owner.namespace,
            "labels": {**labels(owner, COMPONENT), "app.kubernetes.io/managed-by": MANAGED_BY},
            "ownerReferences": [
                {
                    "apiVersion": run["apiVersion"],
                    "kind": owner.kind,
                    "name": owner.name,
                    "uid": owner.uid,
                }
            ],
        },
        "spec": spec,
    }


def records(log: str) -> list[dict[str, Any]]:
    """The lister's JSON lines; an error when the log is cut off or not the lister's."""
    out = []
    for line in log.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            raise PluginError(
                f"the workspace pod printed something unexpected: {line[:200]}"
            ) from None
    if not out or out[-1] != {"end": True}:
        raise PluginError("the workspace pod's output is incomplete (its log was cut off)")
    return out[:-1]


def _failure(pod: pods.Pod) -> str:
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated") or {}
        if term:
            detail = " ".join((term.get("message") or "").split())[-300:]
            return f"exit {term.get('exitCode')}, {term.get('reason') or 'Error'}" + (
                f": {detail}" if detail else ""
            )
    return (
        " ".join(f"{status.get('reason', '')}: {status.get('message', '')}".split()).strip(": ")
        or "failed"
    )


class WorkspacePod:
    """One pod's life: create, wait for it to finish, read its log, delete it."""

    def __init__(self, session: Session, manifest: dict[str, Any], timeout: float) -> None:
        self.session = session
        self.manifest = manifest
        self.timeout = timeout

    def run(self) -> list[dict[str, Any]]:
        api, namespace = self.session.api, self.session.namespace
        created = api.create(POD.url(namespace), self.manifest)
        name = created["metadata"]["name"]
        url = POD.url(namespace, name)
        try:
            pod = self._wait(url, name)
            if pods.phase(pod) == "Failed":
                raise PluginError(f"the workspace pod {name} failed ({_failure(pod)})")
            try:
                return records(api.text(f"{url}/log", container=CONTAINER))
            except ApiError as e:
                raise PluginError(
                    f"cannot read the log of the workspace pod {name}: {e.message}"
                ) from e
        finally:
            self._delete(url, name)

    def _wait(self, url: str, name: str) -> pods.Pod:
        deadline = time.monotonic() + self.timeout
        while True:
            pod = self.session.api.get(url)
            if pod is None:
                raise PluginError(f"the workspace pod {name} was deleted before it finished")
            if pods.phase(pod) in pods.TERMINAL:
                return pod
            if time.monotonic() > deadline:
                raise PluginError(
                    f"the workspace pod {name} did not finish within {self.timeout:g}s "
                    f"({pods.state(pod)})",
                    Exit.TIMEOUT,
                )
            time.sleep(POLL)

    def _delete(self, url: str, name: str) -> None:
        try:
            self.session.api.delete(url, grace_seconds=0)
        except (ApiError, PluginError) as e:
            self.session.note(
                f"warning: could not delete the workspace pod {name}: {e}; delete it yourself"
            )
