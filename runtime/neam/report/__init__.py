"""In-pod status reporter: the runtime patches its own resource's ``status.progress``.

The operator sets ``NEAM_REPORT_RESOURCE`` to the resource's API path below ``/apis/``
(``neam.dev/v1alpha1/namespaces/<ns>/forgeruns/<name>``) and runs the pod under a
service account allowed to patch only that resource's status. The API calls go through
lightkube (in-cluster configuration: the mounted token, re-read when it rotates, and CA).
Reporting is best effort: a failed patch is logged (never the token) and never stops the
run. The final result also goes to the termination message
(``write_termination_message``), which the operator reads when the Job ends.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import httpx2
from lightkube import Client, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource
from lightkube.types import PatchType

log = logging.getLogger("neam.report")

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
RESOURCE = re.compile(
    r"^(?P<group>[a-z0-9.-]+)/(?P<version>v[a-z0-9]+)/namespaces/(?P<namespace>[a-z0-9-]+)/"
    r"(?P<plural>[a-z0-9]+)/(?P<name>[a-z0-9.-]+)$"
)
MESSAGE_LIMIT = 1024
# The kinds whose pods report (lightkube's generic resources need the kind of a plural).
KINDS = {"forgeruns": "ForgeRun", "agentdags": "AgentDAG", "clawagents": "ClawAgent"}


class Progress(Protocol):
    """What the forge loop reports (``neam.agents.runtime.ForgeProgress`` fits)."""

    iteration: int
    max_iterations: int | None
    total_cost: Decimal
    current_task: str | None
    outcome: str
    message: str | None
    git: dict[str, str] | None


def cost_string(value: Any) -> str:
    """A Decimal as a plain non-exponent string (``"0.0042"``)."""
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def progress_patch(p: Progress) -> dict[str, Any]:
    """The merge patch for ``status.progress``."""
    progress: dict[str, Any] = {
        "iteration": int(p.iteration),
        "totalCost": cost_string(p.total_cost),
        "outcome": p.outcome,
        "updateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if p.max_iterations is not None:
        progress["maxIterations"] = int(p.max_iterations)
    if p.current_task is not None:
        progress["currentTask"] = str(p.current_task)[:256]
    if p.message is not None:
        progress["message"] = str(p.message)[:MESSAGE_LIMIT]
    if p.git:
        progress["git"] = p.git
    return {"status": {"progress": progress}}


@dataclass(frozen=True)
class ObjectRef:
    """One namespaced object of the API."""

    group: str
    version: str
    kind: str
    plural: str
    namespace: str
    name: str

    def resource(self) -> type[GenericNamespacedResource]:
        return _generic(self.group, self.version, self.kind, self.plural)


@functools.cache  # lightkube refuses to make a second class for a core kind
def _generic(group: str, version: str, kind: str, plural: str) -> type[GenericNamespacedResource]:
    return create_namespaced_resource(group, version, kind, plural)


class ApiPatcher:
    """Merge-patches objects of the API server with the pod's service-account token.
    Failures are logged (never the token) and reported as False, never raised."""

    def __init__(self, config: KubeConfig) -> None:
        self._client = Client(config, timeout=httpx2.Timeout(5.0))

    def patch(self, ref: ObjectRef, body: dict[str, Any], what: str, status: bool = False) -> bool:
        """Merge-patch the object (its ``status`` subresource with ``status``)."""
        res = ref.resource().Status if status else ref.resource()
        try:
            self._client.patch(
                res, ref.name, body, namespace=ref.namespace, patch_type=PatchType.MERGE
            )
        except httpx2.HTTPStatusError as e:  # lightkube's ApiError included
            log.warning("%s rejected: HTTP %s", what, e.response.status_code)
            return False
        except Exception as e:  # reporting must never end the run
            log.warning("%s failed: %s", what, type(e).__name__)
            return False
        return True

    def close(self) -> None:
        self._client.close()


class StatusReporter:
    """Patches ``status.progress`` of one resource with the pod's service-account token."""

    def __init__(self, api: ApiPatcher, ref: ObjectRef) -> None:
        self._api = api
        self.ref = ref

    def __call__(self, progress: Progress) -> None:
        self._api.patch(self.ref, progress_patch(progress), "status report", status=True)

    def close(self) -> None:
        self._api.close()


def api_from_env(env: Mapping[str, str], purpose: str) -> ApiPatcher | None:
    """The in-pod API server access: ``KUBERNETES_SERVICE_HOST``/``_PORT`` (or
    ``NEAM_REPORT_SERVER``), the mounted service account's token and CA (or
    ``NEAM_REPORT_TOKEN_FILE`` / ``NEAM_REPORT_CA_FILE``); None without a server."""
    server = env.get("NEAM_REPORT_SERVER")
    if not server:
        host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            log.warning("no API server address; %s is not reported", purpose)
            return None
        server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    token = env.get("NEAM_REPORT_TOKEN_FILE") or str(SA_DIR / "token")
    ca = env.get("NEAM_REPORT_CA_FILE") or (
        str(SA_DIR / "ca.crt") if (SA_DIR / "ca.crt").exists() else None
    )
    config = KubeConfig.from_one(
        cluster=Cluster(server=server, certificate_auth=ca), user=User(token_file=token)
    )
    return ApiPatcher(config)


def reporter_from_env(
    env: Mapping[str, str] | None = None,
) -> Callable[[Progress], None] | None:
    """A progress callback for the resource named by ``NEAM_REPORT_RESOURCE``, or None
    (API access as :func:`api_from_env` finds it)."""
    e = os.environ if env is None else env
    resource = e.get("NEAM_REPORT_RESOURCE", "").strip()
    if not resource:
        return None
    m = RESOURCE.match(resource)
    if m is None or m["plural"] not in KINDS:
        log.warning("NEAM_REPORT_RESOURCE is malformed; progress is not reported")
        return None
    ref = ObjectRef(
        m["group"], m["version"], KINDS[m["plural"]], m["plural"], m["namespace"], m["name"]
    )
    api = api_from_env(e, "progress")
    return StatusReporter(api, ref) if api is not None else None


def write_termination_message(
    outcome: str,
    iterations: int,
    total_cost: Any,
    message: str | None = None,
    env: Mapping[str, str] | None = None,
    git: dict[str, str] | None = None,
) -> None:
    """Write the final result as JSON to ``NEAM_TERMINATION_MESSAGE_PATH`` (if set)."""
    e = os.environ if env is None else env
    target = e.get("NEAM_TERMINATION_MESSAGE_PATH")
    if not target:
        return
    data = {
        "outcome": outcome,
        "iterations": int(iterations),
        "total_cost": cost_string(total_cost),
        "message": (message or "")[:MESSAGE_LIMIT],
    }
    if git:
        data["git"] = git
    try:
        Path(target).write_text(json.dumps(data))
    except OSError as err:
        log.warning("could not write the termination message: %s", err)
