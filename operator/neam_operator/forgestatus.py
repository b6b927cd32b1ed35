"""ForgeRun status from what the cluster shows: the Job, the pod's termination message
and the reporter's ``status.progress``. Pure functions; the handler does the I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from neam_operator.conditions import TERMINAL, Cond, lifecycle, merge

OUTCOMES = frozenset({"completed", "aborted", "cost_limit", "iteration_limit", "error"})
MESSAGE_LIMIT = 1024
WAITING = "waiting for the forge pod to start"  # launched; no pod runs yet, none stuck


@dataclass(frozen=True)
class Termination:
    """The final result the runtime wrote to the termination message."""

    outcome: str | None = None
    iterations: int | None = None
    total_cost: str | None = None
    message: str | None = None
    git: dict[str, str] | None = None


GIT_FIELDS = ("url", "branch", "baseCommit", "headCommit", "pushError")


def git_status(value: Any) -> dict[str, str] | None:
    """The runtime's Git report, keeping only known fields with bounded strings."""
    if not isinstance(value, dict):
        return None
    out = {k: str(value[k])[:MESSAGE_LIMIT] for k in GIT_FIELDS if value.get(k)}
    return out or None


def parse_termination(text: str | None) -> Termination | None:
    """Parse ``{"outcome","iterations","total_cost","message"}``; other text (the log
    tail under FallbackToLogsOnError) becomes the message only."""
    if not text or not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return Termination(message=text.strip()[-MESSAGE_LIMIT:])
    if not isinstance(data, dict):
        return Termination(message=text.strip()[-MESSAGE_LIMIT:])
    outcome = data.get("outcome")
    iterations = data.get("iterations")
    message = data.get("message")
    return Termination(
        outcome=outcome if outcome in OUTCOMES else None,
        iterations=iterations if isinstance(iterations, int) and iterations >= 0 else None,
        total_cost=decimal_string(data.get("total_cost")),
        message=str(message)[:MESSAGE_LIMIT] if message is not None else None,
        git=git_status(data.get("git")),
    )


def final_progress(progress: dict[str, Any]) -> Termination | None:
    """The runtime's last progress report as a termination, when it reported an end.

    The runtime reports its final state before it exits; that report stands in for a
    termination message the operator can no longer read (a Job deletes the pods of a
    stopped run, and a deleted pod's status goes with it)."""
    outcome = progress.get("outcome")
    if outcome not in OUTCOMES:
        return None
    iteration = progress.get("iteration")
    return Termination(
        outcome=outcome,
        iterations=iteration if isinstance(iteration, int) else None,
        total_cost=decimal_string(progress.get("totalCost")),
        message=progress.get("message"),
        git=git_status(progress.get("git")),
    )


def decimal_string(value: Any) -> str | None:
    """A non-negative decimal as a plain string (``"0.0042"``), or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    if not d.is_finite() or d < 0:
        return None
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def job_condition(job: dict[str, Any], type_: str) -> dict[str, Any] | None:
    """The Job's condition ``type_`` when it is True."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_ and c.get("status") == "True":
            return c
    return None


def _reason(outcome: str) -> str:
    return "".join(part.capitalize() for part in outcome.split("_"))


@dataclass(frozen=True)
class Pods:
    """What the Job's pods show, read while the run is not plainly running."""

    problem: tuple[str, str] | None = None  # (reason, message) of a pod that cannot start
    last_failure: str | None = None  # the newest failed attempt's termination message


# Why a pod does not start, as the kubelet and scheduler say it, in the order checked.
WAITING_PROBLEMS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "CrashLoopBackOff",
    }
)
POD_PROBLEMS = WAITING_PROBLEMS | {"Unschedulable"}


