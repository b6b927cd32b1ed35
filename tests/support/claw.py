"""ClawAgent helpers shared by the cluster and e2e tiers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import condition, get_json, wait_for

Status = dict[str, Any]


def clawagent(ns: str, name: str, **spec: Any) -> dict[str, Any]:
    """A ClawAgent manifest; the source defaults to the ConfigMap ``<name>-src``."""
    spec.setdefault("source", {"configMapRef": {"name": f"{name}-src"}})
    return {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ClawAgent",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def claw_status(kube: ClusterHandle, ns: str, name: str) -> Status:
    return (get_json(kube, "clawagent", name, "-n", ns) or {}).get("status") or {}


def wait_claw(
    kube: ClusterHandle,
    ns: str,
    name: str,
    what: str,
    check: Callable[[Status], Any],
    timeout: float = 120,
) -> Status:
    """The status once ``check(status)`` holds; a timeout shows the last status."""

    def probe() -> Status | None:
        st = claw_status(kube, ns, name)
        return st if check(st) else None

    try:
        return wait_for(probe, f"ClawAgent {name}: {what}", timeout=timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; status: {json.dumps(claw_status(kube, ns, name))}") from None


def ready(st: Status) -> bool:
    return condition(st, "Ready").get("status") == "True"


def rolled_out_to(program_hash: str) -> Callable[[Status], bool]:
    return lambda st: ready(st) and st.get("programHash") == program_hash


def served_hash(deployment: dict[str, Any]) -> str:
    """The program hash a ClawAgent's Deployment serves."""
    return deployment["spec"]["template"]["metadata"]["annotations"]["neam.dev/program-hash"]
