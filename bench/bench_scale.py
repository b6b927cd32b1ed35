"""A burst of 10,000 ForgeRuns against 10,000 plain Jobs (``python -m bench scale``).

The same client code creates N objects of each kind as fast as it can, from THREADS
threads with one API client each, on a fresh local cluster (kwokctl) with the
operator running as a subprocess. Every pod requests more CPU than the KWOK node has,
so it stays Pending: only control-plane work counts. Per kind:

- how long the client took to create all N;
- the time until all N reached their Job: a ForgeRun's Job is the operator's, a plain
  Job is the object itself; both are seen by the same watch (first ADDED event), so
  both times include the same watch delivery. Throughput = N / that time;
- the time until all N pods exist (the Job controller, with kube-controller-manager's
  client limits raised so its rate limiter is not what is measured);
- apply -> Job latency per object (p50 / p95 / p99), from just before its create call;
- CPU seconds of the control plane's components and the operator, the load average
  before and after, and which API requests the API server served (its own counters).

For the ForgeRun burst also the operator's RSS when all N reached their Job, when all
pods existed and the peak (sampled every second); for both, the operator's reconciles,
API errors and timers (its /metrics) and the warnings in its log so far.

Order and fairness: plain Jobs first, then ForgeRuns, each kind in its own namespace
on the same control plane. The operator runs during both bursts but has no reconcile
to do during the Jobs' (its watches' label selectors keep the plain Jobs and their pods
from being streamed to it), so the baseline does not pay for ForgeRun work. The other
order would be unfair to the baseline: 10,000 unfinished ForgeRuns keep the operator
and the API server busy after their burst (launches still queued, status writes when
their pods' reasons change, Events). The ForgeRuns in turn inherit a larger store:
10,000 Jobs and Pending pods more in etcd, the watch caches and the scheduler's queue,
which can only add work to their burst. NEAM_BENCH_SCALE_CLUSTERS=2 runs each kind on
its own fresh cluster instead, to measure what that inheritance costs.

A burst that stops making progress (no new Job or pod for NEAM_BENCH_SCALE_STALL
seconds) is reported as STALLED with what it reached, and the operator's errors.

Environment: NEAM_BENCH_SCALE_N (objects per kind, default 10000),
NEAM_BENCH_SCALE_THREADS (client threads, default 16), NEAM_BENCH_SCALE_CLUSTERS
(1 or 2, default 1), NEAM_BENCH_SCALE_TIMEOUT (seconds to wait for all Jobs, and
again for all pods; default 600 + N / 5), NEAM_BENCH_SCALE_STALL (default 180),
NEAM_BENCH_SCALE_LOGS (a directory to keep the operator's log in; default: a
temporary one).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import prom
from bench.clients import create_all
from bench.cluster import RAISED_KCM_LIMITS, bench_cluster
from bench.cpu import control_plane, cpu_times
from bench.first_seen import FirstSeen
from bench.oplog import problems
from bench.peers import FORGERUN, JOB, KEY_LABELS, Peer
from bench.report import load, machine, summary_ms
from bench.rss import PeakRss
from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import OperatorProcess, install_crds, running_operator

N = int(os.environ.get("NEAM_BENCH_SCALE_N", "10000"))
THREADS = int(os.environ.get("NEAM_BENCH_SCALE_THREADS", "16"))
SEPARATE = os.environ.get("NEAM_BENCH_SCALE_CLUSTERS", "1") == "2"
TIMEOUT = float(os.environ.get("NEAM_BENCH_SCALE_TIMEOUT", str(600 + N / 5)))
STALL = float(os.environ.get("NEAM_BENCH_SCALE_STALL", "180"))
LOGS = os.environ.get("NEAM_BENCH_SCALE_LOGS")
ORDER = (JOB, FORGERUN)
PROGRESS = 30.0  # seconds between progress lines while waiting
MIB = 1024
APISERVER = (
    "apiserver_request_total",
    "apiserver_flowcontrol_rejected_requests_total",
    "apiserver_storage_size_bytes",
)
OPERATOR = (
    "neam_operator_reconciles_total",
    "neam_operator_api_errors_total",
    "neam_operator_delayed_reconciles",
    "neam_operator_reconcile_duration_seconds_sum",
    "neam_operator_reconcile_duration_seconds_count",
)
Scrapes = dict[str, prom.Samples]  # by source: "apiserver", "operator"


@dataclass
class Burst:
    """What one kind's burst measured; times in seconds from the first create."""

    label: str
    n: int  # objects created
    created: float  # until the client's last create returned
    jobs: list[float]  # when each Job was first seen, sorted (those seen)
    pods: list[float]  # when each pod was first seen, sorted (those seen)
    to_job_ms: dict[str, float]  # apply -> Job p50 / p95 / p99 (of the Jobs seen)
    cpu: dict[str, float]  # CPU seconds by component during the burst
    loads: tuple[str, str]  # before, after
    notes: list[str] = field(default_factory=list)  # printed after the figures

    @property
    def complete(self) -> bool:
        """Every object reached its Job and got its pod."""
        return len(self.jobs) == len(self.pods) == self.n

    @property
    def job_rate(self) -> float:
        return len(self.jobs) / self.jobs[-1] if self.jobs else 0.0

    @property
    def pod_rate(self) -> float:
        return len(self.pods) / self.pods[-1] if self.pods else 0.0


