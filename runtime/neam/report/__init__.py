"""In-pod status reporter: the runtime patches its own resource's ``status.progress``.

The operator sets ``NEAM_REPORT_RESOURCE`` to the resource's API path below ``/apis/``
(``neam.dev/v1alpha1/namespaces/<ns>/forgeruns/<name>``) and runs the pod under a
service account allowed to patch only that resource's status. Reporting is best
effort: a failed patch is logged (never the token) and never stops the run. The final
result also goes to the termination message (``write_termination_message``), which
the operator reads when the Job ends.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import httpx

log = logging.getLogger("neam.report")

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
RESOURCE = re.compile(
    r"^(?P<group>[a-z0-9.-]+)/(?P<version>v[a-z0-9]+)/namespaces/(?P<namespace>[a-z0-9-]+)/"
    r"(?P<plural>[a-z0-9]+)/(?P<name>[a-z0-9.-]+)$"
)
MESSAGE_LIMIT = 1024


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


class ApiPatcher:
    """Merge-patches objects of the API server with the pod's service-account token.
    Failures are logged (never the token) and reported as False, never raised."""

    def __init__(self, server: str, token_file: Path, ca_file: Path | None) -> None:
        self.server = server.rstrip("/")
        self._token_file = token_file
        verify = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        self._client = httpx.Client(verify=verify, timeout=5.0)

    def patch(self, path: str, body: dict[str, Any], what: str) -> bool:
        try:
            token = self._token_file.read_text().strip()
            resp = self._client.patch(
                self.server + path,
                content=json.dumps(body),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/merge-patch+json",
                },
            )
        except Exception as e:  # reporting must never end the run
            log.warning("%s failed: %s", what, type(e).__name__)
            return False
        if resp.status_code >= 400:
            log.warning("%s rejected: HTTP %s", what, resp.status_code)
            return False
        return True

    def close(self) -> None:
        self._client.close()


class StatusReporter:
    """Patches ``status.progress`` of one resource with the pod's service-account token."""

    def __init__(self, api: ApiPatcher, resource: str) -> None:
        self._api = api
        self.path = f"/apis/{resource}/status"

    def __call__(self, progress: Progress) -> None:
        self._api.patch(self.path, progress_patch(progress), "status report")

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
    token = Path(env.get("NEAM_REPORT_TOKEN_FILE") or SA_DIR / "token")
    ca_env = env.get("NEAM_REPORT_CA_FILE")
    ca = Path(ca_env) if ca_env else (SA_DIR / "ca.crt" if (SA_DIR / "ca.crt").exists() else None)
    return ApiPatcher(server, token, ca)


def reporter_from_env(
    env: Mapping[str, str] | None = None,
) -> Callable[[Progress], None] | None:
    """A progress callback for the resource named by ``NEAM_REPORT_RESOURCE``, or None
    (API access as :func:`api_from_env` finds it)."""
    e = os.environ if env is None else env
    resource = e.get("NEAM_REPORT_RESOURCE", "").strip()
    if not resource:
        return None
    if not RESOURCE.match(resource):
        log.warning("NEAM_REPORT_RESOURCE is malformed; progress is not reported")
        return None
    api = api_from_env(e, "progress")
    return StatusReporter(api, resource) if api is not None else None


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
