"""Flux's source-controller and kustomize-controller next to a test cluster.

The controllers are built from their Go modules by ``hack/cluster-binaries.sh flux``
(``make flux-binaries``), together with their CRDs from the same module versions. They
run as processes of the test session with the cluster's kubeconfig, as any controller
may; everything they serve binds 127.0.0.1: the health probes on free ports, and
source-controller's artifact server, from which kustomize-controller downloads the
revisions it applies. Metrics are off and leader election is not used.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cluster import ClusterHandle, binary_dirs
from tests.support.operator_harness import condition, free_port, get_json, wait_for

NAMESPACE = "flux-system"
KINDS = ("kustomizations.kustomize.toolkit.fluxcd.io", "gitrepositories.source.toolkit.fluxcd.io")
# How soon a Kustomization waiting for a dependency looks again (Flux's default: 30 s).
REQUEUE_DEPENDENCY = "5s"


class FluxError(RuntimeError):
    """The controllers are missing or did not start."""


@dataclass
class Controller:
    name: str
    proc: subprocess.Popen[bytes]
    health_port: int
    log: Path

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise FluxError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
        try:
            url = f"http://127.0.0.1:{self.health_port}/readyz"
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _binary(key: str, name: str) -> Path:
    path = binary_dirs()[key] / name
    if not os.access(path, os.X_OK):
        raise FluxError(f"{path} is missing: run 'make flux-binaries'")
    return path


def crd_files() -> list[Path]:
    """The CRDs of both controllers, as the build copied them from their modules."""
    files = []
    for key, name in (
        ("FLUX_SOURCE_BIN_DIR", "source-controller"),
        ("FLUX_KUSTOMIZE_BIN_DIR", "kustomize-controller"),
    ):
        _binary(key, name)
        files += sorted((binary_dirs()[key] / "crds").glob("*.yaml"))
    return files


def _start(kube: ClusterHandle, state: Path, name: str, binary: Path, *args: str) -> Controller:
    port = free_port()
    env = dict(kube.env)
    env.update(KUBECONFIG=str(kube.kubeconfig), RUNTIME_NAMESPACE=NAMESPACE)
    env["NO_PROXY"] = ",".join(filter(None, ["127.0.0.1", "localhost", env.get("NO_PROXY")]))
    log = state / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "--metrics-addr=0", f"--health-addr=127.0.0.1:{port}", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Controller(name, proc, port, log)


@contextmanager
def flux_controllers(kube: ClusterHandle, state: Path) -> Iterator[list[Controller]]:
    """Flux's CRDs and both controllers, ready; afterwards every Flux object is
    deleted (while the controllers still run their finalizers), then the controllers
    are stopped and the CRDs and namespace removed."""
    crds = crd_files()
    source_bin = _binary("FLUX_SOURCE_BIN_DIR", "source-controller")
    kustomize_bin = _binary("FLUX_KUSTOMIZE_BIN_DIR", "kustomize-controller")
    crd_args = [arg for path in crds for arg in ("-f", str(path))]
    kube.kubectl("apply", "--server-side", "--force-conflicts", *crd_args)
    kube.kubectl("wait", "--for=condition=Established", "--timeout=60s", *crd_args)
    kube.kubectl("create", "namespace", NAMESPACE, check=False)
    artifacts = state / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    storage = free_port()
    controllers: list[Controller] = []
    try:
        controllers.append(
            _start(
                kube, state, "source-controller", source_bin,
                f"--storage-path={artifacts}",
                f"--storage-addr=127.0.0.1:{storage}",
                f"--storage-adv-addr=127.0.0.1:{storage}",
            )
        )  # fmt: skip
        controllers.append(
            _start(
                kube, state, "kustomize-controller", kustomize_bin,
                f"--requeue-dependency={REQUEUE_DEPENDENCY}",
            )
        )  # fmt: skip
        for controller in controllers:
            wait_for(controller.ready, f"{controller.name} to be ready", timeout=120)
        yield controllers
    finally:
        try:
            for kind in KINDS:
                kube.kubectl("delete", kind, "--all", "-A", "--timeout=180s", check=False)
        finally:
            for controller in controllers:
                controller.stop()
            kube.kubectl("delete", "--ignore-not-found", "--timeout=120s", *crd_args, check=False)
            kube.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def request_reconcile(kube: ClusterHandle, kind: str, name: str, ns: str = NAMESPACE) -> None:
    """What ``flux reconcile`` does: ask the controller to reconcile now."""
    kube.kubectl(
        "annotate", "--overwrite", "-n", ns, kind, name,
        f"reconcile.fluxcd.io/requestedAt={time.time_ns()}",
    )  # fmt: skip


def flux_object(kube: ClusterHandle, kind: str, name: str, ns: str = NAMESPACE) -> dict[str, Any]:
    return get_json(kube, kind, name, "-n", ns) or {}


def ready(obj: dict[str, Any]) -> dict[str, Any]:
    """The Ready condition of a Flux object (empty if it has none yet)."""
    return condition(obj.get("status") or {}, "Ready")


def wait_ready(
    kube: ClusterHandle, kind: str, name: str, revision: str, timeout: float = 240
) -> dict[str, Any]:
    """The object once it is Ready at ``revision`` (a commit id) for its generation; a
    timeout shows its last status."""
    last: dict[str, Any] = {}

    def probe() -> dict[str, Any] | None:
        nonlocal last
        last = flux_object(kube, kind, name)
        status = last.get("status") or {}
        applied = status.get("lastAppliedRevision") or (status.get("artifact") or {}).get(
            "revision", ""
        )
        current = status.get("observedGeneration") == last["metadata"]["generation"]
        done = ready(last).get("status") == "True" and applied.endswith(revision)
        return last if current and done else None

    try:
        return wait_for(probe, f"{kind} {name} Ready at {revision}", timeout=timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; status: {json.dumps(last.get('status'))}") from None
