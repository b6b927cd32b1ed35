"""The forge build-verify loop.

Per iteration: build the prompt (system, current plan task, progress so far,
learnings, last verify feedback), let the model work with the agent's skills as
tools (bounded multi-step tool calling), call ``verify(ctx)``, record progress
and learnings (JSONL), persist the state and checkpoint the workspace.
Limits are checked before an iteration starts, against the persisted totals,
so they hold across restarts. The run holds the workspace's lock
(:mod:`neam.agents.forge_lock`) from loading the state to saving the outcome,
so they also hold whatever else runs on the same workspace. A stop request
ends the run after the current iteration.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from neam.agents import forge_lock, forge_state, jsonl
from neam.agents.checkpoint import CheckpointError, checkpoint, commit_message
from neam.agents.forge_state import STATE_DIR, ForgeState
from neam.agents.git_workspace import GitSourceError, GitWorkspace
from neam.agents.results import RUNNING, ForgeProgress, ForgeResult
from neam.agents.tools import run_tool_loop
from neam.agents.verify import ABORT, PASS, classify
from neam.lang import NeamRuntimeError
from neam.providers import ProviderError, ToolCall, ToolSpec
from neam.text import clip

log = logging.getLogger("neam.forge")

DEFAULT_MAX_ITERATIONS = 25
NO_PLAN_TASK = "Complete the goal described in the system prompt."
PROMPT_HISTORY = 20
_BULLET = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)")


@dataclass(frozen=True)
class ForgeSpec:
    """A forge agent's settings after overrides and path resolution."""

    agent: str
    system: str
    workspace: Path
    max_iterations: int
    max_cost: Decimal | None
    checkpoint: str
    plan_file: str | None
    progress_file: str | None
    learnings_file: str | None
    temperature: float | None = None
    # The one task without a plan file (default: the goal in the system prompt).
    task: str | None = None

    @property
    def plan_path(self) -> Path | None:
        return self.workspace / self.plan_file if self.plan_file else None

    def tasks(self) -> list[str]:
        """The plan's tasks, read now (the model may extend the plan file)."""
        return read_plan(self.plan_path, self.task or NO_PLAN_TASK)

    def file(self, configured: str | None, kind: str) -> Path:
        """A workspace file; the hidden state directory holds it when not configured."""
        if configured:
            return self.workspace / configured
        return self.workspace / STATE_DIR / f"{self.agent}.{kind}.jsonl"


def read_plan(path: Path | None, default: str = NO_PLAN_TASK) -> list[str]:
    """One task per non-blank line; Markdown headings skipped, list markers stripped.
    Without a plan file (or an empty one) the plan is the single task ``default``."""
    if path is None or not path.is_file():
        return [default]
    tasks = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tasks.append(_BULLET.sub("", line).strip())
    return tasks or [default]


def require_writable(workspace: Path) -> None:
    """Fail with a clear message when the workspace cannot hold the run's files.

    A volume whose storage ignores ``fsGroup`` (the in-tree hostPath provisioner
    creates root-owned 0750 directories) is the usual cause inside a pod.
    """
    if os.access(workspace, os.W_OK | os.X_OK):
        return
    info = workspace.stat()
    raise ValueError(
        f"workspace {workspace} is not writable by uid {os.geteuid()} "
        f"(owner {info.st_uid}:{info.st_gid}, mode {stat.S_IMODE(info.st_mode):04o}); "
        "if it is a volume, use storage that applies the pod's fsGroup "
        "(most CSI drivers and local volumes do; hostPath does not)"
    )


def _completed(spec: ForgeSpec, state: ForgeState) -> bool:
    """Whether ``state`` completed every task of the plan (read now: a longer plan goes on)."""
    return state.outcome == "completed" and state.task_index >= len(spec.tasks())


def finished_result(spec: ForgeSpec) -> ForgeResult | None:
    """The result of the run saved in ``spec.workspace`` if it already completed, else None."""
    state = forge_state.load(spec.workspace, spec.agent)
    if _completed(spec, state):
        return ForgeResult("completed", state.iteration, state.total_cost, state.message)
    return None


