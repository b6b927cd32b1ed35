"""A run whose pod never starts fails after the configured time, with the reason."""

from __future__ import annotations

from pathlib import Path

from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import (
    condition,
    events,
    running_operator,
    scratch_namespace,
    start,
    wait_phase,
)


def test_a_run_pending_too_long_fails_with_its_pods_reason(
    kube: ClusterHandle, tmp_path: Path
) -> None:
    with scratch_namespace(kube, "pending") as ns:
        settings = {"NEAM_PENDING_TIMEOUT_SECONDS": "4"}
        with running_operator(kube, tmp_path, ("--namespace", ns), env=settings):
            start(kube, ns, "stuck", workspace={"existingClaim": "nowhere"})
            st = wait_phase(kube, ns, "stuck", "Failed")
    assert st["reason"] == "Unschedulable"
    assert st["message"].startswith("still Unschedulable after 4s: ")
    assert 'persistentvolumeclaim "nowhere" not found' in st["message"]
    assert condition(st, "Stalled")["status"] == "True" and st["completionTime"]
    reasons = [e["reason"] for e in events(kube, ns, "stuck") if e["type"] == "Warning"]
    assert reasons.count("Unschedulable") == 2  # waiting, then failed
