"""ForgeRun status from what the cluster shows: the Job, the pod's termination message
and the reporter's ``status.progress``. Pure functions; the handler does the I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from neam_operator.conditions import TERMINAL, Cond, lifecycle, merge

OUTCOMES = frozenset({"completed", "aborted", "cost_limit", "iteration_limit", "error"})
MESSAGE_LIMIT = 1024


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


def _job_condition(job: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_ and c.get("status") == "True":
            return c
    return None


def _reason(outcome: str) -> str:
    return "".join(part.capitalize() for part in outcome.split("_"))


def job_phase(
    job: dict[str, Any], term: Termination | None, progress: dict[str, Any]
) -> tuple[str, str, str, str | None]:
    """``(phase, reason, message, outcome)`` for a run whose Job is ``job``."""
    status = job.get("status") or {}
    term = term or Termination()
    done = _job_condition(job, "Complete")
    if done is not None:
        outcome = term.outcome or "completed"
        phase = "Succeeded" if outcome == "completed" else "Failed"
        return phase, _reason(outcome), term.message or f"forge loop ended: {outcome}", outcome
    failed = _job_condition(job, "Failed")
    if failed is not None:
        outcome = term.outcome or "error"
        reason = failed.get("reason") or "JobFailed"
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
    if active > 0 or progress:
        return "Running", "Running", progress.get("message") or "", "running"
    return "Pending", "Pending", "waiting for the forge pod", None


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
) -> dict[str, Any]:
    """The status patch for a launched run, folding progress and the termination message."""
    progress = status.get("progress") or {}
    if term is None and job_phase(job, None, progress)[0] in TERMINAL:
        term = final_progress(progress)
    phase, reason, message, outcome = job_phase(job, term, progress)
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
    }
    if phase in ("Succeeded", "Failed", "Stopped"):
        patch["completionTime"] = status.get("completionTime") or _finish_time(job, now)
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
    """Status right after the children were created."""
    message = f"created Job {children['job']}"
    conds = [
        Cond("Compiled", "True", "Compiled", f"forge agent {agent}"),
        *lifecycle("Pending", "Pending", message),
    ]
    patch = {
        "observedGeneration": generation,
        "phase": "Pending",
        "agent": agent,
        "maxIterations": max_iterations,
        "iteration": 0,
        "totalCost": "0",
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
        "outcome": "aborted",
        "message": message,
        "completionTime": status.get("completionTime") or now,
        "conditions": merge(
            status.get("conditions"), lifecycle("Stopped", "Stopped", message), now, generation
        ),
    }
