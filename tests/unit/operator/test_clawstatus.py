"""ClawAgent status derivation: phases, rollout conditions and kstatus."""

from __future__ import annotations

from typing import Any

from neam_operator import clawstatus as cs
from neam_operator.conditions import find

NOW = "2026-01-01T00:00:10Z"
IDENTITY = {"selector": "a=b", "endpoint": "http://support-api.ns.svc:8080"}
EXTRA = [cs.auth_condition(True), cs.sessions_condition(1, ["ReadWriteOnce"])]


def _deployment(desired: int = 1, generation: int = 2, **status: Any) -> dict[str, Any]:
    status.setdefault("observedGeneration", generation)
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": desired, "template": {"metadata": {"annotations": {"h": "old"}}}},
        "status": status,
    }


def _observe(deployment: dict[str, Any]) -> dict[str, Any]:
    return cs.observe({}, 3, deployment, "abc", ["support_bot"], IDENTITY, EXTRA, NOW)


def _cond(out: dict[str, Any], type_: str) -> tuple[str, str]:
    c = find(out["conditions"], type_)
    assert c is not None, type_
    return c["status"], c["reason"]


def test_ready_when_every_pod_runs_the_program() -> None:
    out = _observe(
        _deployment(2, replicas=2, updatedReplicas=2, readyReplicas=2, availableReplicas=2)
    )
    assert out["phase"] == "Ready" and out["ready"] == "2/2"
    assert (out["replicas"], out["readyReplicas"]) == (2, 2)
    assert out["programHash"] == "abc" and out["agents"] == ["support_bot"]
    assert out["endpoint"] == IDENTITY["endpoint"] and out["observedGeneration"] == 3
    assert _cond(out, "Ready") == ("True", "Ready")
    assert _cond(out, "Progressing") == ("False", "RolloutComplete")
    assert _cond(out, "Reconciling")[0] == "False" and _cond(out, "Stalled")[0] == "False"
    assert _cond(out, "Compiled") == ("True", "Compiled")
    assert _cond(out, "Authenticated") == ("True", "APIKey")


def test_rolling_out_keeps_serving_and_is_reconciling() -> None:
    rolling = _deployment(1, replicas=2, updatedReplicas=1, readyReplicas=1, availableReplicas=1)
    out = _observe(rolling)
    assert out["phase"] == "Ready"  # the old pod still serves
    assert _cond(out, "Progressing") == ("True", "RollingOut")
    assert _cond(out, "Ready")[0] == "False" and _cond(out, "Reconciling")[0] == "True"
    unobserved = _deployment(1, generation=3, observedGeneration=2, replicas=1, updatedReplicas=1)
    assert _cond(_observe(unobserved), "Reconciling")[0] == "True"


def test_pending_degraded_and_failed() -> None:
    assert _observe(_deployment(1, replicas=1))["phase"] == "Pending"
    degraded = _observe(_deployment(3, replicas=3, updatedReplicas=3, readyReplicas=1))
    assert degraded["phase"] == "Degraded" and degraded["ready"] == "1/3"
    stuck = _deployment(
        1,
        replicas=1,
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "x" has timed out progressing.',
            }
        ],
    )
    out = _observe(stuck)
    assert out["phase"] == "Failed"
    assert _cond(out, "Stalled") == ("True", "ProgressDeadlineExceeded")
    assert "timed out" in out["message"]


def test_scaled_to_zero_is_ready() -> None:
    out = _observe(_deployment(0))
    assert out["phase"] == "Ready" and out["ready"] == "0/0"


def test_a_bad_program_keeps_the_served_one_and_says_which() -> None:
    serving = _deployment(1, replicas=1, updatedReplicas=1, readyReplicas=1, availableReplicas=1)
    out = cs.compile_failed({}, 4, "CompileError", "main.neam:2:3: error: x", serving, "old", NOW)
    assert out["phase"] == "Degraded" and out["ready"] == "1/1"
    assert out["message"] == "main.neam:2:3: error: x\nstill serving program old"
    assert _cond(out, "Compiled") == ("False", "CompileError")
    assert _cond(out, "Stalled") == ("True", "CompileError")
    assert "programHash" not in out  # the served hash stays what it was
    never = cs.compile_failed({}, 1, "AgentNotFound", "no claw agent", None, None, NOW)
    assert never["phase"] == "Failed" and never["message"] == "no claw agent"


def test_auth_and_sessions_conditions() -> None:
    unauthenticated = cs.auth_condition(False)
    assert (unauthenticated.status, unauthenticated.reason) == ("False", "Unauthenticated")
    assert "anyone who reaches the Service" in unauthenticated.message
    assert cs.sessions_condition(1, ["ReadWriteOnce"]).status == "True"
    assert cs.sessions_condition(3, ["ReadWriteMany"]).status == "True"
    rwo = cs.sessions_condition(3, ["ReadWriteOnce"])
    assert (rwo.status, rwo.reason) == ("False", "ReadWriteOnceClaim")
    assert "3 replicas share a ReadWriteOnce sessions claim" in rwo.message


def test_waiting_for_the_source_keeps_the_phase() -> None:
    out = cs.waiting({"phase": "Ready"}, 2, "SourceNotFound", "ConfigMap src not found", NOW)
    assert out["phase"] == "Ready"
    assert _cond(out, "Compiled") == ("Unknown", "SourceNotFound")
    assert cs.waiting({}, 1, "SourceNotFound", "x", NOW)["phase"] == "Pending"
