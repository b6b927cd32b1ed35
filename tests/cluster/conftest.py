"""Fixtures for the cluster tier: a real control plane per test session.

``NEAM_TEST_CLUSTER`` picks the backend:

- ``kwok`` (default): start a uniquely named local kwokctl cluster from the
  binaries in ``$NEAM_CACHE_DIR`` and delete it when the session ends.
- ``existing``: use the cluster in ``$KUBECONFIG``; nothing is started or deleted.
- ``kind``: a throwaway kind cluster via pytest-kind; skipped unless kind and a
  Docker engine are available.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.cluster import (
    REPO_ROOT,
    ClusterHandle,
    existing_cluster,
    kind_cluster,
    kind_unavailable_reason,
    local_cluster,
)
from tests.support.operator_harness import OperatorProcess, install_crds, running_operator

BACKENDS = ("kwok", "existing", "kind")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/cluster needs the control plane."""
    for item in items:
        if "tests/cluster/" in item.nodeid:
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def kube() -> Iterator[ClusterHandle]:
    """The control plane for this session (see the module docstring)."""
    backend = os.environ.get("NEAM_TEST_CLUSTER", "kwok")
    if backend == "existing":
        yield existing_cluster()
    elif backend == "kind":
        reason = kind_unavailable_reason()
        if reason:
            pytest.skip(f"NEAM_TEST_CLUSTER=kind: {reason}")
        with kind_cluster() as handle:
            yield handle
    elif backend == "kwok":
        with local_cluster() as handle:
            yield handle
    else:
        raise pytest.UsageError(f"NEAM_TEST_CLUSTER={backend!r}: expected one of {BACKENDS}")


@pytest.fixture(scope="module")
def operator(
    kube: ClusterHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The CRDs installed and one neam-operator (all namespaces) per test module.

    A module that needs other operator flags defines its own ``operator`` fixture.
    """
    install_crds(kube)
    with running_operator(kube, tmp_path_factory.mktemp("operator")) as op:
        yield op


@pytest.fixture(scope="module")
def installed(kube: ClusterHandle) -> ClusterHandle:
    """The CRDs and the operator's service account with its RBAC, as the install applies
    them (``manifests/``): for tests that run the operator as that account."""
    install_crds(kube)
    kube.kubectl("apply", "-k", str(REPO_ROOT / "manifests"))
    return kube
