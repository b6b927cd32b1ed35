"""AgentDAG helpers shared by the cluster and e2e tiers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import get_json, wait_for

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


def node_phases(st: Status) -> dict[str, str]:
    return {n["id"]: n["phase"] for n in st.get("nodes") or []}
