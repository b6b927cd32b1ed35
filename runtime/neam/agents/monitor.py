"""Monitorable: what each agent does, compared with the baseline it declares.

The runtime records observations per agent (every agent, Monitorable or not):

- per *turn* (a claw turn, a plain agent call) and per forge *iteration*:
  ``tool_calls`` and ``response_time_ms`` (wall time of the model and tool work;
  for a claw turn, from taking the session to the reply), and for turns ``cost``;
- per forge *run* (a run call that did at least one iteration): ``iterations`` and
  ``cost``, the run's totals (a resumed run counts what it resumed from).

For an agent with ``impl Monitorable``, ``baseline(self)`` (called once, the first
time it is needed) returns a map whose keys say what to compare:

- ``avg_<metric>`` or the bare ``<metric>``: one observation is an anomaly when it
  is more than :data:`ANOMALY_FACTOR` (2) times the value;
- ``max_<metric>``: one observation is an anomaly when it exceeds the value.

Other keys, and values that are not non-negative numbers, are kept but never
compared. Every anomalous observation calls ``on_anomaly(self, event)`` once,
after the turn, iteration or run, with the event map :func:`anomaly` builds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("neam.monitor")

ANOMALY_FACTOR = 2
METRICS = ("tool_calls", "response_time_ms", "iterations", "cost")


@dataclass
class _Series:
    """The observations of one metric of one agent."""

    count: int = 0
    total: float = 0.0
    max: float = 0.0
    last: float = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.max = value if self.count == 1 else max(self.max, value)
        self.last = value


@dataclass
class _AgentRecord:
    series: dict[str, _Series] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # observations per scope
    anomalies: int = 0
    last_anomaly: dict[str, Any] | None = None


@dataclass(frozen=True)
class Rule:
    """One comparison taken from a baseline key."""

    key: str
    metric: str
    baseline: float
    limit: float  # an observation above this is an anomaly
    text: str


def rules(baseline: dict[str, Any]) -> list[Rule]:
    """The comparisons a baseline map asks for (see the module docstring)."""
    found: list[Rule] = []
    for key, value in baseline.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            continue
        if key.startswith("max_") and key[4:] in METRICS:
            found.append(Rule(key, key[4:], value, value, f"more than {key} ({value:g})"))
            continue
        metric = key[4:] if key.startswith("avg_") else key
        if metric in METRICS:
            limit = ANOMALY_FACTOR * value
            found.append(
                Rule(key, metric, value, limit, f"more than {ANOMALY_FACTOR}x {key} ({limit:g})")
            )
    return found


def anomaly(agent: str, rule: Rule, value: float, scope: str, context: dict[str, Any]) -> dict:
    """The map ``on_anomaly`` receives."""
    return {
        "agent": agent,
        "metric": rule.metric,
        "value": _number(value),
        "baseline_key": rule.key,
        "baseline": rule.baseline,
        "limit": _number(rule.limit),
        "rule": rule.text,
        "scope": scope,
        **context,
        "ts": time.time(),
    }


def _number(value: float) -> float | int:
    """A readable number: whole values as integers, others to three decimals."""
    return int(value) if float(value).is_integer() else round(value, 3)


class Monitor:
    """Thread-safe observations of every agent, and their checks against baselines.

    ``baseline(agent)`` returns the agent's baseline map (it raises when the
    Neam code fails); ``alert(agent, event)`` calls its ``on_anomaly``;
    ``monitorable(agent)`` says whether it implements Monitorable.
    """

    def __init__(
        self,
        baseline: Callable[[str], Any],
        alert: Callable[[str, dict[str, Any]], None],
        monitorable: Callable[[str], bool],
    ) -> None:
        self._baseline = baseline
        self._alert = alert
        self._monitorable = monitorable
        self._lock = threading.Lock()
        self._records: dict[str, _AgentRecord] = {}
        self._baselines: dict[str, tuple[dict[str, Any] | None, str | None]] = {}

    def baseline(
        self, agent: str, *, compute: bool = True
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The agent's baseline map (or None) and why it has none, computed once
        (``compute=False``: only if it was computed before)."""
        with self._lock:
            known = self._baselines.get(agent)
        if known is not None:
            return known
        if not compute:
            return None, None
        result: tuple[dict[str, Any] | None, str | None] = (None, None)
        if self._monitorable(agent):
            try:
                value = self._baseline(agent)
            except Exception as exc:  # a fault of Neam code: reported, never fatal
                result = (None, f"baseline() failed: {exc}")
            else:
                if isinstance(value, dict):
                    result = (value, None)
                else:
                    result = (None, f"baseline() returned {type(value).__name__}, not a map")
            if result[1]:
                log.warning("agent %s: %s; it is not monitored", agent, result[1])
        with self._lock:
            return self._baselines.setdefault(agent, result)

    def record(self, agent: str, scope: str, values: dict[str, float], **context: Any) -> list:
        """Records one turn, iteration or run; calls ``on_anomaly`` for each value that
        breaks a baseline rule and returns those events."""
        with self._lock:
            record = self._records.setdefault(agent, _AgentRecord())
            record.counts[scope] = record.counts.get(scope, 0) + 1
            for metric, value in values.items():
                record.series.setdefault(metric, _Series()).add(float(value))
        baseline, _ = self.baseline(agent)
        events = [
            anomaly(agent, rule, values[rule.metric], scope, context)
            for rule in rules(baseline or {})
            if rule.metric in values and values[rule.metric] > rule.limit
        ]
        if events:
            with self._lock:
                record.anomalies += len(events)
                record.last_anomaly = events[-1]
        for event in events:
            try:
                self._alert(agent, event)
            except Exception as exc:
                log.warning("agent %s: on_anomaly failed: %s", agent, exc)
        return events

    def status(self, agent: str, *, compute: bool = True) -> dict[str, Any]:
        """Observed values (``avg_``, ``max_`` and ``last_`` of each metric, per-scope
        counts) next to the baseline, for ``GET /api/v1/admin/status``
        (``compute=False``: runs no Neam code, a baseline not yet computed is None)."""
        baseline, problem = self.baseline(agent, compute=compute)
        with self._lock:
            record = self._records.get(agent) or _AgentRecord()
            observed: dict[str, Any] = dict(sorted(record.counts.items()))
            for metric in METRICS:
                series = record.series.get(metric)
                if series is None or not series.count:
                    continue
                observed[f"avg_{metric}"] = _number(series.total / series.count)
                observed[f"max_{metric}"] = _number(series.max)
                observed[f"last_{metric}"] = _number(series.last)
            status: dict[str, Any] = {
                "monitorable": self._monitorable(agent),
                "baseline": baseline,
                "observed": observed,
                "anomalies": record.anomalies,
                "last_anomaly": record.last_anomaly,
            }
        if problem:
            status["baseline_error"] = problem
        return status
