"""The kopf registry: login, startup settings and the event handlers."""

from __future__ import annotations

from typing import Any

import kopf

from neam_operator import kubeconfig, login
from neam_operator.builders.common import MANAGED_BY
from neam_operator.builders.forgerun import RUN_ANNOTATION, RUN_LABEL
from neam_operator.diffbase import NoDiffBase
from neam_operator.handlers import agentdag, clawagent, forgerun
from neam_operator.handlers.agentdag import AgentDAGs
from neam_operator.handlers.clawagent import ClawAgents
from neam_operator.handlers.forgerun import ForgeRuns
from neam_operator.kube import Kube
from neam_operator.metrics import OperatorMetrics
from neam_operator.models import GROUP, VERSION
from neam_operator.settings import Settings

CHILD_JOBS = {**MANAGED_BY, "app.kubernetes.io/component": "forge"}
DAG_NODE_JOBS = {**MANAGED_BY, "app.kubernetes.io/component": "dag-node"}
CHILD_DEPLOYMENTS = {**MANAGED_BY, "app.kubernetes.io/component": "claw"}


def _selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def watch_only_children(settings: kopf.OperatorSettings) -> None:
    """Have the API server stream only the operator's own Jobs, forge pods and
    Deployments to it (the handlers' ``labels=`` filters are applied by kopf after it
    received every object of the kind in the cluster), and only the ConfigMaps it did
    not make: a source is a user's ConfigMap, never one of the operator's snapshots."""
    selectors = settings.watching.label_selectors
    selectors[("batch", "v1", "jobs")] = _selector(MANAGED_BY)  # forge and DAG node Jobs
    selectors[("", "v1", "pods")] = _selector(CHILD_JOBS)  # forge pods only
    selectors[("apps", "v1", "deployments")] = _selector(CHILD_DEPLOYMENTS)
    selectors[("", "v1", "configmaps")] = ",".join(f"{k}!={v}" for k, v in MANAGED_BY.items())


def _owner(meta: dict[str, Any], kind: str) -> str | None:
    """The name of the neam.dev ``kind`` that controls an object, if any."""
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("apiVersion") == f"{GROUP}/{VERSION}":
            return ref["name"]
    return None


def _run_of_pod(meta: dict[str, Any]) -> str | None:
    """The name of the ForgeRun a forge pod works for. Pods of Jobs made before the
    annotation carry only the label: the name itself when it is up to 63 characters."""
    annotations = meta.get("annotations") or {}
    return annotations.get(RUN_ANNOTATION) or (meta.get("labels") or {}).get(RUN_LABEL)


