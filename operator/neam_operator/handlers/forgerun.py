"""ForgeRun reconciliation.

Level-triggered and idempotent: every ForgeRun or owned-Job event re-reads the run and
converges it. Children have deterministic names and are created with create-or-get,
so re-delivered events, a restarted operator or a deleted child never duplicate a Job.
No kopf handler state is stored on the resources (event handlers only: no finalizers,
no annotations); delayed work (source retries, TTL, the periodic check of an unfinished
run's children) lives in ``Scheduler``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from neam_operator import events
from neam_operator import forgestatus as fs
from neam_operator.builders import forgerun as b
from neam_operator.builders.common import Owner
from neam_operator.conditions import TERMINAL, UNOBSERVED, now_rfc3339
from neam_operator.jobs import termination_message
from neam_operator.kube import ApiError, Kube, path
from neam_operator.models import API_VERSION, ForgeRunSpec
from neam_operator.program import Compiled, Rejected, compile_forge
from neam_operator.scheduler import Key, Scheduler
from neam_operator.settings import Settings
from neam_operator.ttl import expire

log = logging.getLogger("neam_operator.forgerun")
KIND = "ForgeRun"
DELAYED_CONCURRENCY = 8


class ForgeRuns:
    """Reconciles ForgeRuns through the API server."""

    def __init__(self, kube: Kube, settings: Settings) -> None:
        self.kube = kube
        self.settings = settings
        self.scheduler = Scheduler(self.resync)
        self._locks: dict[Key, asyncio.Lock] = {}
        self._started: set[Key] = set()  # runs this process has launched or failed
        # Delayed reconciles of many runs come due together (periodic checks, a restart):
        # bound how many are in flight, so only that many run bodies are held at once.
        self._delayed = asyncio.Semaphore(DELAYED_CONCURRENCY)

    # ------------------------------------------------------------------ entry points

    async def resync(self, key: Key) -> None:
        """A delayed reconcile (retry, TTL, periodic check): also checks every child."""
        async with self._delayed:
            await self.reconcile(key, audit=True)

    async def reconcile(
        self, key: Key, seen: dict[str, Any] | None = None, audit: bool = False
    ) -> None:
        """Converge one run, serialised per run. ``seen`` (the watched object) is used
        as is only for a run without status, i.e. not yet handled; otherwise the run
        is read afresh, so a queued stale event never undoes newer status. ``audit``
        checks that every child of a launched run still exists (it always does on the
        first reconcile of a run in this process, e.g. after a restart)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            # Not handled yet: no status but the CRD's default.
            unreported = seen is not None and seen.get("status") in (None, {}, UNOBSERVED)
            fresh = unreported and key not in self._started
            body = seen if fresh else await self.kube.get(path(API_VERSION, KIND, *key))
            if body is None:
                self.forget(key)
                return
            try:
                await self._reconcile(body, audit or key not in self._started)
            except ApiError as e:
                if e.status not in (400, 422):
                    log.warning("reconciling %s/%s failed (%s); retrying", *key, e)
                    self.scheduler.backoff(key)
                    return
                # The API server rejected a child built from this spec: retrying cannot help.
                message = f"a child resource was rejected: {e}"
                status = body.get("status") or {}
                patch = fs.failed(
                    status,
                    body["metadata"].get("generation"),
                    "InvalidSpec",
                    message,
                    now_rfc3339(),
                )
                await self.event(body, "Warning", "InvalidSpec", message)
                await self._write(body, status, patch)

    def forget(self, key: Key) -> None:
        self.scheduler.cancel(key)
        self._locks.pop(key, None)
        self._started.discard(key)

    # ------------------------------------------------------------------ reconcile

    async def _reconcile(self, body: dict[str, Any], audit: bool) -> None:
        meta = body["metadata"]
        if meta.get("deletionTimestamp"):
            return
        status = body.get("status") or {}
        spec = ForgeRunSpec.model_validate(body["spec"])
        owner = Owner.of(body)
        key = (owner.namespace, owner.name)
        generation = meta.get("generation")
        now = now_rfc3339()
        if status.get("phase") in TERMINAL:
            self.scheduler.cancel(key)
            await self._expire(owner, spec, status)
            return
        if not status.get("children"):
            patch = await self._launch(body, owner, spec, status, generation, now)
        else:
            patch = await self._observe(body, owner, spec, status, generation, now, audit)
        await self._write(body, status, patch)
        self._started.add(key)
        if patch.get("phase") in TERMINAL:
            self.scheduler.cancel(key)
            await self._expire(owner, spec, {**status, **patch})
        elif patch.get("children") or status.get("children"):
            # Unfinished and launched: check its children again later. Only deleted Jobs
            # are seen as events; the other children are not watched (see docs/operator.md).
            interval = self.settings.resync_seconds
            self.scheduler.soon(key, interval * random.uniform(0.8, 1.2))

    async def _source(self, owner: Owner, spec: ForgeRunSpec) -> tuple[str, str] | str:
        """``(text, filename)``, or the reason it is not available yet."""
        if spec.source.inline is not None:
            return spec.source.inline, f"{owner.name}.neam"
        ref = spec.source.config_map_ref
        assert ref is not None  # guaranteed by the CRD's CEL rule
        cm = await self.kube.get(path("v1", "ConfigMap", owner.namespace, ref.name))
        if cm is None:
            return f"ConfigMap {ref.name} not found"
        text = (cm.get("data") or {}).get(ref.key)
        if text is None:
            return f"ConfigMap {ref.name} has no key {ref.key}"
        return text, ref.key

    async def _compile(self, owner: Owner, spec: ForgeRunSpec) -> str | Compiled | Rejected:
        source = await self._source(owner, spec)
        if isinstance(source, str):
            return source
        text, filename = source
        # Compiling is CPU work: keep it off the event loop.
        return await asyncio.to_thread(compile_forge, text, filename, spec.agent)

    async def _launch(
        self,
        body: dict[str, Any],
        owner: Owner,
        spec: ForgeRunSpec,
        status: dict[str, Any],
        generation: int | None,
        now: str,
    ) -> dict[str, Any]:
        key = (owner.namespace, owner.name)
        if spec.stop:
            return fs.stopped_before_start(status, generation, now)
        result = await self._compile(owner, spec)
        if isinstance(result, str):
            self.scheduler.backoff(key)
            return fs.waiting(status, generation, "SourceNotFound", result, now)
        if not isinstance(result, Compiled):
            await self.event(body, "Warning", result.reason, result.message)
            return fs.compile_failed(status, generation, result.reason, result.message, now)
        names = b.ForgeRunNames.of(owner.name, spec)
        await self._create_children(owner, spec, result.agent, result.neamb, result.program_hash)
        max_iter = spec.max_iterations or result.max_iterations
        patch = fs.launched(
            status, generation, result.agent, max_iter, result.program_hash, names.status(), now
        )
        await self.event(body, "Normal", "Created", f"created Job {names.job}")
        self.scheduler.cancel(key)
        return patch

    async def _create_children(
        self,
        owner: Owner,
        spec: ForgeRunSpec,
        agent: str,
        neamb: str,
        program_hash: str,
        kinds: frozenset[str] | None = None,
    ) -> None:
        """Create-or-get every child (or only those of ``kinds``; ``neamb`` is only used
        for the ConfigMap). Two orders matter: a Job's pods are rejected until their
        service account exists, and binding a Role that does not exist yet fails the API
        server's escalation check for an operator without the ``bind`` verb."""
        objs = {
            o["kind"]: o
            for o in b.children(owner, spec, agent, neamb, program_hash, self.settings)
            if kinds is None or o["kind"] in kinds
        }

        async def chain(*kinds: str) -> None:
            for kind in kinds:
                if kind in objs:
                    await self.kube.create(objs[kind])

        await asyncio.gather(
            chain("ServiceAccount", "Job"),
            chain("Role", "RoleBinding"),
            chain("ConfigMap"),
            chain("PersistentVolumeClaim"),
        )

    async def _observe(
        self,
        body: dict[str, Any],
        owner: Owner,
        spec: ForgeRunSpec,
        status: dict[str, Any],
        generation: int | None,
        now: str,
        audit: bool,
    ) -> dict[str, Any]:
        names = b.ForgeRunNames.of(owner.name, spec)
        job = await self.kube.get(path("batch/v1", "Job", owner.namespace, names.job))
        # A finished (or stopped) Job needs none of its children any more.
        settled = job is not None and fs.job_phase(job, None, {})[0] in TERMINAL
        if job is None or (audit and not settled):
            lost = await self._repair(body, owner, spec, status, names, job, generation, now)
            if lost is not None:
                return lost
            if job is None:
                job = await self.kube.get(path("batch/v1", "Job", owner.namespace, names.job))
                job = job or {}
        if spec.stop and not (job.get("spec") or {}).get("suspend"):
            url = path("batch/v1", "Job", owner.namespace, names.job)
            job = await self.kube.merge_patch(url, {"spec": {"suspend": True}})
            await self.event(body, "Normal", "Stopping", "suspended the Job (spec.stop)")
        term = None
        phase, *_ = fs.job_phase(job, None, status.get("progress") or {})
        if phase in TERMINAL:
            text = await termination_message(self.kube, owner.namespace, names.job, b.CONTAINER)
            term = fs.parse_termination(text)
        return fs.observe(status, generation, job, term, now)

    async def _missing(
        self, owner: Owner, spec: ForgeRunSpec, names: b.ForgeRunNames, job: dict[str, Any] | None
    ) -> tuple[list[str], list[str]]:
        """``(missing, terminating)``: kinds of the run's children that are gone, and of
        those being deleted (they cannot be recreated under the same name yet). Reads
        metadata only, in parallel."""
        ns = owner.namespace
        urls = {
            "ConfigMap": path("v1", "ConfigMap", ns, names.program),
            "ServiceAccount": path("v1", "ServiceAccount", ns, names.service_account),
            "Role": path(b.RBAC, "Role", ns, names.service_account),
            "RoleBinding": path(b.RBAC, "RoleBinding", ns, names.service_account),
        }
        if b.workspace_pvc(owner, names, spec, self.settings) is not None:
            urls["PersistentVolumeClaim"] = path("v1", "PersistentVolumeClaim", ns, names.workspace)
        metas = await asyncio.gather(*(self.kube.metadata(u) for u in urls.values()))
        found = dict(zip(urls, metas, strict=True))
        if job is None:
            found["Job"] = None
        missing = [k for k in b.CHILD_KINDS if k in found and found[k] is None]
        terminating = [k for k in b.CHILD_KINDS if (found.get(k) or {}).get("deletionTimestamp")]
        return missing, terminating

    async def _repair(
        self,
        body: dict[str, Any],
        owner: Owner,
        spec: ForgeRunSpec,
        status: dict[str, Any],
        names: b.ForgeRunNames,
        job: dict[str, Any] | None,
        generation: int | None,
        now: str,
    ) -> dict[str, Any] | None:
        """Recreate deleted children of an unfinished run, or return the status patch
        that fails it when recreating cannot restore it:

        - the workspace PVC is gone or being deleted after the run used it (its data,
          and with it the runtime's iteration count and cost, are lost): ``ChildLost``;
        - the program snapshot is gone and the source no longer compiles to the same
          program: ``ProgramLost``.

        Everything else (an unused workspace, the snapshot, the reporter account, Role
        and RoleBinding, the Job) is recreated from the spec, in the creation order."""
        key = (owner.namespace, owner.name)
        missing, terminating = await self._missing(owner, spec, names, job)
        workspace = "PersistentVolumeClaim"
        gone = workspace in missing or workspace in terminating
        if gone and await self._workspace_used(owner, names, status, job):
            message = (
                f"the workspace PersistentVolumeClaim {names.workspace} was deleted after "
                "the run had used it; its data is lost"
            )
            return await self._lose(body, status, names, job, generation, now, "ChildLost", message)
        if terminating:
            # Not recreatable under the same name until the deletion completes.
            self.scheduler.backoff(key)
            missing = [k for k in missing if k not in terminating]
        if not missing:
            return None
        neamb = ""
        if "ConfigMap" in missing:
            result = await self._compile(owner, spec)
            if not isinstance(result, Compiled) or result.program_hash != status.get("programHash"):
                if isinstance(result, str):
                    why = f"the source is not available ({result})"
                elif not isinstance(result, Compiled):
                    why = f"the source no longer compiles ({result.message})"
                else:
                    why = "the source now compiles to a different program"
                message = f"the program snapshot ConfigMap {names.program} was deleted, and {why}"
                return await self._lose(
                    body, status, names, job, generation, now, "ProgramLost", message
                )
            neamb = result.neamb
        agent = status.get("agent") or spec.agent or ""
        await self._create_children(
            owner, spec, agent, neamb, status.get("programHash", ""), frozenset(missing)
        )
        what = ", ".join(f"{kind} {_child(names, kind)}" for kind in missing)
        message = f"recreated the deleted {what}"
        if "Job" in missing:
            message += "; the runtime resumes from the workspace"
        log.info("%s/%s: %s", *key, message)
        await self.event(body, "Warning", "ChildRecreated", message)
        return None

    async def _workspace_used(
        self,
        owner: Owner,
        names: b.ForgeRunNames,
        status: dict[str, Any],
        job: dict[str, Any] | None,
    ) -> bool:
        """Whether the workspace may hold the run's state: it reported progress, or a
        pod of its Job finished or was scheduled to a node (and so mounted the claim)."""
        if status.get("progress") or status.get("iteration"):
            return True
        counts = (job or {}).get("status") or {}
        if counts.get("succeeded") or counts.get("failed"):
            return True
        pods = await self.kube.request(
            "GET",
            path("v1", "Pod", owner.namespace),
            params={"labelSelector": f"job-name={names.job}"},
        )
        return any((p.get("spec") or {}).get("nodeName") for p in pods.get("items") or [])

    async def _lose(
        self,
        body: dict[str, Any],
        status: dict[str, Any],
        names: b.ForgeRunNames,
        job: dict[str, Any] | None,
        generation: int | None,
        now: str,
        reason: str,
        message: str,
    ) -> dict[str, Any]:
        """Fail the run because a child cannot be restored, and suspend its Job so a
        pod of a failed run does not go on spending."""
        if job is not None and not (job.get("spec") or {}).get("suspend"):
            ns = body["metadata"]["namespace"]
            url = path("batch/v1", "Job", ns, names.job)
            await self.kube.merge_patch(url, {"spec": {"suspend": True}})
            message += f"; suspended the Job {names.job}"
        await self.event(body, "Warning", reason, message)
        if reason == "ProgramLost":
            return fs.compile_failed(status, generation, reason, message, now)
        return fs.failed(status, generation, reason, message, now)

    async def _expire(self, owner: Owner, spec: ForgeRunSpec, status: dict[str, Any]) -> None:
        """Delete a finished run ``ttlSecondsAfterFinished`` after its completion."""
        key = (owner.namespace, owner.name)
        url = path(API_VERSION, KIND, *key)
        ttl = spec.ttl_seconds_after_finished
        await expire(self.kube, self.scheduler, key, url, ttl, status.get("completionTime"))

    # ------------------------------------------------------------------ status + events

    async def _write(
        self, body: dict[str, Any], status: dict[str, Any], patch: dict[str, Any]
    ) -> None:
        if all(status.get(k) == v for k, v in patch.items()):
            return
        meta = body["metadata"]
        url = path(API_VERSION, KIND, meta["namespace"], meta["name"]) + "/status"
        await self.kube.merge_patch(url, {"status": patch})
        pushed = (patch.get("git") or {}).get("headCommit")
        if pushed and pushed != (status.get("git") or {}).get("headCommit"):
            branch = patch["git"].get("branch")
            await self.event(body, "Normal", "Pushed", f"pushed branch {branch} at {pushed[:12]}")
        old, new = status.get("phase"), patch.get("phase")
        if new and new != old and new != "Pending":
            await self.event(body, *_transition_event(patch))

    async def event(self, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
        await events.record(self.kube, body, type_, reason, message)


def _child(names: b.ForgeRunNames, kind: str) -> str:
    return {
        "ConfigMap": names.program,
        "PersistentVolumeClaim": names.workspace,
        "Job": names.job,
    }.get(kind, names.service_account)


def _transition_event(patch: dict[str, Any]) -> tuple[str, str, str]:
    phase = patch["phase"]
    detail = patch.get("message") or ""
    if phase == "Running":
        return "Normal", "Running", "the forge pod is running"
    summary = (
        f"outcome {patch.get('outcome')}, {patch.get('iteration', 0)} iterations, "
        f"cost {patch.get('totalCost', '0')}"
    )
    kind = "Normal" if phase in ("Succeeded", "Stopped") else "Warning"
    return kind, phase, f"{summary}: {detail}" if detail else summary