def _await(seen: FirstSeen, names: Sequence[str], what: str) -> bool:
    """Wait until ``seen`` saw all ``names`` (True), with a progress line every
    PROGRESS seconds; False when none came for STALL seconds or after TIMEOUT (a
    stalled burst is reported with what it reached, not as a crash)."""
    deadline = time.monotonic() + TIMEOUT
    count, moved = len(seen.times), time.monotonic()
    while True:
        try:
            seen.wait(names, timeout=max(0.0, min(PROGRESS, deadline - time.monotonic())))
            return True
        except TimeoutError:
            now = time.monotonic()
            if len(seen.times) != count:
                count, moved = len(seen.times), now
            print(f"    ... {count}/{len(names)} {what}; {load()}", flush=True)
            if now >= deadline or now - moved >= STALL:
                why = "timed out" if now >= deadline else f"none new for {now - moved:.0f} s"
                print(f"    STALLED at {count}/{len(names)} {what} ({why})", flush=True)
                return False


def _quartiles(offsets: list[float]) -> str:
    """When 25 / 50 / 75 / 100 % of the objects had been seen (rate over the burst)."""
    marks = [offsets[max(0, round(len(offsets) * q) - 1)] for q in (0.25, 0.5, 0.75, 1.0)]
    return " / ".join(f"{m:.1f}" for m in marks)


def burst(
    kube: ClusterHandle, peer: Peer, namespace: str, op: OperatorProcess
) -> tuple[Burst, Scrapes, Scrapes]:
    """One burst of N ``peer`` objects in ``namespace``; also the counter increases
    of the API server and of the operator during it (which should have nothing to do
    in a plain Job burst), and their values at the end."""
    kube.kubectl("create", "namespace", namespace)
    api = kube.api_client()
    names = [f"{peer.prefix}-{i}" for i in range(N)]
    pids = {**control_plane(kube), "operator": op.pid}
    runs = peer is FORGERUN  # the operator's memory matters in its burst only
    scraped = {
        "apiserver": prom.apiserver(kube, APISERVER),
        "operator": prom.scrape(op.metrics_port, OPERATOR),
    }
    started: dict[str, float] = {}
    notes = []
    before = load()
    print(f"  {peer.label} x{N} in {namespace}: starting; {before}", flush=True)
    jobs = FirstSeen(api, namespace, "jobs", KEY_LABELS)
    pods = FirstSeen(api, namespace, "pods", KEY_LABELS)
    try:
        cpu0 = cpu_times(pids)
        with PeakRss(op.rss_kib) as peak:
            t0 = time.monotonic()
            created = create_all(kube, peer, namespace, names, THREADS, started)
            print(f"    created all in {created:.1f} s; {load()}", flush=True)
            every = "all" if _await(jobs, names, "Jobs") else "the stalled burst's"
            if runs:
                rss = op.rss_kib() / MIB
                notes.append(f"operator RSS when {every} Jobs were seen: {rss:.1f} MiB")
            reached = [n for n in names if n in jobs.times]
            if not _await(pods, reached, "pods"):
                every = "the stalled burst's"
            if runs:
                rss = op.rss_kib() / MIB
                notes.append(
                    f"operator RSS when {every} pods were seen: {rss:.1f} MiB; "
                    f"peak {peak.peak_kib / MIB:.1f} MiB (1 s samples)"
                )
        cpu1 = cpu_times(pids)
    finally:
        jobs.stop()
        pods.stop()
        api.close()
    after = {
        "apiserver": prom.apiserver(kube, APISERVER),
        "operator": prom.scrape(op.metrics_port, OPERATOR),
    }
    result = Burst(
        label=peer.label,
        n=N,
        created=created,
        jobs=sorted(jobs.times[n] - t0 for n in reached),
        pods=sorted(pods.times[n] - t0 for n in reached if n in pods.times),
        to_job_ms=summary_ms([jobs.times[n] - started[n] for n in reached] or [0.0]),
        cpu={k: cpu1[k] - cpu0[k] for k in cpu0},
        loads=(before, load()),
        notes=notes,
    )
    return result, {k: prom.delta(after[k], scraped[k]) for k in after}, after


