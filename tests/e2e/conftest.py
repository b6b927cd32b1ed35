"""Fixtures for the e2e tier: real pods on the e2e cluster (``hack/e2e.sh``).

The session brings the cluster up when it is not (and takes it down again at the
end, restoring the host), or uses the one that is up, refreshing its image and
operator. It needs root on Linux; elsewhere the tier is skipped with the reason,
unless ``NEAM_E2E_REQUIRED`` is set (CI), which makes that a failure.
``NEAM_E2E_KEEP=1`` leaves a cluster the session started running afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from tests.support import e2e
from tests.support.cluster import ClusterHandle
from tests.support.llm_stubs import LLMStub
from tests.support.operator_harness import scratch_namespace


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kube() -> Iterator[ClusterHandle]:
    """The e2e cluster, with the operator running in it."""
    reason = e2e.unsupported_reason()
    if reason:
        if os.environ.get("NEAM_E2E_REQUIRED"):
            pytest.fail(f"e2e tier cannot run: {reason} (NEAM_E2E_REQUIRED is set)")
        pytest.skip(f"e2e tier: {reason}")
    started = not e2e.is_up()
    handle = e2e.up()
    try:
        yield handle
    finally:
        if started and not os.environ.get("NEAM_E2E_KEEP"):
            e2e.down()


@pytest.fixture
def namespace(kube: ClusterHandle) -> Iterator[str]:
    """A throwaway namespace whose pods run on the real node."""
    with scratch_namespace(kube, "e2e", **{e2e.REAL_PODS_LABEL: "true"}) as name:
        yield name


@pytest.fixture
def llm() -> Iterator[LLMStub]:
    """An OpenAI-compatible stub on 127.0.0.1 that pods reach over the host network;
    it answers only requests carrying its (random) key."""
    with LLMStub("openai", api_key=f"sk-e2e-{secrets.token_hex(16)}") as stub:
        yield stub
