"""Operator benchmark on the real control plane (``python -m bench operator``).

1. apply → Job created: 200 ForgeRuns, one at a time; latency from the create call
   returning to the Job's ADDED watch event. p50 / p99.
2. pod-start ratio: (ForgeRun created → first pod ADDED) / (plain Job created → first
   pod ADDED), medians over the same number of each, on the same control plane.
3. operator RSS with 1,000 ForgeRuns (all launched), from /proc/<pid>/status.

The cluster is a fresh local kwokctl cluster, or the one in $KUBECONFIG when
NEAM_TEST_CLUSTER=existing. Pods request more CPU than the KWOK node has, so they stay
unscheduled: the control-plane work measured is the same, without node churn.
"""

from __future__ import annotations

import os
import queue
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from urllib3.exceptions import ProtocolError

from tests.support.cluster import ClusterHandle, existing_cluster, local_cluster
from tests.support.operator_harness import (
    PROGRAM,
    UNSCHEDULABLE,
    install_crds,
    running_operator,
)

LATENCY_RUNS = 200
RATIO_RUNS = 50
RSS_RUNS = 1000
NS = "bench-operator"


@contextmanager
def bench_cluster() -> Iterator[ClusterHandle]:
    """A fresh local cluster, or $KUBECONFIG's with NEAM_TEST_CLUSTER=existing."""
    if os.environ.get("NEAM_TEST_CLUSTER") == "existing":
        yield existing_cluster()
    else:
        with local_cluster() as handle:
            yield handle


class Arrivals:
    """Records the first ADDED time (monotonic) per key from a watch, in a thread."""

    def __init__(self, api: client.ApiClient, kind: str, key_label: str) -> None:
        self.times: dict[str, float] = {}
        self.events: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._api, self._kind, self._label = api, kind, key_label
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(30)

    def _run(self) -> None:
        core, batch = client.CoreV1Api(self._api), client.BatchV1Api(self._api)
        lister = core.list_namespaced_pod if self._kind == "pod" else batch.list_namespaced_job
        w = watch.Watch()
        rv = lister(NS, limit=1).metadata.resource_version
        self._ready.set()
        while not self._stop.is_set():
            try:
                for ev in w.stream(lister, NS, resource_version=rv, timeout_seconds=5):
                    obj = ev["object"]
                    rv = obj.metadata.resource_version
                    if ev["type"] != "ADDED":
                        continue
                    key = (obj.metadata.labels or {}).get(self._label)
                    if key and key not in self.times:
                        self.times[key] = time.monotonic()
                        self.events.put(key)
                    if self._stop.is_set():
                        break
            except ProtocolError:  # the server closed the watch early: resume from rv
                continue

    def wait(self, key: str, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        while key not in self.times:
            try:
                self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty as e:
                raise TimeoutError(f"no {self._kind} for {key}") from e
        return self.times[key]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)  # the watch ends within its 5 s timeout


def _forgerun(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ForgeRun",
        "metadata": {"name": name},
        "spec": {"source": {"inline": PROGRAM}, "resources": UNSCHEDULABLE},
    }


def _plain_job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"bench": name}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"bench": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "c", "image": "neam-test:0", "resources": UNSCHEDULABLE}
                    ],
                },
            },
        },
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    with bench_cluster() as kube, tempfile.TemporaryDirectory() as logs:
        install_crds(kube)
        kube.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true")
        kube.kubectl("create", "namespace", NS)
        api = kube.api_client()
        crd = client.CustomObjectsApi(api)
        batch = client.BatchV1Api(api)
        jobs = Arrivals(api, "job", "neam.dev/forgerun")
        pods_fr = Arrivals(api, "pod", "neam.dev/forgerun")
        pods_job = Arrivals(api, "pod", "bench")
        with running_operator(kube, Path(logs)) as op:

            def create_run(name: str) -> float:
                crd.create_namespaced_custom_object(
                    "neam.dev", "v1alpha1", NS, "forgeruns", _forgerun(name)
                )
                return time.monotonic()

            # 1. apply -> Job created
            latencies = []
            for i in range(LATENCY_RUNS):
                name = f"lat-{i}"
                t0 = time.monotonic()
                create_run(name)
                latencies.append(jobs.wait(name) - t0)
            # 2. pod-start ratio, interleaved so both see the same cluster state
            fr_pod, job_pod = [], []
            for i in range(RATIO_RUNS):
                name = f"ratio-{i}"
                t0 = time.monotonic()
                create_run(name)
                fr_pod.append(pods_fr.wait(name) - t0)
                jname = f"plain-{i}"
                t0 = time.monotonic()
                batch.create_namespaced_job(NS, _plain_job(jname))
                job_pod.append(pods_job.wait(jname) - t0)
            # 3. RSS with 1,000 ForgeRuns
            existing = LATENCY_RUNS + RATIO_RUNS
            for i in range(RSS_RUNS - existing):
                create_run(f"rss-{i}")
            for i in range(RSS_RUNS - existing):
                jobs.wait(f"rss-{i}", timeout=600)
            time.sleep(5)  # let the status patches of the last runs settle
            rss_mib = op.rss_kib() / 1024
        for a in (jobs, pods_fr, pods_job):
            a.stop()
        kube.kubectl("delete", "namespace", NS, "--wait=false", check=False)

    ms = [x * 1000 for x in latencies]
    fr_med, job_med = statistics.median(fr_pod) * 1000, statistics.median(job_pod) * 1000
    print(
        f"apply -> Job created over {LATENCY_RUNS} ForgeRuns: p50 {_pct(ms, 0.5):.1f} ms, "
        f"p99 {_pct(ms, 0.99):.1f} ms, max {max(ms):.1f} ms"
    )
    print(
        f"first pod: ForgeRun median {fr_med:.1f} ms, plain Job median {job_med:.1f} ms, "
        f"ratio {fr_med / job_med:.2f} (n={RATIO_RUNS} each)"
    )
    print(f"operator RSS with {RSS_RUNS} ForgeRuns: {rss_mib:.1f} MiB")


if __name__ == "__main__":
    main()
