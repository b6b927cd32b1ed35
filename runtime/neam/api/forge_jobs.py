"""Background forge loops: at most one per agent, each on its own thread.

Forge loops run for minutes, so they do not occupy the request worker pool.
Before an agent's first run in this process, its status comes from the state
the loop persists in its workspace, so a restarted pod still reports the last
run; a run that starts reports the persisted iteration and cost from the start.
:meth:`ForgeJobs.start` takes the workspace lock before it answers, so a
workspace in use by another process, or a run that already completed, is
refused up front instead of failing in the background.
A stop request sets the loop's stop event; the runtime finishes the current
iteration and ends with ``aborted``. A server shutting down interrupts its loops
instead (:meth:`ForgeJobs.stop_all` with ``interrupt``): they stop the same way
but stay ``running`` on disk. Such a run, or one whose process died, is
*interrupted*: listed so, resumed by a start with the limits it was started
with (:meth:`ForgeJobs.resume_limits`), or at load with ``--resume-forge``
(:meth:`ForgeJobs.resume_interrupted`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from neam.agents import forge_lock, forge_state
from neam.agents.forge import finished_result
from neam.agents.forge_lock import WorkspaceLock
from neam.agents.results import RUNNING, ForgeResult

log = logging.getLogger("neam.api")


class ForgeAlreadyRunningError(Exception):
    pass


class ForgeCompletedError(Exception):
    """The run saved in the agent's workspace already completed its plan."""

    def __init__(self, result: ForgeResult) -> None:
        super().__init__(result.message)
        self.result = result


@dataclass
class ForgeState:
    """What ``GET /api/v1/forge/{agent}/status`` reports."""

    agent: str
    running: bool = False
    iteration: int = 0
    total_cost: Decimal = Decimal(0)
    last_outcome: str | None = None
    current_task: str | None = None
    message: str | None = None
    max_iterations: int | None = None
    max_cost: float | None = None
    stopping: bool = False
    interrupted: bool = False  # the run did not end: its server stopped or died
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _interrupt: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "running": self.running,
            "iteration": self.iteration,
            "total_cost": float(self.total_cost),
            "last_outcome": self.last_outcome,
            "current_task": self.current_task,
            "message": self.message,
            "max_iterations": self.max_iterations,
            "max_cost": self.max_cost,
            "stopping": self.stopping,
            "interrupted": self.interrupted,
        }


