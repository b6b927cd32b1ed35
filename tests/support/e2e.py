"""The e2e cluster (``hack/e2e.sh``): real pods on a real kubelet, the operator in it.

Pods there share the host's network, so everything they serve or dial is on
127.0.0.1, and a ForgeRun's workspace is a ``local`` PersistentVolume whose
directory this host can read.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Any

from tests.support.cluster import HACK_DIR, ClusterHandle, binary_dirs, cache_dir
from tests.support.operator_harness import get_json

SCRIPT = HACK_DIR / "e2e.sh"
# Namespaces whose pods the cluster adapts to the real node carry this label.
REAL_PODS_LABEL = "neam.dev/e2e-real-pods"


class E2EError(RuntimeError):
    """The e2e cluster could not be brought up or down."""


def state_dir() -> Path:
    return cache_dir() / "e2e"


def _script(action: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", str(SCRIPT), action], text=True, capture_output=True, check=False
    )
    if check and result.returncode != 0:
        raise E2EError(
            f"hack/e2e.sh {action} exited {result.returncode}; logs in "
            f"{state_dir() / 'logs'}\n{result.stdout}{result.stderr}"
        )
    return result


def unsupported_reason() -> str | None:
    """Why the e2e tier cannot run on this machine, or None."""
    result = _script("preflight", check=False)
    return (result.stdout.strip() or "unsupported") if result.returncode else None


def is_up() -> bool:
    return _script("status", check=False).returncode == 0


def up() -> ClusterHandle:
    """Start the cluster (or refresh the image and operator of a running one)."""
    _script("up")
    return handle()


def down() -> None:
    _script("down")


def handle() -> ClusterHandle:
    """A handle on the running e2e cluster, from ``hack/e2e.sh env``."""
    exports = {}
    for line in _script("env").stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        exports[name] = shlex.split(value)[0] if value else ""
    kubectl = binary_dirs()["KUBE_BIN_DIR"] / "kubectl"
    return ClusterHandle.for_kubeconfig(Path(exports["KUBECONFIG"]), kubectl)


def workspace_dir(kube: ClusterHandle, ns: str, run_status: dict[str, Any]) -> Path:
    """The host directory behind a run's workspace claim (a local PV of this node)."""
    claim = get_json(kube, "pvc", run_status["children"]["workspace"], "-n", ns)
    assert claim and claim["spec"].get("volumeName"), f"workspace claim not bound: {claim}"
    volume = get_json(kube, "pv", claim["spec"]["volumeName"])
    return Path(volume["spec"]["local"]["path"])


def git(workspace: Path, *args: str) -> str:
    """git in a workspace owned by the pod's user (root trusts it explicitly)."""
    return subprocess.run(
        ["git", "-c", f"safe.directory={workspace}", "-C", str(workspace), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
