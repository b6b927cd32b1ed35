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
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from neam_operator import events, sources
from neam_operator import forgestatus as fs
from neam_operator.builders import forgerun as b
from neam_operator.builders.common import Owner, label_value
from neam_operator.conditions import TERMINAL, UNOBSERVED, now_rfc3339
from neam_operator.jobs import termination_message
from neam_operator.kube import MAX_CONNECTIONS, ApiError, Kube, NotOwned, path, refusal
from neam_operator.metrics import ERROR, REJECTED, SUCCESS, OperatorMetrics
from neam_operator.models import API_VERSION, ForgeRunSpec, spec_error
from neam_operator.program import Compiled, Rejected, compile_forge
from neam_operator.scheduler import Key, Scheduler
from neam_operator.settings import Settings
from neam_operator.sources import SourceIndex
from neam_operator.stale import STALE_RETRY_SECONDS, left_by_predecessor
from neam_operator.ttl import expire, parse_time

log = logging.getLogger("neam_operator.forgerun")
KIND = "ForgeRun"
# Reasons whose failure the operator records as its own event when it decides it.
SELF_ANNOUNCED = (
    frozenset(
        {
            "InvalidSpec",
            "CompileError",
            "AgentNotFound",
            "ProgramLost",
            "ChildLost",
            "ChildConflict",
            "Pending",
        }
    )
    | fs.POD_PROBLEMS
)
DELAYED_CONCURRENCY = 8
# Launches at once: each sends up to four creates together, which fills the client's
# connections (kube.MAX_CONNECTIONS). In a burst, later runs wait their turn in a queue
# of names, instead of every run's first creates queueing ahead of any run's Job and
# every waiting launch holding its watch event in memory.
LAUNCHERS = MAX_CONNECTIONS // 4