def pod_problem(pod: dict[str, Any]) -> tuple[str, str] | None:
    """The reason a pod is stuck before its container runs, with the system's message."""
    status = pod.get("status") or {}
    for cs in [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in WAITING_PROBLEMS:
            return waiting["reason"], waiting.get("message") or waiting["reason"]
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            return c.get("reason") or "Unschedulable", c.get("message") or "not scheduled"
    return None


def job_phase(
    job: dict[str, Any],
    term: Termination | None,
    progress: dict[str, Any],
    pods: Pods | None = None,
) -> tuple[str, str, str, str | None]:
    """``(phase, reason, message, outcome)`` for a run whose Job is ``job``.

    A run is ``Running`` once its pod runs (the Job counts it ready) or reported
    progress; a failed attempt that the Job retries stays ``Running`` (reason
    ``Retrying``); before that it is ``Pending``, with the reason its pod cannot start.
    A Job that completed without the runtime's result is not a success."""
    status = job.get("status") or {}
    pods = pods or Pods()
    done = job_condition(job, "Complete")
    if done is not None:
        if term is None or term.outcome is None:
            message = "the forge container ended without its result (no termination message)"
            return "Failed", "NoResult", (term.message if term else None) or message, "error"
        phase = "Succeeded" if term.outcome == "completed" else "Failed"
        message = term.message or f"forge loop ended: {term.outcome}"
        return phase, _reason(term.outcome), message, term.outcome
    term = term or Termination()
    failed = job_condition(job, "Failed")
    if failed is not None:
        # The forge loop's own verdict names the failure better than the Job's limit; a
        # failed Job is never a completed run, whatever its last pod wrote.
        verdict = term.outcome if term.outcome != "completed" else None
        outcome = verdict or "error"
        reason = _reason(verdict) if verdict else failed.get("reason") or "JobFailed"
        message = term.message or failed.get("message") or "the forge Job failed"
        return "Failed", reason, message, outcome
    active = int(status.get("active") or 0)
    # Pods being deleted (stop, a deleted pod) still finish their current iteration.
    terminating = int(status.get("terminating") or 0)
    if (job.get("spec") or {}).get("suspend"):
        if active == 0 and terminating == 0:
            outcome = term.outcome or "aborted"
            return "Stopped", "Stopped", term.message or "stopped by spec.stop", outcome
        return "Running", "Stopping", "stopping after the current iteration", "running"
    attempts = int(status.get("failed") or 0)
    if attempts:
        attempt = (
            f"attempt {attempts + 1} of {int((job.get('spec') or {}).get('backoffLimit') or 0) + 1}"
        )
        why = f"; {pods.problem[0]}: {pods.problem[1]}" if pods.problem else ""
        last = f"; the previous attempt ended: {pods.last_failure}" if pods.last_failure else ""
        return "Running", "Retrying", f"{attempt}{why}{last}", "running"
    if int(status.get("ready") or 0) > 0 or progress:
        return "Running", "Running", progress.get("message") or "", "running"
    if pods.problem is not None:
        return "Pending", pods.problem[0], pods.problem[1], None
    return "Pending", "Pending", WAITING, None


def duration(start: str | None, end: str | None) -> str | None:
    """``1h2m3s``-style run time between two RFC 3339 stamps."""
    if not start or not end:
        return None
    seconds = int((_stamp(end) - _stamp(start)).total_seconds())
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return f"{text}{seconds}s"


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def finished(status: dict[str, Any]) -> bool:
    """Whether the operator ended the run: its phase, its completionTime and its decided
    ``Succeeded`` condition together (a status phase alone decides nothing)."""
    succeeded = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Succeeded"), {}
    )
    return (
        status.get("phase") in TERMINAL
        and bool(status.get("completionTime"))
        and succeeded.get("status") in ("True", "False")
    )


def _finish_time(job: dict[str, Any], now: str) -> str:
    status = job.get("status") or {}
    if status.get("completionTime"):
        return status["completionTime"]
    for c in status.get("conditions") or []:
        if c.get("type") in ("Complete", "Failed", "Suspended") and c.get("status") == "True":
            return c.get("lastTransitionTime") or now
    return now


