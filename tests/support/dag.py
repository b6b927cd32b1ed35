"""AgentDAG helpers shared by the cluster and e2e tiers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import finish_pod, get_json, wait_for

Status = dict[str, Any]


def agentdag(ns: str, name: str, nodes: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "AgentDAG",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"nodes": nodes, **spec},
    }


def dag_node(id_: str, agent: str, *deps: str, **extra: Any) -> dict[str, Any]:
    """A node whose task is ``do <id>``."""
    return {"id": id_, "agent": agent, "task": f"do {id_}", "dependsOn": list(deps), **extra}


def dag_status(kube: ClusterHandle, ns: str, name: str) -> Status:
    return (get_json(kube, "agentdag", name, "-n", ns) or {}).get("status") or {}


def wait_dag(
    kube: ClusterHandle,
    ns: str,
    name: str,
    what: str,
    check: Callable[[Status], Any],
    timeout: float = 90,
) -> Status:
    """The status once ``check(status)`` holds; a timeout shows the last status."""

    def probe() -> Status | None:
        st = dag_status(kube, ns, name)
        return st if check(st) else None

    try:
        return wait_for(probe, f"AgentDAG {name}: {what}", timeout=timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; status: {json.dumps(dag_status(kube, ns, name))}") from None


def finish_node(
    kube: ClusterHandle, ns: str, dag: str, node_id: str, result: str, cost: str = "0.001"
) -> None:
    """End a node whose pod no node runs as the pod would: the result in its ConfigMap,
    then the pod done."""
    patch = {"data": {"result": result, "outcome": "completed", "cost": cost}}
    kube.kubectl(
        "patch", "configmap", f"{dag}-result-{node_id}", "-n", ns,
        "--type=merge", "-p", json.dumps(patch),
    )  # fmt: skip
    message = {"outcome": "completed", "cost": cost, "message": result}
    finish_pod(kube, ns, f"{dag}-node-{node_id}", 0, message, container="node")


def node_phases(st: Status) -> dict[str, str]:
    return {n["id"]: n["phase"] for n in st.get("nodes") or []}
