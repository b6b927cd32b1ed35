"""The e2e cluster itself: the operator installed from the dev overlay runs in it,
pods are adapted only where a namespace asks for it, and nothing it started
listens beyond loopback."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from tests.support import e2e
from tests.support.cluster import ClusterHandle, cluster_processes
from tests.support.operator_harness import get_json, scratch_namespace

SOCKET_OWNER = re.compile(r'\("(?P<name>[^"]+)",pid=(?P<pid>\d+)')
LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|\[::1\]|\[::ffff:127\.\d+\.\d+\.\d+\]):\d+$")


def _operator_pod(kube: ClusterHandle) -> dict[str, Any]:
    pods = get_json(kube, "pods", "-n", "neam-system", "-l", "app.kubernetes.io/name=neam-operator")
    (pod,) = [p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]
    return pod


def _cluster_pids() -> set[int]:
    """Every process the e2e cluster started: its control plane, containerd, the
    kubelet, the volume provisioner, the containerd shims and all pod processes."""
    state = e2e.state_dir()
    pids = set(cluster_processes("neam-e2e"))
    pids |= {int(f.read_text()) for f in (state / "run").glob("*.pid")}
    socket = str(state / "containerd" / "containerd.sock").encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cgroups = (proc / "cgroup").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if "/kubepods" in cgroups or socket in cmdline:
            pids.add(int(proc.name))
    return pids


def test_nothing_the_cluster_started_listens_beyond_loopback(kube: ClusterHandle) -> None:
    ours = _cluster_pids()
    listening = subprocess.run(
        ["ss", "-H", "-t", "-u", "-l", "-n", "-p"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    seen: dict[str, set[str]] = {}
    for line in listening:
        fields = line.split()
        local, owners = fields[4], " ".join(fields[6:])
        for owner in SOCKET_OWNER.finditer(owners):
            if int(owner["pid"]) in ours:
                seen.setdefault(owner["name"], set()).add(local)
    exposed = {
        name: sorted(a for a in addrs if not LOOPBACK.match(a)) for name, addrs in seen.items()
    }
    assert {name: addrs for name, addrs in exposed.items() if addrs} == {}
    # The check saw the servers it is about: the pod's too (the operator's liveness port).
    assert {"kube-apiserver", "etcd", "kubelet", "containerd", "neam-operator"} <= set(seen), seen


def test_the_operator_runs_in_the_cluster_from_the_dev_overlay(kube: ClusterHandle) -> None:
    deploy = get_json(kube, "deployment", "neam-operator", "-n", "neam-system")
    assert deploy["metadata"]["labels"]["app.kubernetes.io/instance"] == "dev"
    assert deploy["status"].get("availableReplicas") == 1
    pod = _operator_pod(kube)
    spec = pod["spec"]
    (container,) = spec["containers"]
    assert container["image"] == "neam-operator:dev"
    assert spec["serviceAccountName"] == "neam-operator"
    assert spec["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The test cluster's adaptation: host network, the API server and every server
    # the product starts on loopback, probes aimed there.
    assert spec["hostNetwork"] is True and spec["nodeName"] == "localhost"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert env["NEAM_OPERATOR_HEALTH_HOST"] == "127.0.0.1"
    assert env["NEAM_OPERATOR_METRICS_HOST"] == "127.0.0.1"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["host"] == "127.0.0.1"
    ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert ready["Ready"] == "True"


def test_new_namespaces_are_labelled_for_real_pods(kube: ClusterHandle) -> None:
    with scratch_namespace(kube, "e2e-plain") as ns:
        labels = get_json(kube, "namespace", ns)["metadata"]["labels"]
    assert labels[e2e.REAL_PODS_LABEL] == "true"


def test_pods_of_opted_out_namespaces_are_refused_with_instructions(kube: ClusterHandle) -> None:
    with scratch_namespace(kube, "e2e-out", **{e2e.REAL_PODS_LABEL: "false"}) as ns:
        refused = kube.kubectl(
            "run", "probe", "-n", ns, "--image=neam-operator:dev", "--restart=Never", check=False
        )
    assert refused.returncode != 0
    assert f"kubectl label namespace {ns} neam.dev/e2e-real-pods=true" in refused.stderr
