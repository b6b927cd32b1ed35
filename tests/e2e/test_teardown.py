"""``hack/e2e.sh down`` after a crash restores the host: no process, mount, cgroup,
firewall chain or runtime directory of the e2e cluster is left. The cluster is
brought up again afterwards for the rest of the session."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.support import e2e
from tests.support.cluster import ClusterHandle, cluster_processes

# Created by the kubelet or containerd whatever their configuration says.
HOST_PATHS = ("/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/var/lib/cni")


def _pods_running() -> list[int]:
    """PIDs of processes in the kubelet's pod cgroups."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if "/kubepods" in (proc / "cgroup").read_text():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _processes_naming(path: Path) -> list[int]:
    """PIDs of processes with ``path`` in their command line (the containerd shims
    carry this containerd's socket path)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if str(path).encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _kube_chains() -> list[str]:
    chains = []
    for tool in ("iptables-save", "ip6tables-save"):
        result = subprocess.run([tool], capture_output=True, text=True, check=False)
        chains += [line for line in result.stdout.splitlines() if "KUBE-" in line]
    return chains


def test_down_after_a_crash_restores_the_host(kube: ClusterHandle) -> None:
    state = e2e.state_dir()
    created = (state / "created-host-paths").read_text().split()
    assert _pods_running(), "the operator pod should be running before the crash"
    assert _processes_naming(state / "containerd" / "containerd.sock"), "no shim found"
    # The crash: the kubelet and containerd die; the pods' processes and shims live on.
    for name in ("kubelet", "containerd"):
        os.kill(int((state / "run" / f"{name}.pid").read_text()), signal.SIGKILL)
    try:
        e2e.down()
        assert cluster_processes("neam-e2e") == []
        assert _pods_running() == []
        assert _processes_naming(state) == []
        mounts = Path("/proc/mounts").read_text()
        assert str(state) not in mounts and "/kubepods" not in mounts
        assert not list(Path("/sys/fs/cgroup").glob("*/kubepods"))
        assert not state.exists()
        assert [p for p in HOST_PATHS if p in created and Path(p).exists()] == []
        assert _kube_chains() == []
    finally:
        e2e.up()