class ForgeRuns:
    """Reconciles ForgeRuns through the API server."""

    def __init__(self, kube: Kube, settings: Settings, metrics: OperatorMetrics) -> None:
        self.kube = kube
        self.settings = settings
        self.metrics = metrics
        self.scheduler = Scheduler(self.resync)
        self._locks: dict[Key, asyncio.Lock] = {}
        self._started: set[Key] = set()  # runs this process has launched or failed
        self.sources = SourceIndex()  # the ConfigMaps that runs not yet launched wait for
        # The resourceVersions this process's last writes to a run produced: the watch
        # events that echo them carry nothing it does not know.
        self._written: dict[Key, set[str]] = {}
        # The last problem (or None) seen on each run's pods: a pod event that does not
        # change it has nothing to tell (the Job's events say when a pod runs or ends).
        self._pod_problems: dict[Key, tuple[str, str] | None] = {}
        # Delayed reconciles of many runs come due together (periodic checks, a restart):
        # bound how many are in flight, so only that many run bodies are held at once.
        self._delayed = asyncio.Semaphore(DELAYED_CONCURRENCY)
        # New runs, in the order they were seen, and the tasks that launch them. An item
        # carries the watched body when a launcher was free to take it at once, else
        # None: a run that waited its turn is read afresh.
        self._to_launch: asyncio.Queue[tuple[Key, dict[str, Any] | None]] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._launchers: list[asyncio.Task[None]] = []
        self._idle = 0  # launchers waiting for a run

    def start(self) -> None:
        """Start the launchers (in the operator's event loop)."""
        self._launchers = [asyncio.create_task(self._launcher()) for _ in range(LAUNCHERS)]

    async def close(self) -> None:
        for task in self._launchers:
            task.cancel()
        await asyncio.gather(*self._launchers, return_exceptions=True)

    async def _launcher(self) -> None:
        while True:
            self._idle += 1
            try:
                key, body = await self._to_launch.get()
            finally:
                self._idle -= 1
            self._queued.discard(key)
            if key in self._locks:  # reconciled since the event, or now: read it afresh
                body = None
            try:
                await self._serialised(key, body=body)
            except Exception:  # one run's bug must not stop the launches of the others
                log.exception("launching %s/%s failed", *key)

    # ------------------------------------------------------------------ entry points

    async def resync(self, key: Key) -> None:
        """A delayed reconcile (retry, TTL, periodic check). It also checks that every
        child of the run exists, unless new runs are waiting for their launch: in a long
        burst, those checks (five reads each) would compete with the launches, and a
        missing child of a launched run can wait for the next check."""
        async with self._delayed:
            await self.reconcile(key, audit=self._to_launch.empty())

    async def reconcile(
        self, key: Key, seen: dict[str, Any] | None = None, audit: bool = False
    ) -> None:
        """Converge one run, serialised per run, from a fresh read of it (so a queued
        stale event never undoes newer status). ``seen``, the watched object, tells a
        new run (no status yet) apart: it is queued for launch, and launched in its
        turn, from ``seen`` itself if a launcher takes it at once and nothing else has
        reconciled the run. ``audit`` checks that every child of a launched run still
        exists (it always does on the first reconcile of a run in this process, e.g.
        after a restart)."""
        if seen is not None and seen["metadata"].get("resourceVersion") in self._written.get(
            key, ()
        ):
            return  # the echo of this process's own write
        if seen is not None and _unreported(seen) and key not in self._started:
            if key not in self._queued:  # a new run: launched in its turn
                self._queued.add(key)
                # A free launcher takes the event's body as it is (no read on the
                # launch's critical path); a run that must wait is read when its turn
                # comes, as it may have changed by then.
                free = self._idle > self._to_launch.qsize()
                self._to_launch.put_nowait((key, seen if free else None))
            return
        await self._serialised(key, audit)

    async def _serialised(
        self, key: Key, audit: bool = False, body: dict[str, Any] | None = None
    ) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        await self.metrics.serialised(KIND, lock, lambda: self._handle(key, audit, body))

    async def _handle(self, key: Key, audit: bool, body: dict[str, Any] | None) -> str:
        """One reconcile under the run's lock, of ``body`` or else of a fresh read of
        the run; returns its result for the metrics."""
        if body is None:
            body = await self.kube.get(path(API_VERSION, KIND, *key))
        if body is None:
            self.forget(key)
            return SUCCESS
        try:
            await self._reconcile(body, audit or key not in self._started)
        except ValidationError as e:
            await self._invalid(body, spec_error(e))
            return REJECTED
        except ApiError as e:
            refused = refusal(e)
            if refused is None:
                log.warning("reconciling %s/%s failed (%s); retrying", *key, e)
                self.scheduler.backoff(key)
                return ERROR
            status = body.get("status") or {}
            patch = fs.failed(status, body["metadata"].get("generation"), *refused, now_rfc3339())
            await self.event(body, "Warning", *refused)
            await self._write(body, status, patch)
            return REJECTED
        return SUCCESS

    async def pod_changed(self, key: Key, pod: dict[str, Any]) -> None:
        """A pod of the run's Job changed: reconcile when why it cannot start changed."""
        problem = fs.pod_problem(pod)
        if self._pod_problems.get(key) == problem:
            return
        self._pod_problems[key] = problem
        await self.reconcile(key)

    def forget(self, key: Key) -> None:
        self.scheduler.cancel(key)
        self._locks.pop(key, None)
        self._started.discard(key)
        self._written.pop(key, None)
        self._pod_problems.pop(key, None)
        self.sources.track(key, None)
        self.metrics.gone(KIND, key)

    async def _invalid(self, body: dict[str, Any], message: str) -> None:
        """A spec the CRD let through but the operator cannot run (``maxCost`` where
        manifests/policies.yaml is not installed): the run fails, its Job is suspended."""
        status = body.get("status") or {}
        if fs.finished(status):
            return
        job = (status.get("children") or {}).get("job")
        if job:
            url = path("batch/v1", "Job", body["metadata"]["namespace"], job)
            await self.kube.merge_patch(url, {"spec": {"suspend": True}})
        generation = body["metadata"].get("generation")
        await self.event(body, "Warning", "InvalidSpec", message)
        await self._write(
            body, status, fs.failed(status, generation, "InvalidSpec", message, now_rfc3339())
        )

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
        # Only a run not yet launched needs to hear of its ConfigMap.
        self.sources.track(key, None if status.get("children") else spec.source)
        if fs.finished(status):
            self.scheduler.cancel(key)
            # A finished run has nothing left to change but its TTL (which _expire
            # follows): a later spec edit is observed, so kstatus/Flux see it Current.
            await self._write(body, status, {"observedGeneration": generation})
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
            # and the pods' changes are seen as events; the other children are not
            # watched (see docs/operator.md). A Pending run is also checked when its
            # pending timeout is up.
            self.scheduler.attempts.pop(key, None)
            delay = self.settings.resync_seconds * random.uniform(0.8, 1.2)
            if patch.get("phase") == "Pending":
                delay = min(delay, self._pending_left({**status, **patch}))
            self.scheduler.soon(key, delay)

    async def _compile(self, owner: Owner, spec: ForgeRunSpec) -> str | Compiled | Rejected:
        source = await sources.read(self.kube, owner.namespace, owner.name, spec.source)
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
            # Retried with backoff, and at once when the ConfigMap changes (watched).
            self.scheduler.backoff(key)
            if status.get("message") != result:
                await self.event(body, "Warning", "SourceNotFound", result)
            return _named(spec, fs.waiting(status, generation, "SourceNotFound", result, now))
        if not isinstance(result, Compiled):
            await self.event(body, "Warning", result.reason, result.message)
            return _named(
                spec, fs.compile_failed(status, generation, result.reason, result.message, now)
            )
        names = b.ForgeRunNames.of(owner.name, spec)
        max_iter = spec.max_iterations or result.max_iterations
        patch = fs.launched(
            status, generation, result.agent, max_iter, result.program_hash, names.status(), now
        )
        try:
            await self._create_children(
                owner, spec, result.agent, result.neamb, result.program_hash
            )
        except NotOwned as e:
            if not left_by_predecessor(e.existing, owner):
                raise
            self.scheduler.at(key, STALE_RETRY_SECONDS)
            kind, name = e.existing["kind"], e.existing["metadata"]["name"]
            message = f"waiting for {kind} {name} of an earlier {KIND} to be deleted"
            return fs.waiting(status, generation, "Waiting", message, now)
        except ApiError as e:
            refused = refusal(e)
            if refused is None:
                raise
            # Refused: no Job was made. What was decided (agent, Compiled) stays.
            await self.event(body, "Warning", *refused)
            return {**patch, **fs.failed({**status, **patch}, generation, *refused, now)}
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
        for the ConfigMap). Two orders matter: the Job only after everything its pods
        need, and a Role before its binding (binding a Role that does not exist yet fails
        the API server's escalation check for an operator without the ``bind`` verb)."""
        objs = {
            o["kind"]: o
            for o in b.children(owner, spec, agent, neamb, program_hash, self.settings)
            if kinds is None or o["kind"] in kinds
        }

        async def chain(*kinds: str) -> None:
            for kind in kinds:
                if kind in objs:
                    await self.kube.create(objs[kind])

        # All or nothing: the Job comes last, once every other child exists, so a child
        # the API server rejects leaves no pod running.
        await asyncio.gather(
            chain("ServiceAccount"),
            chain("Role", "RoleBinding"),
            chain("ConfigMap"),
            chain("PersistentVolumeClaim"),
        )
        await chain("Job")

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
        job = await self._apply_changes(owner, spec, names, job)
        term = None
        progress = status.get("progress") or {}
        phase, *_ = fs.job_phase(job, None, progress)
        pods = None
        if phase in TERMINAL:
            text = await termination_message(self.kube, owner.namespace, names.job, b.CONTAINER)
            term = fs.parse_termination(text)
        elif phase == "Pending" or (job.get("status") or {}).get("failed"):
            pods = await self._pods(owner, names)
        patch = fs.observe(status, generation, job, term, now, pods)
        if patch["phase"] == "Pending" and self._pending_too_long(status):
            reason = patch.get("reason") or "Pending"
            message = (
                f"still {reason} after {self.settings.pending_timeout_seconds}s: "
                f"{patch.get('message')}"
            )
            return await self._lose(body, status, names, job, generation, now, reason, message)
        return patch

    async def _pods(self, owner: Owner, names: b.ForgeRunNames) -> fs.Pods:
        """Why the newest pod cannot start, and the newest failed attempt's result."""
        found = await self.kube.select(path("v1", "Pod", owner.namespace), f"job-name={names.job}")
        items = sorted(found, key=lambda p: p["metadata"].get("creationTimestamp") or "")
        live = [p for p in items if (p.get("status") or {}).get("phase") in ("Pending", None)]
        problem = fs.pod_problem(live[-1]) if live else None
        failures = []
        for pod in items:
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                term = (cs.get("state") or {}).get("terminated") or {}
                if cs.get("name") == b.CONTAINER and term.get("exitCode"):
                    parsed = fs.parse_termination(term.get("message"))
                    failures.append(
                        (parsed.message if parsed else None)
                        or term.get("reason")
                        or f"exit code {term['exitCode']}"
                    )
        return fs.Pods(problem, failures[-1] if failures else None)

    def _pending_left(self, status: dict[str, Any]) -> float:
        """Seconds until a run still Pending has waited too long (0: it has)."""
        start = status.get("startTime")
        if not start:
            return float(self.settings.pending_timeout_seconds)
        waited = datetime.now(UTC).timestamp() - parse_time(start).timestamp()
        return max(0.0, self.settings.pending_timeout_seconds - waited)

    def _pending_too_long(self, status: dict[str, Any]) -> bool:
        return bool(status.get("startTime")) and self._pending_left(status) == 0.0

    async def _apply_changes(
        self, owner: Owner, spec: ForgeRunSpec, names: b.ForgeRunNames, job: dict[str, Any]
    ) -> dict[str, Any]:
        """Spec changes that take effect on a started run: the Job's deadline and retries
        (the other fields are immutable in the CRD)."""
        want: dict[str, Any] = {}
        job_spec = job.get("spec") or {}
        if job_spec.get("activeDeadlineSeconds") != spec.active_deadline_seconds:
            want["activeDeadlineSeconds"] = spec.active_deadline_seconds
        backoff = (
            spec.backoff_limit if spec.backoff_limit is not None else self.settings.backoff_limit
        )
        if job_spec.get("backoffLimit") not in (None, backoff):
            want["backoffLimit"] = backoff
        if not want or not job or fs.job_phase(job, None, {})[0] in TERMINAL:
            return job
        url = path("batch/v1", "Job", owner.namespace, names.job)
        return await self.kube.merge_patch(url, {"spec": want})

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
        pods = await self.kube.select(path("v1", "Pod", owner.namespace), f"job-name={names.job}")
        return any((p.get("spec") or {}).get("nodeName") for p in pods)

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
        self._written[(meta["namespace"], meta["name"])] = set()
        self._wrote(await self.kube.merge_patch(url, {"status": patch}))
        ended = {**status, **patch}
        if fs.finished(ended) and not fs.finished(status):  # counted once: this write ends it
            self.metrics.finished(KIND, meta["namespace"], ended["phase"])
            self.metrics.spent(KIND, meta["namespace"], ended.get("totalCost"))
        pushed = (patch.get("git") or {}).get("headCommit")
        if pushed and pushed != (status.get("git") or {}).get("headCommit"):
            branch = patch["git"].get("branch")
            await self.event(body, "Normal", "Pushed", f"pushed branch {branch} at {pushed[:12]}")
        await self._label(body, patch)
        reason = patch.get("reason")
        if reason in fs.POD_PROBLEMS and reason != status.get("reason"):
            await self.event(body, "Warning", reason, patch.get("message") or reason)
        if reason == "Retrying" and patch.get("attempt") != status.get("attempt"):
            await self.event(body, "Warning", "Retrying", patch.get("message") or reason)
        old, new = status.get("phase"), patch.get("phase")
        # Failures the operator decided already have their event (one, not two).
        if new and new != old and new != "Pending" and reason not in SELF_ANNOUNCED:
            await self.event(body, *_transition_event(patch))

    async def _label(self, body: dict[str, Any], patch: dict[str, Any]) -> None:
        """``neam.dev/agent`` and ``neam.dev/phase`` on the run, kept current, so that
        ``kubectl get fr -l neam.dev/phase=Failed`` works."""
        meta = body["metadata"]
        labels = meta.get("labels") or {}
        want = {
            "neam.dev/phase": patch.get("phase") or labels.get("neam.dev/phase"),
            "neam.dev/agent": patch.get("agent") or labels.get("neam.dev/agent"),
        }
        want = {k: label_value(v) for k, v in want.items() if v}
        if all(labels.get(k) == v for k, v in want.items()):
            return
        url = path(API_VERSION, KIND, meta["namespace"], meta["name"])
        self._wrote(await self.kube.merge_patch(url, {"metadata": {"labels": want}}))

    def _wrote(self, run: dict[str, Any]) -> None:
        """Remember the version a write of this process gave the run (see reconcile)."""
        meta = run.get("metadata") or {}
        if meta.get("resourceVersion"):
            key = (meta["namespace"], meta["name"])
            self._written.setdefault(key, set()).add(meta["resourceVersion"])

    async def event(self, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
        await events.record(self.kube, body, type_, reason, message)


def _unreported(run: dict[str, Any]) -> bool:
    """Not handled yet: no status but the CRD's default."""
    return run.get("status") in (None, {}, UNOBSERVED)


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


def _named(spec: ForgeRunSpec, patch: dict[str, Any]) -> dict[str, Any]:
    """A status patch for a run not launched: its AGENT column shows ``spec.agent``."""
    return {**patch, "agent": spec.agent} if spec.agent else patch
