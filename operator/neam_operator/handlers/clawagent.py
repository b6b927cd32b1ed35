"""ClawAgent reconciliation.

Level-triggered and idempotent: a ClawAgent event, an event of its Deployment, or an
event of a ConfigMap it names as its source re-reads the ClawAgent and converges its
children. The program ConfigMap is named by the program's hash (create-or-get); the
Service and the Deployment are server-side applied, so an unchanged spec changes
nothing and a new program is a rolling update. A program that does not compile
changes nothing in the cluster: the running version keeps serving. Program
ConfigMaps no ReplicaSet of the Deployment refers to any more are deleted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from neam_operator import clawstatus as cs
from neam_operator import events, sources
from neam_operator.builders import clawagent as b
from neam_operator.builders.common import Owner, label_value
from neam_operator.conditions import now_rfc3339
from neam_operator.kube import ApiError, Kube, path, refusal
from neam_operator.metrics import ERROR, REJECTED, SUCCESS, OperatorMetrics
from neam_operator.models import API_VERSION, ClawAgentSpec
from neam_operator.program import CompiledClaw, Rejected, compile_claw
from neam_operator.scheduler import Key, Scheduler
from neam_operator.settings import Settings
from neam_operator.sources import SourceIndex
from neam_operator.stale import STALE_RETRY_SECONDS, stale_children

log = logging.getLogger("neam_operator.clawagent")
KIND = "ClawAgent"
COMPILE_CACHE = 64


class ClawAgents:
    """Reconciles ClawAgents through the API server."""

    def __init__(self, kube: Kube, settings: Settings, metrics: OperatorMetrics) -> None:
        self.kube = kube
        self.settings = settings
        self.metrics = metrics
        self.scheduler = Scheduler(self.reconcile)
        self._locks: dict[Key, asyncio.Lock] = {}
        self.sources = SourceIndex()  # the ConfigMaps whose change recompiles a ClawAgent
        # Reconciles of one ClawAgent recompile the same source: remember recent results.
        self._compiled: OrderedDict[tuple[str, str, tuple[str, ...]], CompiledClaw | Rejected] = (
            OrderedDict()
        )

    # ------------------------------------------------------------------ entry points

    async def reconcile(self, key: Key) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        await self.metrics.serialised(KIND, lock, lambda: self._handle(key))

    async def _handle(self, key: Key) -> str:
        """One reconcile under the ClawAgent's lock; returns its result for the metrics."""
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
                await self._invalid(body, *refused)
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
        spec = ClawAgentSpec.model_validate(body["spec"])
        owner = Owner.of(body)
        key = (owner.namespace, owner.name)
        self.sources.track(key, spec.source)
        status = body.get("status") or {}
        generation = body["metadata"].get("generation")
        now = now_rfc3339()
        names = b.ClawNames.of(owner.name, spec)
        deployment_url = path("apps/v1", "Deployment", owner.namespace, names.deployment)
        result = await self._compile(owner, spec)
        if isinstance(result, str):
            # Retried with backoff, and at once when the ConfigMap appears (watched).
            self.scheduler.backoff(key)
            if status.get("message") != result:
                await events.record(self.kube, body, "Warning", "SourceNotFound", result)
            patch = cs.waiting(status, generation, "SourceNotFound", result, now)
            await self._write(body, status, patch)
            return
        self.scheduler.cancel(key)
        if isinstance(result, Rejected):
            deployment = await self.kube.get(deployment_url)
            served = cs.served_hash(deployment, b.PROGRAM_HASH)
            patch = cs.compile_failed(
                status, generation, result.reason, result.message, deployment, served, now
            )
            if patch["message"] != status.get("message"):
                await events.record(self.kube, body, "Warning", result.reason, patch["message"])
            await self._write(body, status, patch)
            return
        if not status.get("programHash"):  # first launch: nothing left over from a namesake
            stale = await stale_children(
                self.kube, owner, self._child_urls(owner, spec, names, result)
            )
            if stale:
                self.scheduler.at(key, STALE_RETRY_SECONDS)
                left = ", ".join(stale)
                message = f"waiting for {left} of an earlier {KIND} {owner.name} to be deleted"
                await self._write(
                    body, status, cs.waiting(status, generation, "Waiting", message, now)
                )
                return
        deployment = await self._apply_children(owner, spec, names, result)
        if status.get("programHash") != result.program_hash:
            verb = "serving" if status.get("programHash") is None else "rolling out"
            await events.record(
                self.kube, body, "Normal", "Program", f"{verb} program {result.program_hash}"
            )
        extra = [
            cs.auth_condition(bool(spec.auth and spec.auth.api_key_secret_ref)),
            cs.sessions_condition(spec.replicas, await self._access_modes(owner, spec, names)),
        ]
        identity = {
            "selector": b.selector_string(owner),
            "endpoint": b.endpoint(owner, names, spec),
        }
        patch = cs.observe(
            status,
            generation,
            deployment,
            result.program_hash,
            list(result.agents),
            identity,
            extra,
            now,
        )
        await self._write(body, status, patch, announce=True)
        if cs.Rollout.of(deployment).complete:  # old programs are only unused after it
            await self._collect_programs(owner, deployment, result.program_hash)

    async def _compile(self, owner: Owner, spec: ClawAgentSpec) -> str | CompiledClaw | Rejected:
        source = await sources.read(self.kube, owner.namespace, owner.name, spec.source)
        if isinstance(source, str):
            return source
        text, filename = source
        ident = (text, filename, tuple(spec.agents or ()))
        cached = self._compiled.get(ident)
        if cached is None:
            # Compiling is CPU work: keep it off the event loop.
            cached = await asyncio.to_thread(compile_claw, text, filename, spec.agents)
            self._compiled[ident] = cached
            while len(self._compiled) > COMPILE_CACHE:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(ident)
        return cached

    async def _apply_children(
        self, owner: Owner, spec: ClawAgentSpec, names: b.ClawNames, program: CompiledClaw
    ) -> dict[str, Any]:
        """The program snapshot and the sessions claim first (the pods mount both), then
        the Service and the Deployment; returns the applied Deployment."""
        claim = b.sessions_pvc(owner, names, spec, self.settings)
        await asyncio.gather(
            self.kube.ensure(b.program_configmap(owner, program.neamb, program.program_hash)),
            *([self.kube.ensure(claim)] if claim is not None else []),
            self.kube.apply(b.service(owner, names, spec)),
        )
        return await self.kube.apply(
            b.deployment(owner, names, spec, program.program_hash, self.settings)
        )

    @staticmethod
    def _child_urls(
        owner: Owner, spec: ClawAgentSpec, names: b.ClawNames, program: CompiledClaw
    ) -> dict[str, str]:
        ns = owner.namespace
        urls = {
            f"Deployment {names.deployment}": path("apps/v1", "Deployment", ns, names.deployment),
            f"Service {names.service}": path("v1", "Service", ns, names.service),
        }
        cm = b.ClawNames.program(owner.name, program.program_hash)
        urls[f"ConfigMap {cm}"] = path("v1", "ConfigMap", ns, cm)
        if not (spec.sessions and spec.sessions.existing_claim):
            claim = path("v1", "PersistentVolumeClaim", ns, names.sessions)
            urls[f"PersistentVolumeClaim {names.sessions}"] = claim
        return urls

    async def _collect_programs(
        self, owner: Owner, deployment: dict[str, Any], current: str
    ) -> None:
        """Delete this ClawAgent's program ConfigMaps that neither the Deployment nor any
        of its ReplicaSets (kept for rollbacks) refers to."""
        selector = ",".join(f"{k}={v}" for k, v in b.selector(owner).items())
        programs, replica_sets = await asyncio.gather(
            self.kube.select(
                path("v1", "ConfigMap", owner.namespace),
                f"neam.dev/clawagent={label_value(owner.name)},app.kubernetes.io/component=program",
            ),
            self.kube.select(path("apps/v1", "ReplicaSet", owner.namespace), selector),
        )
        used = {b.ClawNames.program(owner.name, current)}
        for rs in [deployment, *replica_sets]:
            template = (rs.get("spec") or {}).get("template") or {}
            for volume in (template.get("spec") or {}).get("volumes") or []:
                if "configMap" in volume:
                    used.add(volume["configMap"]["name"])
        for cm in programs:
            name = cm["metadata"]["name"]
            if name not in used:
                await self.kube.delete(path("v1", "ConfigMap", owner.namespace, name))
                log.info("%s/%s: deleted unused program %s", owner.namespace, owner.name, name)

    async def _access_modes(
        self, owner: Owner, spec: ClawAgentSpec, names: b.ClawNames
    ) -> list[str] | None:
        if spec.sessions is None or not spec.sessions.existing_claim:
            return [(spec.sessions.access_mode if spec.sessions else None) or "ReadWriteOnce"]
        claim = await self.kube.get(
            path("v1", "PersistentVolumeClaim", owner.namespace, names.sessions)
        )
        return ((claim or {}).get("spec") or {}).get("accessModes")

    async def _invalid(self, body: dict[str, Any], reason: str, message: str) -> None:
        """The API server rejected a child built from this spec: retrying cannot help."""
        status = body.get("status") or {}
        generation = body["metadata"].get("generation")
        patch = cs.rejected(status, generation, reason, message, now_rfc3339())
        if patch["message"] != status.get("message"):
            await events.record(self.kube, body, "Warning", reason, message)
        await self._write(body, status, patch)

    async def _write(
        self,
        body: dict[str, Any],
        status: dict[str, Any],
        patch: dict[str, Any],
        announce: bool = False,
    ) -> None:
        """Patch the status if it changed; ``announce`` records a phase change as an
        event (the callers that already recorded why the phase changed do not)."""
        if all(status.get(k) == v for k, v in patch.items()):
            return
        meta = body["metadata"]
        url = path(API_VERSION, KIND, meta["namespace"], meta["name"]) + "/status"
        await self.kube.merge_patch(url, {"status": patch})
        old, new = status.get("phase"), patch.get("phase")
        if announce and new != old and new in ("Ready", "Degraded", "Failed"):
            type_ = "Normal" if new == "Ready" else "Warning"
            await events.record(self.kube, body, type_, new, patch.get("message") or new)
