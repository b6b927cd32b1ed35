"""Launches before checks: while new runs wait for their launch, a delayed reconcile of a
run already launched does not check its children; once no launch waits, it does.

The ForgeRun reconciler runs in this test's event loop (no operator process in this
module), so the test decides when its launchers start and when a delayed reconcile runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from neam_operator.handlers.forgerun import ForgeRuns
from neam_operator.kube import Kube
from neam_operator.metrics import OperatorMetrics
from neam_operator.settings import Settings

from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import (
    UNSCHEDULABLE,
    apply,
    forgerun,
    get_json,
    install_crds,
    new_name,
    scratch_namespace,
)


@pytest.fixture(scope="module")
def ns(kube: ClusterHandle) -> Iterator[str]:
    install_crds(kube)
    with scratch_namespace(kube, "checks") as name:
        yield name


@pytest.fixture
async def runs(kube: ClusterHandle) -> AsyncIterator[ForgeRuns]:
    client = await Kube.connect(str(kube.kubeconfig))
    settings = Settings.from_env({"NEAM_RUNTIME_IMAGE": "neam-test:0"})
    reconciler = ForgeRuns(client, settings, OperatorMetrics())
    try:
        yield reconciler
    finally:
        await reconciler.close()
        await client.close()


async def exists(kube: ClusterHandle, *args: str) -> bool:
    """Poll without blocking the event loop (the launchers run in it) for up to 60 s."""
    for _ in range(600):
        if get_json(kube, *args) is not None:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_children_are_checked_only_when_no_launch_waits(
    kube: ClusterHandle, ns: str, runs: ForgeRuns
) -> None:
    launched, waiting = new_name("launched"), new_name("waiting")
    apply(kube, forgerun(ns, launched, resources=UNSCHEDULABLE))
    await runs.reconcile((ns, launched))  # a reconcile without an event reads and launches
    assert get_json(kube, "job", f"{launched}-forge", "-n", ns) is not None
    account = f"{launched}-reporter"
    kube.kubectl("delete", "serviceaccount", account, "-n", ns)

    apply(kube, forgerun(ns, waiting, resources=UNSCHEDULABLE))
    seen = get_json(kube, "forgerun", waiting, "-n", ns)
    await runs.reconcile((ns, waiting), seen)  # a new run: queued, no launcher runs yet
    await runs.resync((ns, launched))
    assert get_json(kube, "serviceaccount", account, "-n", ns) is None

    runs.start()
    assert await exists(kube, "job", f"{waiting}-forge", "-n", ns)
    await runs.resync((ns, launched))
    assert get_json(kube, "serviceaccount", account, "-n", ns) is not None