def observe(
    status: dict[str, Any],
    generation: int | None,
    job: dict[str, Any],
    term: Termination | None,
    now: str,
    pods: Pods | None = None,
) -> dict[str, Any]:
    """The status patch for a launched run, folding progress and the termination message."""
    progress = status.get("progress") or {}
    if term is None and job_phase(job, None, progress, pods)[0] in TERMINAL:
        term = final_progress(progress)
    phase, reason, message, outcome = job_phase(job, term, progress, pods)
    t = term or Termination()
    patch: dict[str, Any] = {
        "observedGeneration": generation,
        "phase": phase,
        "outcome": outcome,
        "message": message[:MESSAGE_LIMIT],
        "iteration": t.iterations if t.iterations is not None else progress.get("iteration"),
        "totalCost": t.total_cost or progress.get("totalCost") or status.get("totalCost") or "0",
        "currentTask": progress.get("currentTask"),
        "maxIterations": status.get("maxIterations") or progress.get("maxIterations"),
        "git": t.git or git_status(progress.get("git")) or status.get("git"),
        "reason": reason,
        "attempt": int((job.get("status") or {}).get("failed") or 0) + 1,
    }
    if phase in ("Succeeded", "Failed", "Stopped"):
        patch["completionTime"] = status.get("completionTime") or _finish_time(job, now)
        patch["duration"] = duration(status.get("startTime"), patch["completionTime"])
    patch["conditions"] = merge(
        status.get("conditions"), lifecycle(phase, reason, message), now, generation
    )
    return {k: v for k, v in patch.items() if v is not None}


def failed(
    status: dict[str, Any],
    generation: int | None,
    reason: str,
    message: str,
    now: str,
    extra: tuple[Cond, ...] = (),
) -> dict[str, Any]:
    """Status of a run that failed before or outside its Job."""
    conds = [*extra, *lifecycle("Failed", reason, message)]
    return {
        "observedGeneration": generation,
        "phase": "Failed",
        "reason": reason,
        "outcome": "error",
        "message": message[:MESSAGE_LIMIT],
        "completionTime": status.get("completionTime") or now,
        "conditions": merge(status.get("conditions"), conds, now, generation),
    }


def compile_failed(
    status: dict[str, Any], generation: int | None, reason: str, message: str, now: str
) -> dict[str, Any]:
    """Status of a run whose program did not compile (or names no such agent)."""
    return failed(
        status, generation, reason, message, now, (Cond("Compiled", "False", reason, message),)
    )


def waiting(
    status: dict[str, Any], generation: int | None, reason: str, message: str, now: str
) -> dict[str, Any]:
    """Status of a run that cannot start yet (e.g. its source ConfigMap is missing)."""
    conds = [Cond("Compiled", "Unknown", reason, message), *lifecycle("Pending", reason, message)]
    return {
        "observedGeneration": generation,
        "phase": "Pending",
        "reason": reason,
        "message": message[:MESSAGE_LIMIT],
        "conditions": merge(status.get("conditions"), conds, now, generation),
    }


def launched(
    status: dict[str, Any],
    generation: int | None,
    agent: str,
    max_iterations: int | None,
    program_hash: str,
    children: dict[str, str],
    now: str,
) -> dict[str, Any]:
    """Status right after the children were created: what observing the new Job says
    (so that does not write the status again; the ``Created`` event names the Job)."""
    message = WAITING
    conds = [
        Cond("Compiled", "True", "Compiled", f"forge agent {agent}"),
        *lifecycle("Pending", "Pending", message),
    ]
    patch = {
        "observedGeneration": generation,
        "phase": "Pending",
        "reason": "Pending",
        "agent": agent,
        "maxIterations": max_iterations,
        "iteration": 0,
        "totalCost": "0",
        "attempt": 1,
        "message": message,
        "startTime": status.get("startTime") or now,
        "programHash": program_hash,
        "children": children,
        "conditions": merge(status.get("conditions"), conds, now, generation),
    }
    return {k: v for k, v in patch.items() if v is not None}


def stopped_before_start(
    status: dict[str, Any], generation: int | None, now: str
) -> dict[str, Any]:
    message = "stopped by spec.stop before it started"
    return {
        "observedGeneration": generation,
        "phase": "Stopped",
        "reason": "Stopped",
        "outcome": "aborted",
        "message": message,
        "completionTime": status.get("completionTime") or now,
        "conditions": merge(
            status.get("conditions"), lifecycle("Stopped", "Stopped", message), now, generation
        ),
    }
