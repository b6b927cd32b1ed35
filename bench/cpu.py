"""CPU time of the processes a benchmark compares: less sensitive than wall time to
other work on a shared machine, and it adds up across components."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cluster import ClusterHandle, cluster_processes

TICKS = os.sysconf("SC_CLK_TCK")
# The control plane's components whose CPU time the benchmarks report, by short name.
SHORT = {
    "kube-apiserver": "apiserver",
    "etcd": "etcd",
    "kube-controller-manager": "kcm",
    "kube-scheduler": "scheduler",
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def components(kube: ClusterHandle) -> dict[str, int]:
    """PIDs of a local cluster's components by binary name (kube-apiserver, etcd,
    kube-controller-manager, ...); empty for a cluster this machine did not start."""
    out = {}
    for pid in cluster_processes(kube.kubeconfig.parent.name):
        try:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        out.setdefault(Path(argv0.decode()).name, pid)
    return out


def control_plane(kube: ClusterHandle) -> dict[str, int]:
    """PIDs of the local cluster's API server, etcd, controller manager and scheduler,
    by short name (``apiserver``, ``etcd``, ``kcm``, ``scheduler``)."""
    return {SHORT[k]: v for k, v in components(kube).items() if k in SHORT}


def cpu_times(pids: dict[str, int]) -> dict[str, float]:
    """``cpu_seconds`` of each named PID."""
    return {name: cpu_seconds(pid) for name, pid in pids.items()}
