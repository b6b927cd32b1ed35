"""Schedulable: heartbeats and cron schedules of the claw agents a server serves.

For each agent with ``impl Schedulable``:

- ``on_heartbeat(self)`` is called every ``heartbeat_interval(self)``
  milliseconds (:data:`DEFAULT_HEARTBEAT_MS`, 30 minutes, without that method;
  at least :data:`MIN_HEARTBEAT_MS`), the first time one interval after the start;
- ``on_cron(self, id)`` is called whenever a schedule that ``cron(self)`` (or, without
  it, ``schedule(self)``) declares matches (UTC, see :mod:`neam.agents.cron`). It
  returns one expression (its id is the expression), a list of them (each its
  own id), or a map from id to expression.

``heartbeat_interval`` and ``cron`` are called once, when the scheduler starts.
Every agent has one thread; hooks run on it as the agent, within its call time
limit, and a failing hook is logged and counted, never fatal. While
``active(agent)`` is false (a disabled agent, a draining server) due calls are
skipped. :meth:`Scheduler.stop` ends every thread after the hook it is running.
A server with several replicas runs the hooks in each of them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from neam.agents.cron import Cron, CronError

log = logging.getLogger("neam.scheduler")

SCHEDULABLE = "Schedulable"
DEFAULT_HEARTBEAT_MS = 30 * 60 * 1000
MIN_HEARTBEAT_MS = 10
CRON_DECLARATIONS = ("cron", "schedule")  # the methods that may declare the schedules


@dataclass
class AgentSchedule:
    """One agent's heartbeat and cron schedules, and what they did so far."""

    agent: str
    interval_ms: float | None = None  # None: no heartbeat
    crons: dict[str, Cron] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # what could not be scheduled
    heartbeats: int = 0
    last_heartbeat: float | None = None
    last_result: Any = None
    cron_runs: dict[str, int] = field(default_factory=dict)
    next_cron: dict[str, datetime | None] = field(default_factory=dict)
    failures: int = 0
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "heartbeat_interval_ms": self.interval_ms,
            "heartbeats": self.heartbeats,
            "last_heartbeat": self.last_heartbeat,
            "last_result": self.last_result,
            "cron": {
                cron_id: {
                    "expression": cron.expression,
                    "runs": self.cron_runs.get(cron_id, 0),
                    "next": _iso(self.next_cron.get(cron_id)),
                }
                for cron_id, cron in self.crons.items()
            },
            "problems": self.problems,
            "failures": self.failures,
            "last_error": self.last_error,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _interval(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"heartbeat_interval() must return a positive number of ms, not {value!r}")
    if math.isinf(value):
        raise ValueError("heartbeat_interval() returned an infinite interval")
    return max(float(value), MIN_HEARTBEAT_MS)


def _expressions(value: Any) -> dict[str, Any]:
    """``cron()``'s result as ``{id: expression}``."""
    if isinstance(value, str):
        return {value: value}
    if isinstance(value, list):
        return {str(item): item for item in value}
    if isinstance(value, dict):
        return dict(value)
    raise ValueError(
        "cron() must return an expression, a list of them or a map of id to expression, "
        f"not {type(value).__name__}"
    )


