"""Argo Workflows' workflow-controller, run as a host process against a bench cluster.

``hack/argo-binaries.sh`` builds it from its Go module into ``$NEAM_CACHE_DIR`` (with
its health server bound to 127.0.0.1) and puts the release's CRDs next to it. Here it
runs single-instance (no leader election), with its metrics server off, on the
kubeconfig of the cluster under test; pods never run, so the executor image is a name
only.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.cluster import HACK_DIR, ClusterHandle, cache_dir
from tests.support.operator_harness import apply, free_port, wait_for

CONTROLLER_CONFIG = "workflow-controller-configmap"


def binary_dir() -> Path:
    """Where hack/argo-binaries.sh puts the pinned release's controller and CRDs."""
    env = {**os.environ, "NEAM_CACHE_DIR": str(cache_dir())}
    out = subprocess.run(
        ["bash", str(HACK_DIR / "argo-binaries.sh"), "--print-dirs"],
        env=env,
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    key, _, value = out.strip().partition("=")
    assert key == "ARGO_BIN_DIR", out
    return Path(shlex.split(value)[0])


def available() -> bool:
    """Whether the controller was built (``make argo-binaries``)."""
    return os.access(binary_dir() / "workflow-controller", os.X_OK)


def install(kube: ClusterHandle, namespace: str) -> None:
    """The release's CRDs, and the controller's ConfigMap (metrics server off) in
    ``namespace``."""
    crds = str(binary_dir() / "crds")
    kube.kubectl("apply", "--server-side", "-f", crds)
    kube.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", crds)
    off = "enabled: false\n"
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONTROLLER_CONFIG, "namespace": namespace},
        "data": {"metricsConfig": off, "telemetryConfig": off},
    }
    apply(kube, config)


@contextmanager
def running_controller(
    kube: ClusterHandle, namespace: str, log_file: Path, qps: int = 20, burst: int = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """The controller with client limits ``qps``/``burst`` (its defaults: 20/30),
    reading its ConfigMap from ``namespace``; ready once its health check answers."""
    port = free_port()
    env = {**os.environ, "LEADER_ELECTION_DISABLE": "true", "ARGO_HEALTH_PORT": str(port)}
    command = [
        str(binary_dir() / "workflow-controller"),
        f"--kubeconfig={kube.kubeconfig}",
        f"--namespace={namespace}",
        f"--configmap={CONTROLLER_CONFIG}",
        "--executor-image=argoexec:bench",
        f"--qps={qps}",
        f"--burst={burst}",
        "--loglevel=warn",
    ]
    with log_file.open("wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"workflow-controller exited {proc.returncode}; see {log_file}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, "the workflow-controller's health check", timeout=60)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
