"""ForgeRun status derivation: Job states, termination messages, conditions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from neam_operator import forgestatus as fs
from neam_operator.conditions import find

NOW = "2026-01-01T00:00:10Z"


def _job(suspend: bool = False, active: int = 0, cond: str | None = None, **st: Any) -> dict:
    status: dict[str, Any] = {"active": active, **st}
    if cond:
        status["conditions"] = [
            {"type": cond, "status": "True", "reason": "BackoffLimitExceeded", "message": "boom"}
        ]
    return {"spec": {"suspend": suspend}, "status": status}


def _launched() -> dict[str, Any]:
    return fs.launched({}, 1, "builder", 10, "h", {"job": "r-forge"}, "2026-01-01T00:00:00Z")


def _cond(status: dict[str, Any], type_: str) -> str:
    c = find(status["conditions"], type_)
    assert c is not None, type_
    return c["status"]


@pytest.mark.parametrize("job", [_job(), _job(active=1, ready=0), _job(active=1, terminating=0)])
def test_observing_the_new_job_of_a_launched_run_changes_nothing(job: dict[str, Any]) -> None:
    """The Job's first events (created, then a pod that has not started) need no status
    write: the launch already wrote what observing them says."""
    st = _launched()
    out = fs.observe(st, 1, job, None, NOW, fs.Pods())
    assert {k: v for k, v in out.items() if st.get(k) != v} == {}


def test_termination_message_json() -> None:
    t = fs.parse_termination(
        '{"outcome":"completed","iterations":3,"total_cost":"0.0420","message":"ok"}'
    )
    assert t == fs.Termination("completed", 3, "0.042", "ok")


def test_termination_message_log_tail_and_junk() -> None:
    assert fs.parse_termination(None) is None
    assert fs.parse_termination("  ") is None
    t = fs.parse_termination("Traceback ...\nValueError: x")
    assert t is not None and t.outcome is None and t.message.endswith("ValueError: x")
    odd = fs.parse_termination('{"outcome":"weird","iterations":-1,"total_cost":"-3"}')
    assert odd == fs.Termination(None, None, None, None)


def test_decimal_strings_never_floats() -> None:
    assert fs.decimal_string("0.0042") == "0.0042"
    assert fs.decimal_string(1e-7) == "0.0000001"
    assert fs.decimal_string("3.000") == "3"
    assert fs.decimal_string("nan") is None
    assert fs.decimal_string(True) is None


def test_launched_is_pending_with_succeeded_unknown() -> None:
    st = _launched()
    assert st["phase"] == "Pending" and st["agent"] == "builder" and st["totalCost"] == "0"
    assert _cond(st, "Compiled") == "True"
    assert _cond(st, "Succeeded") == "Unknown"
    assert _cond(st, "Reconciling") == "True"
    assert _cond(st, "Ready") == "False"


def test_running_folds_progress() -> None:
    st = {
        **_launched(),
        "progress": {"iteration": 2, "totalCost": "0.01", "currentTask": "write tests"},
    }
    out = fs.observe(st, 1, _job(active=1), None, NOW)
    assert out["phase"] == "Running" and out["outcome"] == "running"
    assert (out["iteration"], out["totalCost"], out["currentTask"]) == (2, "0.01", "write tests")
    assert out["maxIterations"] == 10
    assert "completionTime" not in out
    assert _cond(out, "Succeeded") == "Unknown"


def test_complete_takes_the_termination_message() -> None:
    term = fs.Termination("completed", 4, "0.5", "all tests pass")
    job = _job(cond="Complete", completionTime="2026-01-01T00:00:09Z")
    out = fs.observe(_launched(), 1, job, term, NOW)
    assert out["phase"] == "Succeeded" and out["outcome"] == "completed"
    assert (out["iteration"], out["totalCost"]) == (4, "0.5")
    assert out["completionTime"] == "2026-01-01T00:00:09Z"
    assert _cond(out, "Succeeded") == "True" and _cond(out, "Ready") == "True"
    assert _cond(out, "Stalled") == "False" and _cond(out, "Reconciling") == "False"


def test_complete_with_a_limit_outcome_is_failed() -> None:
    out = fs.observe(_launched(), 1, _job(cond="Complete"), fs.Termination("cost_limit"), NOW)
    assert out["phase"] == "Failed" and out["outcome"] == "cost_limit"
    assert find(out["conditions"], "Succeeded")["reason"] == "CostLimit"


def test_failed_job() -> None:
    out = fs.observe(_launched(), 1, _job(cond="Failed"), None, NOW)
    assert out["phase"] == "Failed" and out["outcome"] == "error"
    assert out["message"] == "boom" and out["completionTime"] == NOW
    assert _cond(out, "Succeeded") == "False" and _cond(out, "Stalled") == "True"
    assert find(out["conditions"], "Succeeded")["reason"] == "BackoffLimitExceeded"


@pytest.mark.parametrize("job_end", ["Complete", "Failed"])
@pytest.mark.parametrize(
    ("outcome", "phase", "reason"),
    [
        ("completed", "Succeeded", "Completed"),
        ("iteration_limit", "Failed", "IterationLimit"),
        ("cost_limit", "Failed", "CostLimit"),
        ("aborted", "Failed", "Aborted"),
        ("error", "Failed", "Error"),
    ],
)
def test_every_outcome_maps_to_one_phase(
    job_end: str, outcome: str, phase: str, reason: str
) -> None:
    """Only ``completed`` is a success, whatever the Job says; the outcome names the reason."""
    out = fs.observe(_launched(), 1, _job(cond=job_end), fs.Termination(outcome), NOW)
    if job_end == "Failed" and outcome == "completed":  # a Job that failed never completed
        outcome, phase, reason = "error", "Failed", "BackoffLimitExceeded"
    succeeded = find(out["conditions"], "Succeeded")
    assert (out["phase"], out["outcome"], succeeded["reason"]) == (phase, outcome, reason)
    assert succeeded["status"] == ("True" if phase == "Succeeded" else "False")
    assert _cond(out, "Stalled") == ("False" if phase == "Succeeded" else "True")
    assert _cond(out, "Ready") == ("True" if phase == "Succeeded" else "False")


def test_stop_goes_through_stopping_to_stopped() -> None:
    stopping = fs.observe(_launched(), 2, _job(suspend=True, active=1), None, NOW)
    assert stopping["phase"] == "Running"
    assert find(stopping["conditions"], "Succeeded")["reason"] == "Stopping"
    # The Job no longer counts the pod as active while it finishes its iteration.
    finishing = fs.observe(_launched(), 2, _job(suspend=True, terminating=1), None, NOW)
    assert finishing["phase"] == "Running" and "completionTime" not in finishing
    stopped = fs.observe(_launched(), 2, _job(suspend=True), None, NOW)
    assert stopped["phase"] == "Stopped" and stopped["outcome"] == "aborted"
    assert _cond(stopped, "Succeeded") == "False"


def test_a_stopped_run_whose_pod_is_gone_reports_the_runtimes_last_progress() -> None:
    # The Job deletes the pods of a suspended run: no termination message to read.
    progress = {
        "iteration": 2,
        "totalCost": "0.0012",
        "outcome": "aborted",
        "message": "Stopped by request after iteration 2",
    }
    out = fs.observe({**_launched(), "progress": progress}, 2, _job(suspend=True), None, NOW)
    assert (out["phase"], out["outcome"], out["iteration"]) == ("Stopped", "aborted", 2)
    assert out["message"] == "Stopped by request after iteration 2"
    assert out["totalCost"] == "0.0012"
    # A progress report of a run still going is no end: the default message stays.
    going = {**progress, "outcome": "running"}
    out = fs.observe({**_launched(), "progress": going}, 2, _job(suspend=True), None, NOW)
    assert out["message"] == "stopped by spec.stop"


def test_compile_failure() -> None:
    out = fs.compile_failed({}, 1, "CompileError", "main.neam:3:5: error: x", NOW)
    assert out["phase"] == "Failed"
    c = find(out["conditions"], "Compiled")
    assert (c["status"], c["reason"], c["message"]) == (
        "False",
        "CompileError",
        "main.neam:3:5: error: x",
    )


def test_transition_time_kept_while_status_unchanged() -> None:
    first = fs.waiting({}, 1, "SourceNotFound", "ConfigMap x not found", "2026-01-01T00:00:00Z")
    again = fs.waiting(first, 1, "SourceNotFound", "ConfigMap x not found", NOW)
    c = find(again["conditions"], "Reconciling")
    assert c["lastTransitionTime"] == "2026-01-01T00:00:00Z"


def test_the_git_report_reaches_the_status_without_unknown_fields() -> None:
    term = fs.parse_termination(
        json.dumps(
            {
                "outcome": "completed",
                "iterations": 2,
                "total_cost": "0.1",
                "git": {
                    "url": "https://h/r.git",
                    "branch": "neam/x",
                    "headCommit": "ab12",
                    "baseCommit": "cd34",
                    "token": "leak?",
                },
            }
        )
    )
    out = fs.observe(_launched(), 1, _job(cond="Complete"), term, NOW)
    assert out["git"] == {
        "url": "https://h/r.git",
        "branch": "neam/x",
        "baseCommit": "cd34",
        "headCommit": "ab12",
    }
    progress = {
        "iteration": 1,
        "outcome": "running",
        "git": {"branch": "neam/x", "baseCommit": "cd34"},
    }
    running = fs.observe({**_launched(), "progress": progress}, 1, _job(active=1), None, NOW)
    assert running["git"] == {"branch": "neam/x", "baseCommit": "cd34"}
