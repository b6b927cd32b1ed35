"""The kopf registry: login, startup settings and the event handlers."""

from __future__ import annotations

from typing import Any

import kopf

from neam_operator import credentials
from neam_operator.handlers.forgerun import ForgeRuns
from neam_operator.kube import Kube
from neam_operator.models import GROUP, VERSION
from neam_operator.settings import Settings

CHILD_JOBS = {
    "app.kubernetes.io/managed-by": "neam-operator",
    "app.kubernetes.io/component": "forge",
}


def build_registry(settings: Settings) -> kopf.OperatorRegistry:
    """All handlers of the operator, registered on a fresh registry."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    async def login(**_: Any) -> kopf.ConnectionInfo:
        creds = credentials.load()
        return kopf.ConnectionInfo(
            server=creds.server,
            ca_path=creds.ca_file,
            insecure=creds.insecure,
            token=creds.bearer(),
            certificate_path=creds.cert_file,
            private_key_path=creds.key_file,
        )

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        # Event handlers only: kopf keeps no state on the resources (no finalizers,
        # no progress or last-handled annotations), and log lines are not posted as events.
        settings.posting.enabled = False
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.networking.request_timeout = 60
        memo.forgeruns = ForgeRuns(await Kube.connect(), operator_settings)

    @kopf.on.cleanup(registry=registry)
    async def cleanup(memo: kopf.Memo, **_: Any) -> None:
        runs: ForgeRuns | None = getattr(memo, "forgeruns", None)
        if runs is not None:
            await runs.kube.close()

    @kopf.on.event(GROUP, VERSION, "forgeruns", registry=registry)
    async def forgerun_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        meta = event["object"]["metadata"]
        key = (meta["namespace"], meta["name"])
        if event.get("type") == "DELETED":
            memo.forgeruns.forget(key)
            return
        await memo.forgeruns.reconcile(key, event["object"])

    @kopf.on.event("batch", "v1", "jobs", labels=CHILD_JOBS, registry=registry)
    async def job_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        meta = event["object"]["metadata"]
        for ref in meta.get("ownerReferences") or []:
            if ref.get("kind") == "ForgeRun" and ref.get("apiVersion") == f"{GROUP}/{VERSION}":
                await memo.forgeruns.reconcile((meta["namespace"], ref["name"]))

    operator_settings = settings
    return registry