def _reached(what: str, offsets: list[float], n: int, unit: str) -> str:
    if not offsets:
        return f"no {what} at all"
    if len(offsets) < n:
        return (
            f"only {len(offsets)} of {n} {what} (STALLED; the last after "
            f"{offsets[-1]:.1f} s, {len(offsets) / offsets[-1]:.1f} {unit}/s until then)"
        )
    return f"all {what} after {offsets[-1]:.1f} s: {n / offsets[-1]:.1f} {unit}/s"


def print_burst(b: Burst) -> None:
    n = b.n
    print(f"  {b.label} x{n}:")
    print(f"    client created all in {b.created:.1f} s ({n / b.created:.1f}/s)")
    print(f"    {_reached('reached their Job', b.jobs, n, 'runs')}")
    print(f"    {_reached('pods', b.pods, n, 'pods')}")
    if b.jobs:
        print(f"    Jobs seen at 25 / 50 / 75 / 100 % (of those seen): {_quartiles(b.jobs)} s")
    if b.pods:
        print(f"    pods seen at 25 / 50 / 75 / 100 % (of those seen): {_quartiles(b.pods)} s")
    line = " / ".join(f"{v:.0f}" for v in b.to_job_ms.values())
    print(f"    apply -> Job p50 / p95 / p99 (of the Jobs seen): {line} ms")
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in b.cpu.items())
    print(f"    CPU s during the burst: {cpu} (sum {sum(b.cpu.values()):.1f})")
    print(f"    {b.loads[0]} before, {b.loads[1]} after")
    for note in b.notes:
        print(f"    {note}")


def print_apiserver(changes: prom.Samples, now: prom.Samples, top: int = 20) -> None:
    """The requests the API server served during a burst, the most frequent first,
    and anything it throttled or failed."""
    served = prom.by(
        changes, "apiserver_request_total", ("verb", "resource", "subresource", "code")
    )
    total = sum(served.values())
    print(f"    API server: {total:.0f} requests during the burst; the most frequent:")
    grouped: dict[str, float] = {}
    for (verb, resource, sub, code), count in served.items():
        what = f"{verb} {resource}{'/' + sub if sub else ''} {code}"
        grouped[what] = grouped.get(what, 0.0) + count
    ranked = sorted(grouped.items(), key=lambda kv: -kv[1])
    print("      " + ", ".join(f"{w} {c:.0f}" for w, c in ranked[:top] if c))
    bad = {w: c for w, c in grouped.items() if c and w.rsplit(" ", 1)[1][0] in "45"}
    print(f"      4xx/5xx: {', '.join(f'{w} {c:.0f}' for w, c in bad.items()) or 'none'}")
    rejected = sum(prom.by(changes, "apiserver_flowcontrol_rejected_requests_total", ()).values())
    print(f"      rejected by priority and fairness (429): {rejected:.0f}")
    size = prom.by(now, "apiserver_storage_size_bytes", ())
    if size:
        print(f"      etcd database size after the burst: {sum(size.values()) / 2**20:.0f} MiB")