class Scheduler:
    """Runs the Schedulable hooks of ``agents`` on ``runtime`` (an AgentRuntime)."""

    def __init__(
        self, runtime: Any, agents: list[str], active: Callable[[str], bool] = lambda _: True
    ) -> None:
        self._runtime = runtime
        self._agents = [a for a in agents if runtime.program.impl_for(a, SCHEDULABLE)]
        self._active = active
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.schedules: dict[str, AgentSchedule] = {}

    def start(self) -> None:
        """Reads every agent's schedule (runs ``heartbeat_interval`` and ``cron``) and
        starts its thread; an agent without anything to run gets none."""
        for agent in self._agents:
            schedule = self._plan(agent)
            with self._lock:
                self.schedules[agent] = schedule
            for problem in schedule.problems:
                log.warning("Schedulable %s: %s", agent, problem)
            if schedule.interval_ms is None and not schedule.crons:
                continue
            thread = threading.Thread(
                target=self._run, args=(schedule,), name=f"schedule-{agent}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Tells every thread to end after its current hook; no due call runs after it."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Waits up to ``timeout`` seconds for each thread to end (after :meth:`stop`)."""
        for thread in self._threads:
            thread.join(timeout)

    def status(self, agent: str) -> dict[str, Any] | None:
        with self._lock:
            schedule = self.schedules.get(agent)
            return None if schedule is None else schedule.to_json()

    # -- planning ----------------------------------------------------------------------

    def _plan(self, agent: str) -> AgentSchedule:
        methods = self._runtime.program.impl_for(agent, SCHEDULABLE).methods
        schedule = AgentSchedule(agent)
        if "on_heartbeat" in methods:
            try:
                raw = (
                    self._runtime.call_trait(agent, SCHEDULABLE, "heartbeat_interval")
                    if "heartbeat_interval" in methods
                    else DEFAULT_HEARTBEAT_MS
                )
                schedule.interval_ms = _interval(raw)
            except Exception as exc:  # a Neam fault or a bad value: no heartbeat
                schedule.problems.append(f"no heartbeat: {exc}")
        declare = next((m for m in CRON_DECLARATIONS if m in methods), None)
        if "on_cron" in methods and declare is None:
            schedule.problems.append("on_cron is defined but no cron() declares a schedule")
        elif "on_cron" in methods and declare is not None:
            try:
                expressions = _expressions(self._runtime.call_trait(agent, SCHEDULABLE, declare))
            except Exception as exc:
                schedule.problems.append(f"no cron schedule: {exc}")
                expressions = {}
            for cron_id, expression in expressions.items():
                try:
                    if not isinstance(expression, str):
                        raise CronError(f"{expression!r} is not a string")
                    schedule.crons[cron_id] = Cron.parse(expression)
                except CronError as exc:
                    schedule.problems.append(f"cron schedule {cron_id!r}: {exc}")
        return schedule

    # -- running -------------------------------------------------------------------------

    def _run(self, schedule: AgentSchedule) -> None:
        interval = None if schedule.interval_ms is None else schedule.interval_ms / 1000
        next_beat = None if interval is None else time.monotonic() + interval
        now = datetime.now(UTC)
        with self._lock:
            for cron_id, cron in schedule.crons.items():
                schedule.next_cron[cron_id] = cron.next_after(now)
        while True:
            waits = [] if next_beat is None else [next_beat - time.monotonic()]
            due_crons = [t for t in schedule.next_cron.values() if t is not None]
            if due_crons:
                waits.append((min(due_crons) - datetime.now(UTC)).total_seconds())
            if not waits or self._stop.wait(max(0.0, min(waits))):
                return
            if next_beat is not None and interval is not None and time.monotonic() >= next_beat:
                next_beat += interval
                if next_beat <= time.monotonic():  # beats missed while a hook ran lapse
                    next_beat = time.monotonic() + interval
                self._call(schedule, "on_heartbeat")
            now = datetime.now(UTC)
            for cron_id, when in list(schedule.next_cron.items()):
                if when is not None and now >= when:
                    with self._lock:
                        schedule.next_cron[cron_id] = schedule.crons[cron_id].next_after(now)
                    self._call(schedule, "on_cron", cron_id)

    def _call(self, schedule: AgentSchedule, method: str, *args: Any) -> None:
        agent = schedule.agent
        if self._stop.is_set() or not self._active(agent):
            return
        try:
            result = self._runtime.call_trait(agent, SCHEDULABLE, method, *args)
        except Exception as exc:
            log.warning("Schedulable %s: %s failed: %s", agent, method, exc)
            with self._lock:
                schedule.failures += 1
                schedule.last_error = f"{method}: {exc}"
            return
        with self._lock:
            if method == "on_heartbeat":
                schedule.heartbeats += 1
                schedule.last_heartbeat = time.time()
                schedule.last_result = result
            else:
                schedule.cron_runs[args[0]] = schedule.cron_runs.get(args[0], 0) + 1
