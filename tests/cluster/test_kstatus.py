"""kstatus (what Flux's health checks compute) on the real API server: a resource the
operator has not reported on yet must not read as current. kstatus takes an object
without status, or whose ``observedGeneration`` equals its generation and that has no
Reconciling/Stalled condition, for a current one; the CRDs' status default makes a new
object read ``observedGeneration: -1`` instead. No operator runs in this module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.claw import clawagent
from tests.support.cluster import ClusterHandle
from tests.support.dag import agentdag, dag_node
from tests.support.operator_harness import (
    apply,
    forgerun,
    get_json,
    install_crds,
    scratch_namespace,
)


@pytest.fixture
def ns(kube: ClusterHandle) -> Iterator[str]:
    install_crds(kube)
    with scratch_namespace(kube, "kstatus") as name:
        yield name


def test_a_new_resource_reads_as_not_yet_observed(kube: ClusterHandle, ns: str) -> None:
    source = {"configMapRef": {"name": "not-there-yet"}}
    apply(
        kube,
        forgerun(ns, "run", source=source),
        clawagent(ns, "claw", source=source),
        agentdag(ns, "dag", [dag_node("a", "helper")], source=source),
    )
    for kind, name in (("forgerun", "run"), ("clawagent", "claw"), ("agentdag", "dag")):
        body = get_json(kube, kind, name, "-n", ns)
        assert body["metadata"]["generation"] == 1
        assert body["status"] == {"observedGeneration": -1}, kind