class ForgeJobs:
    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._states: dict[str, ForgeState] = {}

    def start(self, agent: str, *, max_iterations: int | None, max_cost: float | None) -> None:
        """Starts the loop in the background.

        Raises ForgeAlreadyRunningError (a loop of this process runs), the
        provider's MissingAPIKeyError, ForgeBusyError (another process holds the
        workspace) or ForgeCompletedError (nothing left to do).
        """
        runtime = self._runtime
        with self._lock:
            previous = self._states.get(agent)
            if previous is not None and previous.running:
                raise ForgeAlreadyRunningError(agent)
            runtime.provider(runtime.decl(agent, "forge"))  # a missing key fails here
            spec = runtime.forge_spec(agent, max_iterations=max_iterations, max_cost=max_cost)
            lock = runtime.lock_forge(spec)
            try:
                done = finished_result(spec)
                if done is not None:
                    raise ForgeCompletedError(done)
                saved = forge_state.load(spec.workspace, agent)
            except BaseException:
                lock.release()
                raise
            state = ForgeState(
                agent=agent,
                running=True,
                iteration=saved.iteration,
                total_cost=saved.total_cost,
                last_outcome="running",
                current_task=saved.current_task or None,
                max_iterations=max_iterations,
                max_cost=max_cost,
            )
            state._thread = threading.Thread(
                target=self._run, args=(state, lock), name=f"forge-{agent}", daemon=True
            )
            self._states[agent] = state
        state._thread.start()

    def _run(self, state: ForgeState, lock: WorkspaceLock) -> None:
        def on_progress(progress: Any) -> None:
            state.iteration = progress.iteration
            state.total_cost = Decimal(progress.total_cost)
            state.current_task = progress.current_task
            state.message = progress.message

        try:
            result = self._runtime.run_forge(
                state.agent,
                max_iterations=state.max_iterations,
                max_cost=None if state.max_cost is None else Decimal(str(state.max_cost)),
                stop=state._stop,
                on_progress=on_progress,
                lock=lock,
                interrupt=state._interrupt,
            )
            state.iteration = result.iterations
            state.total_cost = Decimal(result.total_cost)
            state.message = result.message
            state.last_outcome = result.outcome
            state.interrupted = result.interrupted
        except Exception as exc:
            log.exception("forge loop of %s failed", state.agent)
            state.last_outcome = "error"
            state.message = str(exc) or type(exc).__name__
        finally:
            state.running = False
            state.stopping = False

    def stop(self, agent: str) -> bool:
        """Asks a running loop to stop after its iteration; False if none is running."""
        with self._lock:
            state = self._states.get(agent)
            if state is None or not state.running:
                return False
            state.stopping = True
            state._stop.set()
            return True

    def stop_all(self, *, interrupt: bool = False) -> list[str]:
        """Asks every running loop to stop after its iteration; with ``interrupt`` (the
        server is shutting down) their runs stay resumable instead of ending."""
        with self._lock:
            running = [s for s in self._states.values() if s.running]
        for state in running:
            state.stopping = True
            if interrupt:
                state._interrupt.set()
            state._stop.set()
        return [s.agent for s in running]

    def state(self, agent: str) -> ForgeState:
        """This process's view of the agent's loop, else what its workspace recorded."""
        with self._lock:
            state = self._states.get(agent)
        return state or self._persisted(agent)

    def _persisted(self, agent: str) -> ForgeState:
        """The last run before this process started (the loop persists it to resume)."""
        workspace = self._runtime.forge_spec(agent).workspace
        try:
            saved = forge_state.load(workspace, agent)
        except ValueError as exc:  # a corrupt state file: report it, it blocks a resume
            return ForgeState(agent=agent, last_outcome="error", message=str(exc))
        if saved.iteration == 0:
            return ForgeState(agent=agent)
        state = ForgeState(
            agent=agent,
            iteration=saved.iteration,
            total_cost=saved.total_cost,
            last_outcome=saved.outcome,
            current_task=saved.current_task or None,
            message=saved.message,
            max_iterations=saved.max_iterations,
            max_cost=None if saved.max_cost is None else float(saved.max_cost),
        )
        if saved.outcome != RUNNING:
            return state
        holder = forge_lock.holder(workspace)
        if holder is not None:
            state.message = f"running in another process ({holder})"
            return state
        state.last_outcome, state.interrupted = "aborted", True
        state.message = (
            f"interrupted at iteration {saved.iteration}: its server stopped before the run "
            "ended; starting it again resumes it"
        )
        return state

    def resume_limits(self, agent: str) -> dict[str, Any] | None:
        """The limits an interrupted run was started with (``max_iterations``,
        ``max_cost``: None where it used the agent's own), or None when the agent's
        last run is not interrupted."""
        if self.is_running(agent):
            return None
        state = self._persisted(agent)
        if not state.interrupted:
            return None
        return {"max_iterations": state.max_iterations, "max_cost": state.max_cost}

    def resume_interrupted(self) -> list[str]:
        """Starts again every interrupted forge run, with the limits it was started
        with (``--resume-forge``); returns the agents started. One that cannot start
        is logged and left as it is."""
        resumed = []
        for agent in self._runtime.program.forge_agents:
            limits = self.resume_limits(agent)
            if limits is None:
                continue
            spec = self._runtime.forge_spec(agent, **limits)
            cost = None if spec.max_cost is None else float(spec.max_cost)
            try:
                self.start(agent, max_iterations=spec.max_iterations, max_cost=cost)
            except Exception as exc:
                log.warning("cannot resume the interrupted forge run of %s: %s", agent, exc)
                continue
            resumed.append(agent)
        return resumed

    def is_running(self, agent: str) -> bool:
        with self._lock:
            state = self._states.get(agent)
            return state is not None and state.running

    def running_agents(self) -> list[str]:
        with self._lock:
            return sorted(a for a, s in self._states.items() if s.running)