def print_operator(changes: prom.Samples, now: prom.Samples, op: OperatorProcess) -> None:
    """The operator's work during a burst (its /metrics) and its log's warnings so far."""
    reconciles = prom.by(changes, "neam_operator_reconciles_total", ("kind", "result"))
    line = ", ".join(f"{k} {r} {v:.0f}" for (k, r), v in reconciles.items() if v)
    print(f"    operator reconciles: {line or 'none'}")
    spent = sum(prom.by(changes, "neam_operator_reconcile_duration_seconds_sum", ()).values())
    count = sum(prom.by(changes, "neam_operator_reconcile_duration_seconds_count", ()).values())
    if count:
        print(f"      mean reconcile {spent / count * 1000:.0f} ms (lock wait included)")
    errors = prom.by(changes, "neam_operator_api_errors_total", ("verb", "kind", "code"))
    line = ", ".join(f"{v} {k} {c}: {n:.0f}" for (v, k, c), n in errors.items() if n)
    print(f"      API errors: {line or 'none'}")
    timers = prom.by(now, "neam_operator_delayed_reconciles", ("kind", "state"))
    line = ", ".join(f"{s} {v:.0f}" for (k, s), v in timers.items() if k == FORGERUN.label)
    print(f"      ForgeRun timers after the burst: {line}")
    logged = problems(op.log_text())
    print(f"      log so far: {sum(logged.values())} warnings/errors")
    for what, count in logged.most_common(6):
        print(f"        {count} x {what}")


@contextmanager
def plane(logs: Path) -> Iterator[tuple[ClusterHandle, OperatorProcess]]:
    """A fresh cluster with kube-controller-manager's client limits raised, the CRDs
    and the operator."""
    with bench_cluster(RAISED_KCM_LIMITS) as kube:
        install_crds(kube)
        logs.mkdir()
        with running_operator(kube, logs) as op:
            yield kube, op


def run_kind(
    kube: ClusterHandle, op: OperatorProcess, peer: Peer, results: dict[str, Burst]
) -> None:
    b, changes, now = burst(kube, peer, f"scale-{peer.prefix}", op)
    results[peer.label] = b
    print_burst(b)
    print_apiserver(changes["apiserver"], now["apiserver"])
    print_operator(changes["operator"], now["operator"], op)


def main() -> None:
    print(machine())
    limits = " ".join(a for a in RAISED_KCM_LIMITS if a != "--extra-args")
    where = "each kind on its own fresh cluster" if SEPARATE else "one cluster, a namespace each"
    print(
        f"scale: {N} objects per kind, {THREADS} client threads (one API client each, no "
        f"client-side rate limit); {limits} (defaults 20 / 30); API server max-in-flight "
        f"and priority and fairness at their defaults; {where}; order "
        + " then ".join(p.label for p in ORDER)
    )
    results: dict[str, Burst] = {}
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(LOGS or tmp)
        if LOGS:
            logs.mkdir(parents=True, exist_ok=True)
            print(f"operator logs kept in {logs}")
        if SEPARATE:
            for peer in ORDER:
                with plane(logs / peer.prefix) as (kube, op):
                    run_kind(kube, op, peer, results)
        else:
            with plane(logs / "cluster") as (kube, op):
                for peer in ORDER:
                    run_kind(kube, op, peer, results)
    fr, job = results[FORGERUN.label], results[JOB.label]
    if fr.complete and job.complete:
        print(
            f"ratio ForgeRun / Job, runs/s to reach their Job: "
            f"{fr.job_rate / job.job_rate:.2f} (target >= 0.8); to all pods: "
            f"{fr.pod_rate / job.pod_rate:.2f}; apply -> Job p99: "
            f"{fr.to_job_ms['p99'] / job.to_job_ms['p99']:.1f}x"
        )
    else:
        stalled = ", ".join(
            f"{b.label} {len(b.jobs)}/{b.n} Jobs, {len(b.pods)}/{b.n} pods"
            for b in (job, fr)
            if not b.complete
        )
        print(f"no ratio: a burst stalled ({stalled})")
    print(f"bench scale took {time.monotonic() - began:.0f} s; {load()}")


if __name__ == "__main__":
    main()
