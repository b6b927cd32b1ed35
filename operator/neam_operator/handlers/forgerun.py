"""ForgeRun reconciliation.

Level-triggered and idempotent: every ForgeRun or owned-Job event re-reads the run and
converges it. Children have deterministic names and are created with create-or-get,
so re-delivered events, a restarted operator or a deleted child never duplicate a Job.
No kopf handler state is stored on the resources (event handlers only: no finalizers,
no annotations); delayed work (source retries, TTL) lives in ``Scheduler``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from neam_operator import forgestatus as fs
from neam_operator.builders import forgerun as b
from neam_operator.builders.common import Owner
from neam_operator.conditions import TERMINAL, now_rfc3339
from neam_operator.kube import ApiError, Kube, path
from neam_operator.models import API_VERSION, ForgeRunSpec
from neam_operator.program import Compiled, Rejected, compile_forge
from neam_operator.settings import Settings

log = logging.getLogger("neam_operator.forgerun")
KIND = "ForgeRun"
Key = tuple[str, str]


class Scheduler:
    """At most one pending delayed reconcile per run (retries and TTL expiry)."""

    def __init__(self, action: Callable[[Key], Awaitable[None]]) -> None:
        self._action = action
        self._handles: dict[Key, asyncio.TimerHandle] = {}
        self.attempts: dict[Key, int] = {}

    def at(self, key: Key, delay: float) -> None:
        self.cancel(key, keep_attempts=True)
        loop = asyncio.get_running_loop()
        self._handles[key] = loop.call_later(max(delay, 0.0), self._fire, key)

    def backoff(self, key: Key) -> None:
        n = self.attempts.get(key, 0)
        self.attempts[key] = n + 1
        self.at(key, min(60.0, 2.0**n))

    def cancel(self, key: Key, keep_attempts: bool = False) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()
        if not keep_attempts:
            self.attempts.pop(key, None)

    def _fire(self, key: Key) -> None:
        self._handles.pop(key, None)
        asyncio.get_running_loop().create_task(self._action(key))


class ForgeRuns:
    """Reconciles ForgeRuns through the API server."""

    def __init__(self, kube: Kube, settings: Settings) -> None:
        self.kube = kube
        self.settings = settings
        self.scheduler = Scheduler(self.reconcile)
        self._locks: dict[Key, asyncio.Lock] = {}
        self._started: set[Key] = set()  # runs this process has launched or failed

    # ------------------------------------------------------------------ entry points

    async def reconcile(self, key: Key, seen: dict[str, Any] | None = None) -> None:
        """Converge one run, serialised per run. ``seen`` (the watched object) is used
        as is only for a run without status, i.e. not yet handled; otherwise the run
        is read afresh, so a queued stale event never undoes newer status."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            fresh = seen is not None and not seen.get("status") and key not in self._started
            body = seen if fresh else await self.kube.get(path(API_VERSION, KIND, *key))
            if body is None:
                self.forget(key)
                return
            try:
                await self._reconcile(body)
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

    async def _reconcile(self, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        if meta.get("deletionTimestamp"):
            return
        status = body.get("status") or {}
        spec = ForgeRunSpec.model_validate(body["spec"])
        owner = Owner.of(body)
        generation = meta.get("generation")
        now = now_rfc3339()
        if status.get("phase") in TERMINAL:
            await self._expire(owner, spec, status)
            return
        if not status.get("children"):
            patch = await self._launch(body, owner, spec, status, generation, now)
        else:
            patch = await self._observe(body, owner, spec, status, generation, now)
        await self._write(body, status, patch)
        self._started.add((owner.namespace, owner.name))
        if patch.get("phase") in TERMINAL:
            await self._expire(owner, spec, {**status, **patch})

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
        self, owner: Owner, spec: ForgeRunSpec, agent: str, neamb: str, program_hash: str
    ) -> None:
        """Create-or-get every child. Two orders matter: a Job's pods are rejected until
        their service account exists, and binding a Role that does not exist yet fails
        the API server's escalation check for an operator without the ``bind`` verb."""
        objs = {
            o["kind"]: o for o in b.children(owner, spec, agent, neamb, program_hash, self.settings)
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
    ) -> dict[str, Any]:
        names = b.ForgeRunNames.of(owner.name, spec)
        job = await self.kube.get(path("batch/v1", "Job", owner.namespace, names.job))
        if job is None:
            recovered = await self._recreate(body, owner, spec, status, names, generation, now)
            if recovered is not None:
                return recovered
            job = await self.kube.get(path("batch/v1", "Job", owner.namespace, names.job)) or {}
        if spec.stop and not (job.get("spec") or {}).get("suspend"):
            url = path("batch/v1", "Job", owner.namespace, names.job)
            job = await self.kube.merge_patch(url, {"spec": {"suspend": True}})
            await self.event(body, "Normal", "Stopping", "suspended the Job (spec.stop)")
        term = None
        phase, *_ = fs.job_phase(job, None, status.get("progress") or {})
        if phase in TERMINAL:
            term = fs.parse_termination(await self._termination_message(owner, names.job))
        return fs.observe(status, generation, job, term, now)

    async def _recreate(
        self,
        body: dict[str, Any],
        owner: Owner,
        spec: ForgeRunSpec,
        status: dict[str, Any],
        names: b.ForgeRunNames,
        generation: int | None,
        now: str,
    ) -> dict[str, Any] | None:
        """The Job of an unfinished run is gone: recreate the children from the program
        snapshot (the runtime resumes from the workspace), or fail with the reason."""
        program = await self.kube.get(path("v1", "ConfigMap", owner.namespace, names.program))
        neamb = ((program or {}).get("data") or {}).get(b.PROGRAM_KEY)
        if neamb is None:
            result = await self._compile(owner, spec)
            if not isinstance(result, Compiled) or result.program_hash != status.get("programHash"):
                message = (
                    f"the Job {names.job} and the program snapshot {names.program} were "
                    "deleted, and the source no longer compiles to the same program"
                )
                await self.event(body, "Warning", "ProgramLost", message)
                return fs.compile_failed(status, generation, "ProgramLost", message, now)
            neamb = result.neamb
        agent = status.get("agent") or spec.agent or ""
        await self._create_children(owner, spec, agent, neamb, status.get("programHash", ""))
        await self.event(
            body, "Warning", "ChildRecreated", f"Job {names.job} was deleted; recreated it"
        )
        return None

    async def _termination_message(self, owner: Owner, job: str) -> str | None:
        """The newest terminated forge container's termination message, if any."""
        pods = await self.kube.request(
            "GET",
            path("v1", "Pod", owner.namespace),
            params={"labelSelector": f"job-name={job}"},
        )
        best: tuple[str, str] | None = None
        for pod in pods.get("items") or []:
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                term = (cs.get("state") or {}).get("terminated") or {}
                if cs.get("name") == b.CONTAINER and term.get("message"):
                    stamp = term.get("finishedAt") or ""
                    if best is None or stamp > best[0]:
                        best = (stamp, term["message"])
        return best[1] if best else None

    async def _expire(self, owner: Owner, spec: ForgeRunSpec, status: dict[str, Any]) -> None:
        """Delete a finished run ``ttlSecondsAfterFinished`` after its completion."""
        ttl = spec.ttl_seconds_after_finished
        done = status.get("completionTime")
        if ttl is None or not done:
            return
        finished = datetime.strptime(done, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        left = finished.timestamp() + ttl - datetime.now(UTC).timestamp()
        key = (owner.namespace, owner.name)
        if left > 0:
            self.scheduler.at(key, left)
            return
        log.info("deleting %s/%s: ttlSecondsAfterFinished expired", *key)
        await self.kube.delete(path(API_VERSION, KIND, *key))

    # ------------------------------------------------------------------ status + events

    async def _write(
        self, body: dict[str, Any], status: dict[str, Any], patch: dict[str, Any]
    ) -> None:
        if all(status.get(k) == v for k, v in patch.items()):
            return
        meta = body["metadata"]
        url = path(API_VERSION, KIND, meta["namespace"], meta["name"]) + "/status"
        await self.kube.merge_patch(url, {"status": patch})
        old, new = status.get("phase"), patch.get("phase")
        if new and new != old and new != "Pending":
            await self.event(body, *_transition_event(patch))

    async def event(self, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
        """Record a core/v1 Event on the run (never fatal)."""
        meta = body["metadata"]
        stamp = now_rfc3339()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "type": type_,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": "neam-operator"},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            await self.kube.request("POST", f"/api/v1/namespaces/{meta['namespace']}/events", event)
        except ApiError as e:
            log.warning("could not record event %s: HTTP %s", reason, e.status)


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
