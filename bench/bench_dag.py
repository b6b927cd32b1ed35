"""AgentDAG benchmark on the real control plane (``python -m bench dag``).

Apply → Succeeded for a 20-node chain and a 20-wide fan-out, against a minimal script
that drives plain Jobs of the same shape (it creates a node's Job once the Jobs of its
dependencies completed, watching Jobs), on the same fresh local cluster in the same run,
interleaved. KWOK runs the pods (a Job's pod succeeds without a container), so what is
compared is the orchestration: the operator's reconciles against the script's watch.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client, watch

from bench.cluster import bench_cluster
from tests.support.operator_harness import install_crds, running_operator

NS = "bench-dag"
WIDTH = 20
REPEATS = 3
RESOURCES = {"requests": {"cpu": "10m", "memory": "16Mi"}}
PROGRAM = """
claw agent worker {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Work."
}
"""


def chain() -> list[dict[str, Any]]:
    return [
        {"id": f"n{i}", "agent": "worker", "dependsOn": [f"n{i - 1}"] if i else []}
        for i in range(WIDTH)
    ]


def fan_out() -> list[dict[str, Any]]:
    return [{"id": f"n{i}", "agent": "worker"} for i in range(WIDTH)]


def _dag(name: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "AgentDAG",
        "metadata": {"name": name},
        "spec": {
            "source": {"inline": PROGRAM},
            "nodes": nodes,
            "parallelism": WIDTH,
            "resources": RESOURCES,
        },
    }


def _job(name: str, run: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"bench-run": run}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"bench-run": run}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "neam-test:0", "resources": RESOURCES}],
                },
            },
        },
    }


def run_dag(api: client.ApiClient, name: str, nodes: list[dict[str, Any]]) -> float:
    crd = client.CustomObjectsApi(api)
    start = time.monotonic()
    crd.create_namespaced_custom_object("neam.dev", "v1alpha1", NS, "agentdags", _dag(name, nodes))
    while True:
        obj = crd.get_namespaced_custom_object("neam.dev", "v1alpha1", NS, "agentdags", name)
        phase = (obj.get("status") or {}).get("phase")
        if phase == "Succeeded":
            return time.monotonic() - start
        if phase in ("Failed", "Stopped"):
            raise RuntimeError(f"DAG {name} ended {phase}")
        time.sleep(0.02)


def run_script(api: client.ApiClient, name: str, nodes: list[dict[str, Any]]) -> float:
    """The baseline: plain Jobs, each created when its dependencies' Jobs completed."""
    batch = client.BatchV1Api(api)
    deps = {n["id"]: set(n.get("dependsOn") or []) for n in nodes}
    done: set[str] = set()
    created: set[str] = set()
    start = time.monotonic()
    rv = batch.list_namespaced_job(NS, limit=1).metadata.resource_version

    def launch_ready() -> None:
        for node, needs in deps.items():
            if node not in created and needs <= done:
                batch.create_namespaced_job(NS, _job(f"{name}-{node}", name))
                created.add(node)

    launch_ready()
    stream = watch.Watch().stream(
        batch.list_namespaced_job, NS, label_selector=f"bench-run={name}", resource_version=rv
    )
    for event in stream:
        job = event["object"]
        if (job.status.succeeded or 0) >= 1:
            done.add(job.metadata.name.removeprefix(f"{name}-"))
            if len(done) == len(nodes):
                return time.monotonic() - start
            launch_ready()
    raise RuntimeError("the Job watch ended early")


def main() -> None:
    with bench_cluster() as kube, tempfile.TemporaryDirectory() as logs:
        install_crds(kube)
        kube.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true")
        kube.kubectl("create", "namespace", NS)
        api = kube.api_client()
        results: dict[str, dict[str, list[float]]] = {}
        with running_operator(kube, Path(logs)):
            shapes = (("20-node chain", "chain", chain()), ("20-wide fan-out", "fan", fan_out()))
            for shape, tag, nodes in shapes:
                times: dict[str, list[float]] = {"dag": [], "jobs": []}
                for i in range(REPEATS):
                    times["dag"].append(run_dag(api, f"dag-{tag}-{i}", nodes))
                    times["jobs"].append(run_script(api, f"jobs-{tag}-{i}", nodes))
                results[shape] = times
        kube.kubectl("delete", "namespace", NS, "--wait=false", check=False)
    for shape, times in results.items():
        d, j = statistics.median(times["dag"]), statistics.median(times["jobs"])
        runs = ", ".join(f"{t:.2f}" for t in times["dag"])
        print(
            f"{shape}: AgentDAG median {d:.2f} s (runs {runs}), "
            f"plain-Job script median {j:.2f} s, ratio {d / j:.2f} (n={REPEATS})"
        )


if __name__ == "__main__":
    main()
