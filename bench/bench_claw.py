"""ClawAgent benchmark on the real control plane (``python -m bench claw``).

1. apply → available: a ClawAgent (with its source ConfigMap) until its ``Ready``
   condition is True, i.e. its Deployment is available; the baseline is the same
   children (program ConfigMap, sessions PVC, Deployment) applied directly, until the
   Deployment reports ``Available``. Interleaved, one at a time.
2. program update → every pod on the new program: a 3-replica ClawAgent whose source
   ConfigMap changes, until its status names the new program hash and it is Ready
   (the rollout completed); the baseline is the same Deployment whose pod template
   changes directly, until the rollout completes (``kubectl rollout status``'s rule).

KWOK runs the pods (they become Ready without a container), so what is measured is
the operator's work plus the control plane's rollout. Ratios are against the
baselines of the same run on the same fresh local cluster (or $KUBECONFIG with
NEAM_TEST_CLUSTER=existing).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client
from neam_operator.builders import clawagent as b
from neam_operator.builders.common import Owner
from neam_operator.models import ClawAgentSpec
from neam_operator.program import CompiledClaw, compile_claw
from neam_operator.settings import Settings

from bench.cluster import bench_cluster
from tests.support.operator_harness import install_crds, running_operator

NS = "bench-claw"
APPLY_RUNS = 15
UPDATE_RUNS = 8
REPLICAS = 3
POLL = 0.02
PROGRAM = """
claw agent support_bot {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You help customers, version VERSION."
}
"""


def _program(version: int) -> str:
    return PROGRAM.replace("VERSION", str(version))


def _until(check: Callable[[], bool], timeout: float = 300.0) -> float:
    """Seconds until ``check()`` holds (polled every 20 ms)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(POLL)
    return time.monotonic() - start


class Cluster:
    def __init__(self, api: client.ApiClient) -> None:
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.crd = client.CustomObjectsApi(api)

    def configmap(self, name: str, text: str) -> None:
        body = {"metadata": {"name": name}, "data": {"main.neam": text}}
        try:
            self.core.replace_namespaced_config_map(name, NS, body)
        except client.ApiException as e:
            if e.status != 404:
                raise
            self.core.create_namespaced_config_map(NS, body)

    def claw_ready(self, name: str, program_hash: str | None = None) -> bool:
        obj = self.crd.get_namespaced_custom_object("neam.dev", "v1alpha1", NS, "clawagents", name)
        status = obj.get("status") or {}
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
        )
        return ready and (program_hash is None or status.get("programHash") == program_hash)

    def rolled_out(self, name: str) -> bool:
        dep = self.apps.read_namespaced_deployment(name, NS)
        st, want = dep.status, dep.spec.replicas
        return (
            (st.observed_generation or 0) >= dep.metadata.generation
            and (st.updated_replicas or 0) == want
            and (st.replicas or 0) == want
            and (st.available_replicas or 0) >= want
        )


def _clawagent(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ClawAgent",
        "metadata": {"name": name},
        "spec": {
            "source": {"configMapRef": {"name": f"{name}-src"}},
            "replicas": replicas,
            "sessions": {"accessMode": "ReadWriteMany"},
        },
    }


def _baseline(name: str, program: CompiledClaw, replicas: int) -> list[dict[str, Any]]:
    """What the operator would create for a ClawAgent ``name``, without an owner."""
    owner = Owner("ClawAgent", name, NS, "none")
    spec = ClawAgentSpec.model_validate(_clawagent(name, replicas)["spec"])
    names = b.ClawNames.of(name, spec)
    settings = Settings.from_env({})
    objs = [
        b.program_configmap(owner, program.neamb, program.program_hash),
        b.sessions_pvc(owner, names, spec, settings),
        b.deployment(owner, names, spec, program.program_hash, settings),
    ]
    for obj in objs:
        assert obj is not None
        obj["metadata"].pop("ownerReferences")
    return [o for o in objs if o is not None]


def _create(cluster: Cluster, obj: dict[str, Any]) -> None:
    kind = obj["kind"]
    if kind == "ConfigMap":
        cluster.core.create_namespaced_config_map(NS, obj)
    elif kind == "PersistentVolumeClaim":
        cluster.core.create_namespaced_persistent_volume_claim(NS, obj)
    else:
        cluster.apps.create_namespaced_deployment(NS, obj)


def main() -> None:
    compiled = [compile_claw(_program(v), "main.neam", None) for v in range(UPDATE_RUNS + 1)]
    programs = [c for c in compiled if isinstance(c, CompiledClaw)]
    assert len(programs) == len(compiled)
    with bench_cluster() as kube, tempfile.TemporaryDirectory() as logs:
        install_crds(kube)
        kube.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true")
        kube.kubectl("create", "namespace", NS)
        cluster = Cluster(kube.api_client())
        claw_apply, base_apply, claw_update, base_update = [], [], [], []
        with running_operator(kube, Path(logs)):
            # 1. apply -> available, interleaved.
            for i in range(APPLY_RUNS):
                name = f"claw-{i}"
                start = time.monotonic()
                cluster.configmap(f"{name}-src", _program(0))
                cluster.crd.create_namespaced_custom_object(
                    "neam.dev", "v1alpha1", NS, "clawagents", _clawagent(name, 1)
                )
                _until(lambda n=name: cluster.claw_ready(n))
                claw_apply.append(time.monotonic() - start)
                base = f"base-{i}"
                start = time.monotonic()
                for obj in _baseline(base, programs[0], 1):
                    _create(cluster, obj)
                _until(lambda n=f"{base}-api": cluster.rolled_out(n))
                base_apply.append(time.monotonic() - start)
            # 2. program update -> all pods on the new hash.
            cluster.configmap("upd-src", _program(0))
            cluster.crd.create_namespaced_custom_object(
                "neam.dev", "v1alpha1", NS, "clawagents", _clawagent("upd", REPLICAS)
            )
            _until(lambda: cluster.claw_ready("upd", programs[0].program_hash))
            for obj in _baseline("baseupd", programs[0], REPLICAS):
                _create(cluster, obj)
            _until(lambda: cluster.rolled_out("baseupd-api"))
            for v in range(1, UPDATE_RUNS + 1):
                want = programs[v].program_hash
                start = time.monotonic()
                cluster.configmap("upd-src", _program(v))
                _until(lambda h=want: cluster.claw_ready("upd", h))
                claw_update.append(time.monotonic() - start)
                start = time.monotonic()
                cluster.apps.patch_namespaced_deployment(
                    "baseupd-api",
                    NS,
                    {"spec": {"template": {"metadata": {"annotations": {b.PROGRAM_HASH: want}}}}},
                )
                _until(lambda: cluster.rolled_out("baseupd-api"))
                base_update.append(time.monotonic() - start)
        kube.kubectl("delete", "namespace", NS, "--wait=false", check=False)

    def report(what: str, claw: list[float], base: list[float]) -> None:
        c, p = statistics.median(claw), statistics.median(base)
        print(
            f"{what}: ClawAgent median {c * 1000:.0f} ms (max {max(claw) * 1000:.0f}), "
            f"plain Deployment median {p * 1000:.0f} ms, ratio {c / p:.2f} (n={len(claw)})"
        )

    report("apply -> available", claw_apply, base_apply)
    report(f"program update -> {REPLICAS} pods on the new hash", claw_update, base_update)


if __name__ == "__main__":
    main()