def build_registry(settings: Settings, metrics: OperatorMetrics) -> kopf.OperatorRegistry:
    """All handlers of the operator, registered on a fresh registry, reporting to
    ``metrics``."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    async def connect(**_: Any) -> kopf.ConnectionInfo:
        return await login.connection_info(kubeconfig.load())

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        # Event handlers only: kopf keeps no state on the resources (no finalizers,
        # no progress or last-handled annotations), and log lines are not posted as events.
        settings.posting.enabled = False
        settings.persistence.diffbase_storage = NoDiffBase()
        watch_only_children(settings)
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.networking.request_timeout = 60
        kube = await Kube.connect(on_error=metrics.api_error)
        memo.kube = kube
        memo.forgeruns = ForgeRuns(kube, operator_settings, metrics)
        memo.forgeruns.start()
        memo.clawagents = ClawAgents(kube, operator_settings, metrics)
        memo.agentdags = AgentDAGs(kube, operator_settings, metrics)
        metrics.watch_timers(forgerun.KIND, memo.forgeruns.scheduler)
        metrics.watch_timers(clawagent.KIND, memo.clawagents.scheduler)
        metrics.watch_timers(agentdag.KIND, memo.agentdags.scheduler)

    @kopf.on.cleanup(registry=registry)
    async def cleanup(memo: kopf.Memo, **_: Any) -> None:
        runs: ForgeRuns | None = getattr(memo, "forgeruns", None)
        if runs is not None:
            await runs.close()
        kube: Kube | None = getattr(memo, "kube", None)
        if kube is not None:
            await kube.close()

    @kopf.on.event(GROUP, VERSION, "forgeruns", registry=registry)
    async def forgerun_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        meta = event["object"]["metadata"]
        key = (meta["namespace"], meta["name"])
        if event.get("type") == "DELETED":
            memo.forgeruns.forget(key)
        else:
            metrics.seen(forgerun.KIND, key, event["object"])
            await memo.forgeruns.reconcile(key, event["object"])
        dag = _owner(meta, "AgentDAG")  # a run node's ForgeRun moves its DAG on
        if dag is not None:
            await memo.agentdags.reconcile((meta["namespace"], dag))

    @kopf.on.event("batch", "v1", "jobs", labels=CHILD_JOBS, registry=registry)
    async def job_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        job = event["object"]
        meta = job["metadata"]
        if event.get("type") != "DELETED" and not job.get("status"):
            return  # not acted on by the Job controller yet (just created): nothing new
        owner = _owner(meta, "ForgeRun")
        if owner is not None:
            await memo.forgeruns.reconcile((meta["namespace"], owner))

    @kopf.on.event("", "v1", "pods", labels=CHILD_JOBS, registry=registry)
    async def forge_pod_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        # Why a pod cannot start (unschedulable, image, config) changes no Job.
        meta = event["object"]["metadata"]
        run = _run_of_pod(meta)
        if run is not None:
            await memo.forgeruns.pod_changed((meta["namespace"], run), event["object"])

    @kopf.on.event("batch", "v1", "jobs", labels=DAG_NODE_JOBS, registry=registry)
    async def dag_node_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        meta = event["object"]["metadata"]
        dag = _owner(meta, "AgentDAG")
        if dag is not None:
            await memo.agentdags.reconcile((meta["namespace"], dag))

    @kopf.on.event(GROUP, VERSION, "agentdags", registry=registry)
    async def agentdag_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        body = event["object"]
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if event.get("type") == "DELETED":
            memo.agentdags.forget(key)
            return
        metrics.seen(agentdag.KIND, key, body)
        # Only the operator writes a DAG's status: a status-only change needs no reconcile.
        observed = (body.get("status") or {}).get("observedGeneration")
        if event.get("type") == "MODIFIED" and observed == meta.get("generation"):
            return
        await memo.agentdags.reconcile(key)

    @kopf.on.event(GROUP, VERSION, "clawagents", registry=registry)
    async def clawagent_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        body = event["object"]
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if event.get("type") == "DELETED":
            memo.clawagents.forget(key)
            return
        metrics.seen(clawagent.KIND, key, body)
        # A status-only change (the operator's own write) needs no reconcile: the spec
        # was handled, and the children's changes arrive as their own events.
        observed = (body.get("status") or {}).get("observedGeneration")
        if event.get("type") == "MODIFIED" and observed == meta.get("generation"):
            return
        await memo.clawagents.reconcile(key)

    @kopf.on.event("apps", "v1", "deployments", labels=CHILD_DEPLOYMENTS, registry=registry)
    async def deployment_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        meta = event["object"]["metadata"]
        owner = _owner(meta, "ClawAgent")
        if owner is not None:
            await memo.clawagents.reconcile((meta["namespace"], owner))

    # A changed (or new) source ConfigMap recompiles the ClawAgents that name it, and
    # launches the ForgeRuns and AgentDAGs waiting for it.
    @kopf.on.event("", "v1", "configmaps", registry=registry)
    async def configmap_event(event: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
        meta = event["object"]["metadata"]
        where = (meta["namespace"], meta["name"])
        for key in memo.clawagents.sources.referencing(*where):
            await memo.clawagents.reconcile(key)
        for key in memo.forgeruns.sources.referencing(*where):
            await memo.forgeruns.reconcile(key)
        for key in memo.agentdags.sources.referencing(*where):
            await memo.agentdags.reconcile(key)

    operator_settings = settings
    return registry
