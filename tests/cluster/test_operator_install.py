"""The install manifests on the real API server, and the operator running with exactly
the permissions of manifests/rbac.yaml (a TokenRequest token for its service account)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.claw import clawagent, ready, wait_claw
from tests.support.cluster import REPO_ROOT, ClusterHandle
from tests.support.dag import agentdag, dag_node
from tests.support.kubeconfigs import cluster_entry, write_kubeconfig
from tests.support.operator_harness import (
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    finish_pod,
    get_json,
    run_pod,
    scratch_namespace,
    start,
    wait_for,
    wait_phase,
)

CLAW = """
claw agent helper {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Help."
}

fun done(ctx) { return true; }

forge agent builder {
  provider: "openai"
  model: "gpt-4o-mini"
  verify: done
}
"""


@pytest.fixture
def ns(installed: ClusterHandle) -> Iterator[str]:
    with scratch_namespace(installed, "inst") as name:
        yield name


def _operator_kubeconfig(kube: ClusterHandle, tmp_path: Path) -> Path:
    """A kubeconfig that authenticates as system:serviceaccount:neam-system:neam-operator."""
    token = kube.kubectl("create", "token", "neam-operator", "-n", "neam-system").stdout.strip()
    out = write_kubeconfig(
        tmp_path / "operator.kubeconfig", cluster_entry(kube.kubeconfig), {"token": token}
    )
    out.chmod(0o600)
    return out


@pytest.mark.parametrize("overlay", ["dev", "staging", "production"])
def test_overlays_are_accepted_by_the_api_server(installed: ClusterHandle, overlay: str) -> None:
    path = REPO_ROOT / "kustomize" / "overlays" / overlay
    installed.kubectl("apply", "--dry-run=server", "-k", str(path))


def test_deployment_is_hardened(installed: ClusterHandle) -> None:
    dep = get_json(installed, "deployment", "neam-operator", "-n", "neam-system")
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert dep["spec"]["replicas"] == 1


def test_operator_runs_with_its_least_privilege_account(
    installed: ClusterHandle, ns: str, tmp_path: Path
) -> None:
    kubeconfig = _operator_kubeconfig(installed, tmp_path)
    as_operator = ClusterHandle.for_kubeconfig(kubeconfig, installed.kubectl_path)
    denied = as_operator.kubectl("get", "secrets", "-n", ns, check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr
    op = OperatorProcess(as_operator, tmp_path)
    op.start()
    try:
        start(
            installed,
            ns,
            "least",
            resources=UNSCHEDULABLE,
            backoffLimit=0,
            ttlSecondsAfterFinished=0,
        )
        run_pod(installed, ns, "least-forge")
        wait_phase(installed, ns, "least", "Running")
        finish_pod(
            installed,
            ns,
            "least-forge",
            0,
            {"outcome": "completed", "iterations": 1, "total_cost": "0.01"},
        )
        wait_for(lambda: get_json(installed, "forgerun", "least", "-n", ns) is None, "TTL deletion")
        # A ClawAgent and an AgentDAG (whose node Role grants patch on its result ConfigMaps,
        # which the operator may only grant because it holds it).
        apply(installed, clawagent(ns, "least-claw", source={"inline": CLAW}))
        wait_claw(installed, ns, "least-claw", "Ready", ready)
        nodes = [dag_node("ask", "helper"), dag_node("build", "builder", run=True)]
        dag = agentdag(ns, "least-dag", nodes, source={"inline": CLAW}, resources=UNSCHEDULABLE)
        apply(installed, dag)
        wait_for(lambda: get_json(installed, "job", "least-dag-node-ask", "-n", ns), "node Job")
        wait_for(lambda: get_json(installed, "forgerun", "least-dag-build", "-n", ns), "run node")
        # RBAC denials read 'is forbidden: User "system:serviceaccount:..." cannot ...'.
        assert "cannot" not in op.log_text(), op.log_text()
    finally:
        op.stop()
