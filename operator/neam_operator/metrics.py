"""The operator's Prometheus metrics: what it reconciles, sees, spends and waits for.

One ``OperatorMetrics`` per process holds a registry (served by ``metrics_http``).
Counters and histograms are updated where things happen; the gauges of resources by
phase and of delayed reconciles are computed when scraped, from the watch events the
operator saw and from its schedulers, so a deleted resource leaves no series behind.
Everything runs on the event loop (the scrape too), so nothing needs a lock.

Labels are bounded: kinds, phases, results, verbs and status codes are fixed sets;
``namespace`` (on the run counters) is as many as the namespaces that run things.
No label names a run.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from neam_operator.kube import PLURALS
from neam_operator.scheduler import Key, Scheduler

log = logging.getLogger("neam_operator.metrics")

# The phases each kind's status can show; every one is exported (0 when none is in it).
PHASES: dict[str, tuple[str, ...]] = {
    "ForgeRun": ("Pending", "Running", "Succeeded", "Failed", "Stopped"),
    "AgentDAG": ("Pending", "Running", "Succeeded", "Failed", "Stopped"),
    "ClawAgent": ("Pending", "Ready", "Degraded", "Failed"),
}
UNKNOWN = "Unknown"  # a resource the operator has not written a phase for yet
SUCCESS, ERROR, REJECTED = "success", "error", "rejected"
RESULTS = (SUCCESS, ERROR, REJECTED)
NO_ANSWER = "none"  # the code of an API request that got no HTTP answer
VERBS = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}
KINDS_BY_PLURAL = {plural: kind for (_, kind), plural in PLURALS.items()}
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Outcome:
    """The result a reconcile reports (``success`` unless it says otherwise)."""

    result: str = SUCCESS


class OperatorMetrics:
    """Every metric of the operator, registered on ``self.registry``."""

    def __init__(self) -> None:
        disable_created_metrics()  # no ``*_created`` twin of every counter series
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, CPU, fds
        r = self.registry
        self._reconciles = Counter(
            "neam_operator_reconciles",
            "Reconciles by kind and result (success, error: retried with backoff, "
            "rejected: the resource's spec cannot run).",
            ["kind", "result"],
            registry=r,
        )
        self._duration = Histogram(
            "neam_operator_reconcile_duration_seconds",
            "How long reconciles took (from holding the resource's lock to the end).",
            ["kind", "result"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self._in_flight = Gauge(
            "neam_operator_reconciles_in_flight",
            "Reconciles started and not finished, waiting for their resource's lock included.",
            ["kind"],
            registry=r,
        )
        self._api_errors = Counter(
            "neam_operator_api_errors",
            "Kubernetes API requests of the operator answered with an error status "
            '(code="none": no answer), by verb, kind and code.',
            ["verb", "kind", "code"],
            registry=r,
        )
        self._finished = Counter(
            "neam_operator_runs_finished",
            "ForgeRuns and AgentDAGs the operator ended, by namespace, kind and final phase.",
            ["namespace", "kind", "phase"],
            registry=r,
        )
        self._cost = Counter(
            "neam_operator_llm_cost_usd",
            "LLM cost in USD of ended ForgeRuns and of ended AgentDAG pod nodes "
            "(a DAG node run as a ForgeRun counts under ForgeRun), counted once, when the "
            "operator writes the end.",
            ["namespace", "kind"],
            registry=r,
        )
        self._phases: dict[str, dict[Key, str]] = {kind: {} for kind in PHASES}
        self._schedulers: dict[str, Scheduler] = {}
        r.register(_Live(self._phases, self._schedulers))
        for kind in PHASES:  # every series a rate() or alert needs exists from the start
            self._in_flight.labels(kind)
            for result in RESULTS:
                self._reconciles.labels(kind, result)

    # ------------------------------------------------------------------ reconciles

    @contextmanager
    def in_flight(self, kind: str) -> Iterator[None]:
        with self._in_flight.labels(kind).track_inprogress():
            yield

    async def serialised(
        self, kind: str, lock: asyncio.Lock, handle: Callable[[], Awaitable[str]]
    ) -> None:
        """Run one reconcile (``handle`` returns its result) under its resource's lock,
        in flight while it waits, counted and timed once it holds the lock."""
        with self.in_flight(kind):
            async with lock:
                with self.reconciling(kind) as outcome:
                    outcome.result = await handle()

    @contextmanager
    def reconciling(self, kind: str) -> Iterator[Outcome]:
        """Count and time one reconcile; an exception is an ``error``, a cancelled
        reconcile (shutdown) is not counted."""
        outcome = Outcome()
        start = time.perf_counter()
        try:
            yield outcome
        except Exception:
            self._count(kind, ERROR, start)
            raise
        else:
            self._count(kind, outcome.result, start)

    def _count(self, kind: str, result: str, start: float) -> None:
        self._reconciles.labels(kind, result).inc()
        self._duration.labels(kind, result).observe(time.perf_counter() - start)

    def watch_timers(self, kind: str, scheduler: Scheduler) -> None:
        """Export ``scheduler``'s delayed reconciles as those of ``kind``."""
        self._schedulers[kind] = scheduler

    # ------------------------------------------------------------------ resources

    def seen(self, kind: str, key: Key, body: dict[str, Any]) -> None:
        """A watch event of a resource of ``kind``: remember its phase."""
        phase = (body.get("status") or {}).get("phase") or UNKNOWN
        self._phases[kind][key] = sys.intern(phase)  # one string per phase, not per resource

    def gone(self, kind: str, key: Key) -> None:
        self._phases[kind].pop(key, None)

    # ------------------------------------------------------------------ spending

    def finished(self, kind: str, namespace: str, phase: str) -> None:
        """The operator wrote the end of a run (call once, after the write)."""
        self._finished.labels(namespace, kind, phase).inc()

    def spent(self, kind: str, namespace: str, cost: str | None) -> None:
        """Add the decimal string ``cost`` (a status' ``totalCost``); nothing for a
        missing, malformed or non-positive one."""
        try:
            value = Decimal(cost or "0")
        except InvalidOperation:
            log.warning("ignoring the cost %r of a %s in %s", cost, kind, namespace)
            return
        if value.is_finite() and value > 0:
            self._cost.labels(namespace, kind).inc(float(value))

    # ------------------------------------------------------------------ API calls

    def api_error(self, method: str, url: str, status: int | None) -> None:
        """An API request that failed (``status`` None: no HTTP answer)."""
        parts = urlsplit(url).path.strip("/").split("/")
        rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
        if rest[:1] == ["namespaces"] and len(rest) > 2:
            rest = rest[2:]
        plural = rest[0] if rest else ""
        verb = ("get" if len(rest) > 1 else "list") if method == "GET" else VERBS.get(method)
        code = NO_ANSWER if status is None else str(status)
        kind = KINDS_BY_PLURAL.get(plural, plural)
        self._api_errors.labels(verb or method.lower(), kind, code).inc()


class _Live(Collector):
    """The gauges computed at scrape time: resources by phase, delayed reconciles."""

    def __init__(self, phases: dict[str, dict[Key, str]], schedulers: dict[str, Scheduler]) -> None:
        self._phases = phases
        self._schedulers = schedulers

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [self._resources(), self._timers()]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        resources = self._resources()
        for kind, by_key in self._phases.items():
            counts = Tally(by_key.values())
            for phase in dict.fromkeys((*PHASES[kind], *counts)):
                resources.add_metric([kind, phase], counts.get(phase, 0))
        timers = self._timers()
        for kind, scheduler in self._schedulers.items():
            timers.add_metric([kind, "waiting"], scheduler.waiting)
            timers.add_metric([kind, "due"], scheduler.due)
        return [resources, timers]

    @staticmethod
    def _resources() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "neam_operator_resources",
            "Resources the operator watches, by kind and status phase "
            '(phase="Unknown": no phase written yet).',
            labels=["kind", "phase"],
        )

    @staticmethod
    def _timers() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "neam_operator_delayed_reconciles",
            "Delayed reconciles (retries, TTL expiry, periodic checks): state=waiting "
            "(timer armed), state=due (its time came; queued or running).",
            labels=["kind", "state"],
        )
