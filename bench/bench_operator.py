"""Operator benchmark on the real control plane (``python -m bench operator``).

Peers, measured in the same run on the same control plane: a ForgeRun (the operator
compiles it and creates its children, then the Job controller makes the pod), a plain
Job (the Job controller alone) and, where ``make argo-binaries`` built it, an Argo
Workflow with one step (Argo's workflow-controller makes the pod). Every pod requests
more CPU than the KWOK node has, so it stays Pending: only control-plane work counts.

1. Latency, on a cluster with kube-controller-manager's default client limits and
   Argo's controller at its defaults: the kinds interleaved in a shuffled order, one
   create every 0.2 s (so nothing queues behind a client rate limiter), timed from
   the create call to the first watch event of the ForgeRun's Job and of each kind's
   first pod. p50 / p95 / p99 per kind and the ratios to the plain Job.
2. Burst throughput, on a second cluster with kube-controller-manager's client limits
   raised (and Argo's controller given the same): 200 objects of one kind created at
   once by 8 client threads, timed until all their Jobs (ForgeRun: the operator alone)
   and all their pods exist. Kinds alternate; two rounds.
3. Operator RSS with 1,000 ForgeRuns launched (on the burst cluster, topped up).

The clusters are fresh local kwokctl clusters, or the one in $KUBECONFIG (for both
parts, with its own client limits) when NEAM_TEST_CLUSTER=existing.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client

from bench import argo
from bench.clients import create_all
from bench.cluster import RAISED_KCM_LIMITS, bench_cluster
from bench.cpu import control_plane, cpu_times
from bench.first_seen import FirstSeen
from bench.peers import FORGERUN, JOB, KEY_LABELS, WORKFLOW, Peer
from bench.report import load, machine, summary_ms
from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import OperatorProcess, install_crds, running_operator

ROUNDS = 150  # measured creates per kind in the latency run
WARMUP = 5  # rounds before those, not measured
PAUSE = 0.2  # seconds between two creates
BURST = 200
BURST_ROUNDS = 2
BURST_THREADS = 8
RSS_RUNS = 1000
ARGO_NS = "argo"  # where Argo's controller reads its ConfigMap
RAISED_QPS, RAISED_BURST = 1000, 2000  # Argo's client limits in the burst part


@dataclass
class Watches:
    """First-seen times of the Jobs and pods in one namespace."""

    jobs: FirstSeen
    pods: FirstSeen


@contextmanager
def watching(api: client.ApiClient, namespace: str) -> Iterator[Watches]:
    jobs = FirstSeen(api, namespace, "jobs", KEY_LABELS)
    pods = FirstSeen(api, namespace, "pods", KEY_LABELS)
    try:
        yield Watches(jobs, pods)
    finally:
        jobs.stop()
        pods.stop()


@dataclass
class Controllers:
    """What runs against one bench cluster: the operator and the peers to compare."""

    operator: OperatorProcess
    peers: list[Peer]
    argo_pid: int | None = None

    def pid(self, peer: Peer) -> int | None:
        """The process that turns ``peer`` objects into their children (a plain Job's,
        kube-controller-manager, is one of the cluster's components)."""
        return {FORGERUN.label: self.operator.pid, WORKFLOW.label: self.argo_pid}.get(peer.label)


@contextmanager
def controllers(
    kube: ClusterHandle, logs: Path, argo_limits: tuple[int, int]
) -> Iterator[Controllers]:
    """The operator and, if built, Argo's controller with client limits ``argo_limits``."""
    logs.mkdir()
    install_crds(kube)
    with ExitStack() as stack:
        op = stack.enter_context(running_operator(kube, logs))
        peers = [FORGERUN, JOB]
        argo_pid = None
        if argo.available():
            kube.kubectl("create", "namespace", ARGO_NS)
            argo.install(kube, ARGO_NS)
            qps, burst = argo_limits
            log = logs / "workflow-controller.log"
            argo_pid = stack.enter_context(
                argo.running_controller(kube, ARGO_NS, log, qps, burst)
            ).pid
            peers.append(WORKFLOW)
        else:
            print("Argo's workflow-controller is not built (make argo-binaries): no Workflow peer")
        yield Controllers(op, peers, argo_pid)


# ------------------------------------------------------------------ 1. latency


def latency(kube: ClusterHandle, peers: list[Peer], namespace: str) -> None:
    kube.kubectl("create", "namespace", namespace)
    api = kube.api_client()
    crd = client.CustomObjectsApi(api)
    order = random.Random(17)
    started: dict[str, float] = {}
    measured: dict[str, list[str]] = {p.label: [] for p in peers}
    print(f"latency: {len(peers)} kinds x {ROUNDS} (+{WARMUP} warm-up), {PAUSE} s apart; {load()}")
    with watching(api, namespace) as seen:
        for i in range(WARMUP + ROUNDS):
            for peer in order.sample(peers, len(peers)):
                name = f"{peer.prefix}-{i}"
                started[name] = time.monotonic()
                peer.create(crd, namespace, name)
                if i >= WARMUP:
                    measured[peer.label].append(name)
                time.sleep(PAUSE)
        runs = measured[FORGERUN.label]
        seen.jobs.wait(runs, timeout=120)
        for names in measured.values():
            seen.pods.wait(names, timeout=120)
        to_job = summary_ms([seen.jobs.times[n] - started[n] for n in runs])
        to_pod = {
            label: summary_ms([seen.pods.times[n] - started[n] for n in names])
            for label, names in measured.items()
        }
    print(f"  done; {load()}")
    line = " / ".join(f"{to_job[q]:.1f}" for q in to_job)
    print(f"  ForgeRun apply -> Job created  p50/p95/p99 ms: {line}")
    for label, s in to_pod.items():
        line = " / ".join(f"{s[q]:.1f}" for q in s)
        print(f"  {label:8} apply -> first pod  p50/p95/p99 ms: {line}")
    base = to_pod[JOB.label]
    for label, s in to_pod.items():
        if label != JOB.label:
            ratios = " / ".join(f"{s[q] / base[q]:.2f}" for q in s)
            print(f"  ratio {label}/Job first pod  p50/p95/p99: {ratios}")


# ------------------------------------------------------------------ 2. burst


def burst(kube: ClusterHandle, peer: Peer, namespace: str, controller: int | None) -> None:
    """One burst of ``peer``; ``controller`` is the PID of its controller, whose CPU
    time is reported with the cluster components'."""
    kube.kubectl("create", "namespace", namespace)
    api = kube.api_client()
    names = [f"{peer.prefix}-{i}" for i in range(BURST)]
    pids = control_plane(kube)
    if controller is not None:
        pids = {"controller": controller, **pids}
    with watching(api, namespace) as seen:
        cpu0 = cpu_times(pids)
        t0 = time.monotonic()
        created = create_all(kube, peer, namespace, names, BURST_THREADS)
        jobs = seen.jobs.wait(names, timeout=600) - t0 if peer is FORGERUN else None
        pods = seen.pods.wait(names, timeout=600) - t0
        cpu = {k: (v - cpu0[k]) * 1000 / BURST for k, v in cpu_times(pids).items()}
    # The client's own creates take seconds on two shared cores: what a controller
    # needs after the last one is the other half of the picture.
    after = (jobs if jobs is not None else pods) - created
    parts = [f"created in {created:.2f} s (+{after:.2f} s after the last)"]
    if jobs is not None:
        parts.append(f"all Jobs {jobs:.2f} s ({BURST / jobs:.0f}/s)")
    parts.append(f"all pods {pods:.2f} s ({BURST / pods:.0f}/s)")
    print(f"  {peer.label:8} x{BURST}: " + ", ".join(parts) + f"; {load()}")
    print("    CPU ms per object: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))


# ------------------------------------------------------------------ 3. RSS


def top_up(kube: ClusterHandle, namespace: str, count: int) -> None:
    """Create ``count`` more ForgeRuns back to back and wait for their Jobs."""
    kube.kubectl("create", "namespace", namespace)
    api = kube.api_client()
    crd = client.CustomObjectsApi(api)
    names = [f"{FORGERUN.prefix}-{i}" for i in range(count)]
    with watching(api, namespace) as seen:
        for name in names:
            FORGERUN.create(crd, namespace, name)
        seen.jobs.wait(names, timeout=900)


def main() -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        with bench_cluster() as kube, controllers(kube, logs / "latency", (20, 30)) as run:
            latency(kube, run.peers, "bench-latency")
        print(f"burst: kube-controller-manager and Argo client limits {RAISED_QPS}/{RAISED_BURST}")
        with (
            bench_cluster(RAISED_KCM_LIMITS) as kube,
            controllers(kube, logs / "burst", (RAISED_QPS, RAISED_BURST)) as run,
        ):
            for r in range(BURST_ROUNDS):
                for peer in run.peers:
                    burst(kube, peer, f"burst-{peer.prefix}-{r}", run.pid(peer))
            launched = BURST * BURST_ROUNDS
            top_up(kube, "bench-rss", RSS_RUNS - launched)
            time.sleep(5)  # let the status patches of the last runs settle
            rss = run.operator.rss_kib() / 1024
            print(f"operator RSS with {RSS_RUNS} ForgeRuns launched: {rss:.1f} MiB")


if __name__ == "__main__":
    main()
