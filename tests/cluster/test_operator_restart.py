"""A restarted operator converges without duplicating Jobs, and recreates a Job
deleted while it was down."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from neam_operator.conditions import UNOBSERVED

from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import (
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    forgerun,
    get_json,
    install_crds,
    run_status,
    scratch_namespace,
    start_running,
    wait_for,
)


@pytest.fixture
def ns(kube: ClusterHandle) -> Iterator[str]:
    install_crds(kube)
    with scratch_namespace(kube, "rs") as name:
        yield name


def _job_uids(kube: ClusterHandle, ns: str) -> dict[str, list[str]]:
    """Job uids per owning run."""
    out: dict[str, list[str]] = {}
    for job in get_json(kube, "jobs", "-n", ns)["items"]:
        (ref,) = job["metadata"]["ownerReferences"]
        out.setdefault(ref["name"], []).append(job["metadata"]["uid"])
    return out


def test_restart_without_duplicates(kube: ClusterHandle, ns: str, tmp_path: Path) -> None:
    op = OperatorProcess(kube, tmp_path)
    op.start()
    try:
        for name in ("one", "two", "three"):
            start_running(kube, ns, name)
        before = _job_uids(kube, ns)
        op.stop()

        # While the operator is down: a Job is deleted and a new run is applied.
        kube.kubectl("delete", "job", "two-forge", "-n", ns, "--wait=true")
        apply(kube, forgerun(ns, "four", resources=UNSCHEDULABLE))

        op.start()
        wait_for(lambda: get_json(kube, "job", "four-forge", "-n", ns), "the new run's Job")
        wait_for(lambda: get_json(kube, "job", "two-forge", "-n", ns), "the deleted Job back")
        op.stop()
        op.start()  # a second restart re-delivers every object once more
        wait_for(
            lambda: run_status(kube, ns, "four").get("reason") == "Unschedulable",
            "four waiting for a node",
        )

        after = _job_uids(kube, ns)
        assert all(len(uids) == 1 for uids in after.values()), after
        assert sorted(after) == ["four", "one", "three", "two"]
        assert after["one"] == before["one"] and after["three"] == before["three"]
        assert after["two"] != before["two"]
    finally:
        op.stop()


def test_namespace_restriction(kube: ClusterHandle, ns: str, tmp_path: Path) -> None:
    """``--namespace`` limits the operator to the named namespaces."""
    other = f"rs-{secrets.token_hex(4)}"
    kube.kubectl("create", "namespace", other)
    try:
        op = OperatorProcess(kube, tmp_path, ("--namespace", ns))
        op.start()
        try:
            apply(kube, forgerun(other, "ignored", resources=UNSCHEDULABLE))
            start_running(kube, ns, "watched")
            assert run_status(kube, other, "ignored") == UNOBSERVED  # the CRD default only
            assert get_json(kube, "jobs", "-n", other)["items"] == []
        finally:
            op.stop()
    finally:
        kube.kubectl("delete", "namespace", other, "--wait=false", check=False)
