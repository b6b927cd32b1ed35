"""AgentDAG reconciliation.

Level-triggered and resumable: every AgentDAG event, and every event of its node Jobs
or child ForgeRuns, re-reads the DAG and what the cluster shows of its nodes (the Jobs
and ForgeRuns it owns, found by label, and their result ConfigMaps), decides with
``dagstatus.plan`` what starts next, and writes the status. Children have deterministic
names (create-or-get), so a restarted operator never re-runs a succeeded node or
duplicates a Job.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

from neam.cli.dag_node import bounded
from neam.orchestration.dag import Node, node_task

from neam_operator import dagstatus as ds
from neam_operator import events, sources
from neam_operator import forgestatus as fs
from neam_operator.builders import agentdag as b
from neam_operator.builders.common import Owner
from neam_operator.conditions import TERMINAL, Cond, lifecycle, merge, now_rfc3339
from neam_operator.jobs import termination_message
from neam_operator.kube import ApiError, Kube, path, refusal
from neam_operator.metrics import ERROR, REJECTED, SUCCESS, OperatorMetrics
from neam_operator.models import API_VERSION, TASK_LIMIT, AgentDAGSpec, DagNode
from neam_operator.program import CompiledDag, Rejected, compile_dag
from neam_operator.scheduler import Key, Scheduler
from neam_operator.settings import Settings
from neam_operator.sources import SourceIndex
from neam_operator.stale import STALE_RETRY_SECONDS, stale_children
from neam_operator.ttl import expire, parse_time

log = logging.getLogger("neam_operator.agentdag")
KIND = "AgentDAG"


class AgentDAGs:
    """Reconciles AgentDAGs through the API server."""

    def __init__(self, kube: Kube, settings: Settings, metrics: OperatorMetrics) -> None:
        self.kube = kube
        self.settings = settings
        self.metrics = metrics
        self.scheduler = Scheduler(self.reconcile)
        self._locks: dict[Key, asyncio.Lock] = {}
        self.sources = SourceIndex()  # the ConfigMaps whose change moves a waiting DAG

    async def reconcile(self, key: Key) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        await self.metrics.serialised(KIND, lock, lambda: self._handle(key))

    async def _handle(self, key: Key) -> str:
        """One reconcile under the DAG's lock; returns its result for the metrics."""
        body = await self.kube.get(path(API_VERSION, KIND, *key))
        if body is None:
            self.forget(key)
            return SUCCESS
        if body["metadata"].get("deletionTimestamp"):
            return SUCCESS
        try:
            await self._reconcile(body)
        except ApiError as e:
            refused = refusal(e)
            if refused is not None:
                await self._fail(body, *refused)
                return REJECTED
            log.warning("reconciling %s/%s failed (%s); retrying", *key, e)
            self.scheduler.backoff(key)
            return ERROR
        return SUCCESS

    def forget(self, key: Key) -> None:
        self.scheduler.cancel(key)
        self._locks.pop(key, None)
        self.sources.track(key, None)
        self.metrics.gone(KIND, key)

    # ------------------------------------------------------------------ reconcile

    async def _reconcile(self, body: dict[str, Any]) -> None:
        spec = AgentDAGSpec.model_validate(body["spec"])
        owner = Owner.of(body)
        key = (owner.namespace, owner.name)
        status = body.get("status") or {}
        if status.get("phase") in TERMINAL:
            self.sources.track(key, None)
            # Only the TTL still matters (_expire follows it): a later edit is observed.
            generation = body["metadata"].get("generation")
            if status.get("observedGeneration") != generation:
                await self._patch_status(body, {"observedGeneration": generation})
            await self._expire(owner, spec, status)
            return
        # Only a DAG still waiting for its program needs to hear of its ConfigMap.
        self.sources.track(key, None if status.get("programHash") else spec.source)
        names = b.DagNames(owner.name)
        if not status.get("programHash"):
            compiled = await self._compile(owner, spec)
            if isinstance(compiled, str):
                self.scheduler.backoff(key)
                await self._waiting(body, status, compiled, "SourceNotFound")
                return
            if isinstance(compiled, Rejected):
                await self._fail(body, compiled.reason, compiled.message, compiled=False)
                return
            shared = b.shared_children(owner, names, spec, compiled.neamb, self.settings)
            urls = {
                f"{c['kind']} {c['metadata']['name']}": path(
                    c["apiVersion"], c["kind"], owner.namespace, c["metadata"]["name"]
                )
                for c in shared
            }
            stale = await stale_children(self.kube, owner, urls)
            if stale:  # left by an earlier DAG of this name, still being deleted
                self.scheduler.at(key, STALE_RETRY_SECONDS)
                message = f"waiting for {', '.join(stale)} of an earlier {KIND} to be deleted"
                await self._waiting(body, status, message, "Waiting")
                return
            for child in shared:
                await self.kube.create(child)
            status = {**status, "programHash": compiled.program_hash}
        self.scheduler.cancel(key)
        now = now_rfc3339()
        observed = await self._observe(owner, spec, names, status)
        halt = self._halt(spec, status, key)
        previous = {n["id"]: n for n in status.get("nodes") or []}
        plan = ds.plan(spec.nodes, observed, spec.parallelism, halt, previous, now)
        if plan.stop_running:
            await self._stop_running(owner, names, spec, observed)
        by_id = {n.id: n for n in spec.nodes}
        for node_id in plan.start:
            await self._start(owner, names, spec, by_id[node_id])
        await self._write(body, spec, status, plan, now)

    async def _compile(self, owner: Owner, spec: AgentDAGSpec) -> str | CompiledDag | Rejected:
        source = await sources.read(self.kube, owner.namespace, owner.name, spec.source)
        if isinstance(source, str):
            return source
        text, filename = source
        # Compiling is CPU work: keep it off the event loop.
        return await asyncio.to_thread(compile_dag, text, filename, spec.nodes)

    def _halt(self, spec: AgentDAGSpec, status: dict[str, Any], key: Key) -> str | None:
        """Why nothing may start any more, if so; arms the deadline timer otherwise."""
        if spec.stop:
            return "Stopped"
        start = status.get("startTime")
        if spec.active_deadline_seconds is None or not start:
            return None
        left = (
            parse_time(start).timestamp()
            + spec.active_deadline_seconds
            - datetime.now(UTC).timestamp()
        )
        if left <= 0:
            return "DeadlineExceeded"
        self.scheduler.soon(key, left)
        return None

    # ------------------------------------------------------------------ nodes

    async def _observe(
        self, owner: Owner, spec: AgentDAGSpec, names: b.DagNames, status: dict[str, Any]
    ) -> dict[str, ds.Observed]:
        """Every node's state from its Job or ForgeRun, found by label in one list each."""
        selector = f"{b.selector(owner)},app.kubernetes.io/component=dag-node"
        jobs, runs = await asyncio.gather(
            self.kube.select(path("batch/v1", "Job", owner.namespace), selector),
            self.kube.select(path(API_VERSION, "ForgeRun", owner.namespace), selector)
            if any(n.run for n in spec.nodes)
            else _no_items(),
        )
        # List items carry no kind: remember which list each came from.
        children: dict[str, dict[str, Any]] = {}
        for kind, found in (("Job", jobs), ("ForgeRun", runs)):
            for child in found:
                node = (child["metadata"].get("labels") or {}).get(b.NODE_LABEL)
                if node is not None:
                    children[node] = {**child, "kind": kind}
        previous = {n["id"]: n for n in status.get("nodes") or []}
        found = await asyncio.gather(
            *(
                self._observe_node(owner, names, n, children.get(n.id), previous.get(n.id))
                for n in spec.nodes
            )
        )
        return {n.id: o for n, o in zip(spec.nodes, found, strict=True)}

    async def _observe_node(
        self,
        owner: Owner,
        names: b.DagNames,
        node: DagNode,
        child: dict[str, Any] | None,
        before: dict[str, Any] | None,
    ) -> ds.Observed:
        if child is None:
            return ds.Observed()
        name = child["metadata"]["name"]
        if before and before.get("phase") in ("Succeeded", "Failed", "Stopped"):
            # Settled: what the status recorded stays (children are not read again).
            return ds.Observed(
                state=ds.STATES[before["phase"]],
                child=name,
                outcome=before.get("outcome"),
                message=before.get("message"),
                cost=before.get("cost"),
                result=before.get("result"),
                iteration=before.get("iteration"),
            )
        if child["kind"] == "ForgeRun":
            return await self._observe_forgerun(owner, names, node, child)
        if fs.job_condition(child, "Complete") is not None:
            url = path("v1", "ConfigMap", owner.namespace, names.result(node.id))
            data = ((await self.kube.get(url)) or {}).get("data") or {}
            if not data.get("outcome"):  # the Job ended, but no node program wrote a result
                return ds.Observed("failed", name, "error", "the node ended without its result")
            return ds.Observed(
                "succeeded", name, data["outcome"], None, data.get("cost"), data.get("result", "")
            )
        phase = fs.job_phase(child, None, {})[0]
        if phase in ("Failed", "Stopped"):
            text = await termination_message(self.kube, owner.namespace, name, b.CONTAINER)
            term = fs.parse_termination(text)
            reason = ((child.get("status") or {}).get("conditions") or [{}])[-1].get("message")
            state: ds.State = "failed" if phase == "Failed" else "stopped"
            message = (term.message if term else None) or reason or f"the Job {name} failed"
            default = "error" if state == "failed" else "aborted"
            return ds.Observed(state, name, (term.outcome if term else None) or default, message)
        return ds.Observed("running", name)

    async def _observe_forgerun(
        self, owner: Owner, names: b.DagNames, node: DagNode, run: dict[str, Any]
    ) -> ds.Observed:
        st = run.get("status") or {}
        phase = st.get("phase")
        name = run["metadata"]["name"]
        fields = {
            "child": name,
            "outcome": st.get("outcome"),
            "message": st.get("message"),
            "cost": st.get("totalCost"),
            "iteration": st.get("iteration"),
        }
        if phase == "Succeeded":
            # What ``spawn`` returns for a forge agent: the outcome map, as JSON text.
            result = json.dumps(
                {
                    "outcome": st.get("outcome"),
                    "iterations": st.get("iteration", 0),
                    "total_cost": st.get("totalCost", "0"),
                    "message": st.get("message"),
                }
            )
            # The dependents' pods read it from the node's result ConfigMap.
            await self.kube.ensure(
                b.result_configmap(
                    owner,
                    names,
                    node.id,
                    {"result": result, "outcome": "completed", "cost": st.get("totalCost", "0")},
                )
            )
            return ds.Observed("succeeded", result=result, **fields)
        if phase in ("Failed", "Stopped"):
            return ds.Observed("failed" if phase == "Failed" else "stopped", **fields)
        return ds.Observed("running", **fields)

    async def _start(
        self, owner: Owner, names: b.DagNames, spec: AgentDAGSpec, node: DagNode
    ) -> None:
        if node.run:
            task = await self._task(owner, names, node)
            await self.kube.create(b.node_forgerun(owner, names, spec, node, task))
            return
        await self.kube.ensure(b.result_configmap(owner, names, node.id))
        await self.kube.create(b.node_job(owner, names, spec, node, self.settings))

    async def _task(self, owner: Owner, names: b.DagNames, node: DagNode) -> str:
        """A run node's task: its task and its dependencies' results (as a spawn node's
        pod composes it), bounded to what a ForgeRun accepts."""
        deps = list(dict.fromkeys(node.depends_on or []))
        cms = await asyncio.gather(
            *(
                self.kube.get(path("v1", "ConfigMap", owner.namespace, names.result(d)))
                for d in deps
            )
        )
        results = {
            dep: ((cm or {}).get("data") or {}).get("result", "")
            for dep, cm in zip(deps, cms, strict=True)
        }
        task = node_task(Node(node.id, node.agent, node.task or "", tuple(deps)), results)
        return bounded(task, TASK_LIMIT - 100)

    async def _stop_running(
        self,
        owner: Owner,
        names: b.DagNames,
        spec: AgentDAGSpec,
        observed: dict[str, ds.Observed],
    ) -> None:
        """The SIGTERM path: suspend the running nodes' Jobs, stop their ForgeRuns."""
        for node in spec.nodes:
            o = observed.get(node.id)
            if o is None or o.state != "running" or o.child is None:
                continue
            if node.run:
                url = path(API_VERSION, "ForgeRun", owner.namespace, o.child)
                await self.kube.merge_patch(url, {"spec": {"stop": True}})
            else:
                url = path("batch/v1", "Job", owner.namespace, o.child)
                await self.kube.merge_patch(url, {"spec": {"suspend": True}})

    # ------------------------------------------------------------------ status

    async def _write(
        self,
        body: dict[str, Any],
        spec: AgentDAGSpec,
        status: dict[str, Any],
        plan: ds.Plan,
        now: str,
    ) -> None:
        generation = body["metadata"].get("generation")
        conds = [
            Cond("Compiled", "True", "Compiled", f"{len(plan.nodes)} nodes"),
            *lifecycle(plan.phase, plan.reason, plan.message),
        ]
        patch: dict[str, Any] = {
            "observedGeneration": generation,
            "phase": plan.phase,
            "progress": plan.progress,
            "totalCost": plan.total_cost,
            "nodes": plan.nodes,
            "programHash": status.get("programHash"),
            "message": plan.message[:4096],
            "conditions": merge(status.get("conditions"), conds, now, generation),
        }
        if plan.phase != "Pending" or plan.start:
            patch["startTime"] = status.get("startTime") or now
        if plan.phase in TERMINAL:
            patch["completionTime"] = status.get("completionTime") or now
        old = {n["id"]: n for n in status.get("nodes") or []}
        if any(status.get(k) != v for k, v in patch.items()):
            await self._patch_status(body, patch)
            # A node run as a ForgeRun is counted by its ForgeRun (kind ForgeRun).
            pods = {n.id for n in spec.nodes if not n.run}
            for entry in ds.ended(old, plan.nodes):
                if entry["id"] in pods:
                    self.metrics.spent(KIND, body["metadata"]["namespace"], entry.get("cost"))
        for type_, reason, message in ds.transitions(old, plan.nodes):
            await events.record(self.kube, body, type_, reason, message)
        if plan.phase != status.get("phase") and plan.phase in TERMINAL:
            kind = "Normal" if plan.phase in ("Succeeded", "Stopped") else "Warning"
            await events.record(self.kube, body, kind, plan.phase, plan.message)
            await self._expire(Owner.of(body), spec, {**status, **patch})

    async def _waiting(
        self, body: dict[str, Any], status: dict[str, Any], message: str, reason: str
    ) -> None:
        generation = body["metadata"].get("generation")
        now = now_rfc3339()
        conds = [
            Cond("Compiled", "Unknown", reason, message),
            *lifecycle("Pending", reason, message),
        ]
        if status.get("message") != message:
            await events.record(self.kube, body, "Warning", reason, message)
        await self._patch_status(
            body,
            {
                "observedGeneration": generation,
                "phase": "Pending",
                "message": message,
                "conditions": merge(status.get("conditions"), conds, now, generation),
            },
        )

    async def _fail(
        self, body: dict[str, Any], reason: str, message: str, compiled: bool = True
    ) -> None:
        """Fail the DAG before (or instead of) running it."""
        status = body.get("status") or {}
        generation = body["metadata"].get("generation")
        now = now_rfc3339()
        conds = lifecycle("Failed", reason, message)
        if not compiled:
            conds = [Cond("Compiled", "False", reason, message), *conds]
        await events.record(self.kube, body, "Warning", reason, message)
        await self._patch_status(
            body,
            {
                "observedGeneration": generation,
                "phase": "Failed",
                "message": message[:4096],
                "completionTime": status.get("completionTime") or now,
                "conditions": merge(status.get("conditions"), conds, now, generation),
            },
        )

    async def _patch_status(self, body: dict[str, Any], patch: dict[str, Any]) -> None:
        meta = body["metadata"]
        url = path(API_VERSION, KIND, meta["namespace"], meta["name"]) + "/status"
        await self.kube.merge_patch(url, {"status": patch})
        before = (body.get("status") or {}).get("phase")
        if patch.get("phase") in TERMINAL and before not in TERMINAL:  # this write ends it
            self.metrics.finished(KIND, meta["namespace"], patch["phase"])

    async def _expire(self, owner: Owner, spec: AgentDAGSpec, status: dict[str, Any]) -> None:
        key = (owner.namespace, owner.name)
        url = path(API_VERSION, KIND, *key)
        ttl = spec.ttl_seconds_after_finished
        await expire(self.kube, self.scheduler, key, url, ttl, status.get("completionTime"))


async def _no_items() -> list[dict[str, Any]]:
    return []