class ForgeLoop:
    def __init__(
        self,
        spec: ForgeSpec,
        *,
        provider: Any,
        tools: list[ToolSpec],
        execute: Callable[[ToolCall], str],
        verify: Callable[[dict[str, Any]], Any],
        stop: threading.Event | None = None,
        on_progress: Callable[[ForgeProgress], None] | None = None,
        lock: forge_lock.WorkspaceLock | None = None,
        git: GitWorkspace | None = None,
        observe: Callable[[int, dict[str, float]], None] | None = None,
        interrupt: threading.Event | None = None,
    ) -> None:
        """``lock``: the workspace lock when the caller already holds it; the loop
        takes it over and releases it when the run ends (else it locks itself).
        ``git``: the workspace is that repository's clone (made on the first start);
        every iteration is a commit, and the branch is pushed after every verified
        task and at the end, whatever the checkpoint setting.
        ``observe(iteration, values)`` is told each iteration's ``tool_calls`` and
        ``response_time_ms`` (the model and tool work, verify excluded).
        ``interrupt``, set with ``stop`` when the process shuts down, ends the run
        like a stop request but leaves it ``running`` on disk, to be resumed."""
        self.git = git
        self.spec = spec
        self.lock = lock
        self.provider = provider
        self.tools = tools
        self.execute = execute
        self.verify = verify
        self.stop = stop or threading.Event()
        self.interrupt = interrupt or threading.Event()
        self.on_progress = on_progress
        self.observe = observe
        self.progress_path = spec.file(spec.progress_file, "progress")
        self.learnings_path = spec.file(spec.learnings_file, "learnings")

    # -- persistence -----------------------------------------------------------------

    def _save(self, state: ForgeState) -> None:
        forge_state.save(self.spec.workspace, self.spec.agent, state)

    def _report(self, state: ForgeState) -> None:
        """Calls ``on_progress``; a failing callback is logged and never ends the run."""
        if self.on_progress is None:
            return
        progress = ForgeProgress(
            iteration=state.iteration,
            max_iterations=self.spec.max_iterations,
            total_cost=state.total_cost,
            current_task=state.current_task,
            outcome=state.outcome,
            message=state.message,
            git=self.git.status.report() if self.git and self.git.status else None,
        )
        try:
            self.on_progress(progress)
        except Exception:
            log.exception("forge %s: progress callback failed", self.spec.agent)

    def _finish(self, state: ForgeState, outcome: str, message: str) -> ForgeResult:
        if self.git is not None and self.git.status is not None:
            try:
                pushed = self.git.push()
            except GitSourceError as exc:
                message += f"; {exc}"
            else:
                if pushed.push_error:
                    message += f"; {pushed.push_error}"
        state.outcome, state.message = outcome, message
        self._save(state)
        self._report(state)
        git = self.git.status.report() if self.git and self.git.status else None
        return ForgeResult(outcome, state.iteration, state.total_cost, message, git)

    # -- the loop --------------------------------------------------------------------

    def run(self) -> ForgeResult:
        """Runs (or resumes) the loop to an outcome, holding the workspace lock;
        raises :class:`~neam.agents.forge_lock.ForgeBusyError` when another run holds it."""
        lock = self.lock
        try:
            self.spec.workspace.mkdir(parents=True, exist_ok=True)
            require_writable(self.spec.workspace)
            if lock is None:
                lock = forge_lock.acquire(self.spec.workspace, self.spec.agent)
            return self._run()
        finally:
            if lock is not None:
                lock.release()

    def _run(self) -> ForgeResult:
        spec = self.spec
        state = forge_state.load(spec.workspace, spec.agent)
        if self.git is not None:
            try:
                self.git.prepare()
            except GitSourceError as exc:
                return self._finish(state, "error", str(exc))
        if _completed(spec, state):
            return self._finish(state, "completed", state.message)
        state.outcome, state.message = RUNNING, ""
        state.max_iterations = spec.max_iterations
        state.max_cost = None if spec.max_cost is None else str(spec.max_cost)
        try:
            while True:
                tasks = spec.tasks()
                if state.task_index >= len(tasks):
                    return self._finish(state, "completed", "All tasks completed")
                if spec.max_cost is not None and state.total_cost >= spec.max_cost:
                    return self._finish(
                        state,
                        "cost_limit",
                        f"Cost limit reached: ${state.total_cost} of ${spec.max_cost} spent",
                    )
                if state.iteration >= spec.max_iterations:
                    return self._finish(
                        state,
                        "iteration_limit",
                        f"Reached max_iterations ({spec.max_iterations}) with task "
                        f"{state.task_index + 1}/{len(tasks)} unfinished",
                    )
                if self.stop.is_set():
                    return self._stopped(state)
                verdict = self._iterate(state, tasks)
                if verdict == ABORT:
                    return self._finish(
                        state,
                        "aborted",
                        f"Aborted by verify at iteration {state.iteration}: {state.feedback}",
                    )
                if state.task_index >= len(tasks):
                    return self._finish(state, "completed", "All tasks completed")
                if self.stop.is_set():
                    return self._stopped(state)
        except (ProviderError, NeamRuntimeError, CheckpointError, GitSourceError, OSError) as exc:
            return self._finish(state, "error", f"iteration {state.iteration}: {exc}")

    def _stopped(self, state: ForgeState) -> ForgeResult:
        if not self.interrupt.is_set():
            return self._finish(
                state, "aborted", f"Stopped by request after iteration {state.iteration}"
            )
        message = (
            f"Interrupted by a server shutdown after iteration {state.iteration}; "
            "starting it again resumes it"
        )
        state.message = message  # the outcome stays "running": the run has not ended
        self._save(state)
        self._report(state)
        git = self.git.status.report() if self.git and self.git.status else None
        return ForgeResult(
            "aborted", state.iteration, state.total_cost, message, git, interrupted=True
        )

    def _iterate(self, state: ForgeState, tasks: list[str]) -> str:
        spec = self.spec
        task = tasks[state.task_index]
        state.iteration += 1
        state.current_task = task
        self._save(state)  # an interrupted iteration still counts against the budget

        def spent(cost: Decimal) -> None:
            state.total_cost += cost
            self._save(state)

        messages = [
            {"role": "system", "content": spec.system},
            {"role": "user", "content": self._prompt(state, tasks)},
        ]
        started = time.monotonic()
        reply = run_tool_loop(
            self.provider,
            messages,
            self.tools,
            self.execute,
            temperature=spec.temperature,
            on_cost=spent,
        )
        if self.observe is not None:
            elapsed_ms = (time.monotonic() - started) * 1000
            self.observe(
                state.iteration, {"tool_calls": len(reply.calls), "response_time_ms": elapsed_ms}
            )
        verdict = classify(
            self.verify(
                {
                    "iteration": state.iteration,
                    "current_task": task,
                    "feedback": state.feedback,
                    "total_cost": float(state.total_cost),
                    "workspace": str(spec.workspace),
                    "response": reply.text,
                }
            )
        )
        now = time.time()
        jsonl.append(
            self.progress_path,
            {
                "ts": now,
                "iteration": state.iteration,
                "task": task,
                "verdict": verdict.kind,
                "feedback": verdict.feedback,
                "cost": str(reply.cost),
                "tool_calls": [c["name"] for c in reply.calls],
                "response": clip(reply.text, 1000),
            },
        )
        if verdict.kind != PASS:
            jsonl.append(
                self.learnings_path,
                {
                    "ts": now,
                    "iteration": state.iteration,
                    "task": task,
                    "learning": verdict.feedback,
                },
            )
        if verdict.kind == PASS:
            state.task_index += 1
            state.feedback = ""
        else:
            state.feedback = verdict.feedback
        state.message = f"iteration {state.iteration}: {verdict.kind}"
        self._save(state)
        if self.git is not None:
            self.git.commit(commit_message(state.iteration, task))
            if verdict.kind == PASS:
                self.git.push()
        else:
            checkpoint(spec.checkpoint, spec.workspace, state.iteration, task)
        self._report(state)
        return verdict.kind

    def _prompt(self, state: ForgeState, tasks: list[str]) -> str:
        progress = jsonl.read_tail(self.progress_path, PROMPT_HISTORY)
        learnings = jsonl.read_tail(self.learnings_path, PROMPT_HISTORY)
        lines = [
            f"## Task {state.task_index + 1} of {len(tasks)}",
            tasks[state.task_index],
            "",
            "## Progress so far",
        ]
        lines += [
            f"- iteration {p.get('iteration')} ({clip(str(p.get('task', '')), 80)}): "
            f"{p.get('verdict')}"
            + (f" — {clip(str(p['feedback']), 200)}" if p.get("feedback") else "")
            for p in progress
        ] or ["(nothing yet)"]
        lines += ["", "## Learnings"]
        lines += [f"- {clip(str(entry.get('learning', '')), 300)}" for entry in learnings] or [
            "(none yet)"
        ]
        lines += ["", "## Feedback from the last verification", state.feedback or "(none)"]
        return "\n".join(lines)
