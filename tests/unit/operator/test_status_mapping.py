"""The status mapping branch by branch: Job state → (phase, reason, message, outcome),
the pod problems, the end of a run, the newest termination message. Every case
asserts the whole result, so a changed phase, reason, message or outcome fails."""

from __future__ import annotations

from typing import Any

import pytest
from neam_operator import forgestatus as fs
from neam_operator.conditions import lifecycle
from neam_operator.jobs import newest_termination


def job(
    *, suspend: bool = False, backoff: int | None = None, cond: dict | None = None, **status: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {"suspend": suspend}
    if backoff is not None:
        spec["backoffLimit"] = backoff
    if cond is not None:
        status["conditions"] = [{"status": "True", **cond}]
    return {"spec": spec, "status": status}


COMPLETE = {"type": "Complete"}
FAILED = {"type": "Failed", "reason": "DeadlineExceeded", "message": "too slow"}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        (
            None,
            (
                "Failed",
                "NoResult",
                "the forge container ended without its result (no termination message)",
                "error",
            ),
        ),
        (fs.Termination(message="log tail"), ("Failed", "NoResult", "log tail", "error")),
        (
            fs.Termination("iteration_limit"),
            ("Failed", "IterationLimit", "forge loop ended: iteration_limit", "iteration_limit"),
        ),
        (fs.Termination("completed", message="ok"), ("Succeeded", "Completed", "ok", "completed")),
    ],
)
def test_a_complete_job_is_what_its_termination_says(term, expected) -> None:
    assert fs.job_phase(job(cond=COMPLETE), term, {}) == expected


def test_a_complete_job_without_an_outcome_is_no_success() -> None:
    # A termination message that is not the runtime's result (no outcome) decides nothing.
    assert fs.job_phase(job(cond=COMPLETE), fs.Termination(iterations=3), {})[:2] == (
        "Failed",
        "NoResult",
    )


@pytest.mark.parametrize(
    ("term", "cond", "expected"),
    [
        (None, FAILED, ("Failed", "DeadlineExceeded", "too slow", "error")),
        (None, {"type": "Failed"}, ("Failed", "JobFailed", "the forge Job failed", "error")),
        (
            fs.Termination("cost_limit", message="spent"),
            FAILED,
            ("Failed", "CostLimit", "spent", "cost_limit"),
        ),
        (
            fs.Termination("completed", message="done?"),
            FAILED,
            ("Failed", "DeadlineExceeded", "done?", "error"),
        ),
    ],
)
def test_a_failed_job_is_never_a_success(term, cond, expected) -> None:
    assert fs.job_phase(job(cond=cond), term, {}) == expected


def test_the_job_conditions_count_only_when_true() -> None:
    pending = job(conditions=[{"type": "Complete", "status": "False"}])
    assert fs.job_phase(pending, fs.Termination("completed"), {})[0] == "Pending"
    assert fs.job_condition(pending, "Complete") is None
    done = job(cond=COMPLETE)
    assert fs.job_condition(done, "Complete") == {"type": "Complete", "status": "True"}
    assert fs.job_condition(done, "Failed") is None


@pytest.mark.parametrize(
    ("counts", "term", "expected"),
    [
        (
            {"active": 1},
            None,
            ("Running", "Stopping", "stopping after the current iteration", "running"),
        ),
        (
            {"terminating": 1},
            None,
            ("Running", "Stopping", "stopping after the current iteration", "running"),
        ),
        ({}, None, ("Stopped", "Stopped", "stopped by spec.stop", "aborted")),
        (
            {},
            fs.Termination("cost_limit", message="spent"),
            ("Stopped", "Stopped", "spent", "cost_limit"),
        ),
    ],
)
def test_a_suspended_job_stops_after_its_pods(counts, term, expected) -> None:
    assert fs.job_phase(job(suspend=True, **counts), term, {}) == expected


def test_a_retried_attempt_is_running_with_the_attempt_and_why() -> None:
    pods = fs.Pods(problem=("ErrImagePull", "no such image"), last_failure="boom")
    assert fs.job_phase(job(backoff=3, failed=1, active=1), None, {}, pods) == (
        "Running",
        "Retrying",
        "attempt 2 of 4; ErrImagePull: no such image; the previous attempt ended: boom",
        "running",
    )
    # Without pod details the message is the attempt alone.
    assert fs.job_phase(job(backoff=2, failed=2), None, {}) == (
        "Running",
        "Retrying",
        "attempt 3 of 3",
        "running",
    )


@pytest.mark.parametrize(
    ("status", "progress", "pods", "expected"),
    [
        ({"active": 1, "ready": 1}, {}, None, ("Running", "Running", "", "running")),
        (
            {"active": 1},
            {"message": "iteration 2: retry"},
            None,
            ("Running", "Running", "iteration 2: retry", "running"),
        ),
        (
            {"active": 1, "ready": 0},
            {},
            fs.Pods(problem=("Unschedulable", "0/1 nodes")),
            ("Pending", "Unschedulable", "0/1 nodes", None),
        ),
        (
            {"active": 1},
            {},
            None,
            ("Pending", "Pending", "waiting for the forge pod to start", None),
        ),
        (
            {"terminating": 1},
            {},
            None,
            ("Pending", "Pending", "waiting for the forge pod to start", None),
        ),
        ({}, {}, None, ("Pending", "Pending", "waiting for the forge pod to start", None)),
    ],
)
def test_running_only_when_the_pod_runs(status, progress, pods, expected) -> None:
    assert fs.job_phase(job(**status), None, progress, pods) == expected


def waiting_pod(reason: str, message: str | None = None, init: bool = False) -> dict[str, Any]:
    waiting = {"reason": reason, **({"message": message} if message else {})}
    key = "initContainerStatuses" if init else "containerStatuses"
    return {"status": {key: [{"name": "forge", "state": {"waiting": waiting}}]}}


@pytest.mark.parametrize("reason", sorted(fs.WAITING_PROBLEMS))
def test_every_waiting_problem_is_reported_with_its_message(reason) -> None:
    assert fs.pod_problem(waiting_pod(reason, "why")) == (reason, "why")
    assert fs.pod_problem(waiting_pod(reason)) == (reason, reason)
    assert fs.pod_problem(waiting_pod(reason, "init", init=True)) == (reason, "init")


def test_a_pod_that_only_waits_to_start_has_no_problem() -> None:
    assert fs.pod_problem(waiting_pod("ContainerCreating", "pulling")) is None
    assert fs.pod_problem({}) is None
    running = {"status": {"containerStatuses": [{"state": {"running": {}}}]}}
    assert fs.pod_problem(running) is None


def test_an_unscheduled_pod_says_why() -> None:
    def scheduled(**cond: Any) -> dict[str, Any]:
        return {"status": {"conditions": [{"type": "PodScheduled", **cond}]}}

    assert fs.pod_problem(
        scheduled(status="False", reason="Unschedulable", message="0/1 nodes are available")
    ) == ("Unschedulable", "0/1 nodes are available")
    assert fs.pod_problem(scheduled(status="False")) == ("Unschedulable", "not scheduled")
    gated = scheduled(status="False", reason="SchedulingGated", message="gated")
    assert fs.pod_problem(gated) == ("SchedulingGated", "gated")
    assert fs.pod_problem(scheduled(status="True", reason="x")) is None
    ready = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "x"}]}}
    assert fs.pod_problem(ready) is None


def test_a_container_problem_comes_before_scheduling() -> None:
    pod = waiting_pod("CreateContainerConfigError", "secret missing")
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False"}]
    assert fs.pod_problem(pod) == ("CreateContainerConfigError", "secret missing")


def ended(
    phase: str = "Failed", completion: str | None = "2026-01-01T00:00:09Z", succeeded: str = "False"
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "Succeeded", "status": succeeded},
        ],
    }
    if completion:
        status["completionTime"] = completion
    return status


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ended("Succeeded", succeeded="True"), True),
        (ended("Failed"), True),
        (ended("Stopped"), True),
        (ended("Running"), False),
        (ended("Failed", completion=None), False),
        (ended("Failed", succeeded="Unknown"), False),
        ({"phase": "Succeeded", "completionTime": "2026-01-01T00:00:09Z"}, False),
        ({}, False),
    ],
)
def test_finished_needs_phase_completion_time_and_a_decided_condition(status, expected) -> None:
    assert fs.finished(status) is expected


def terminated(
    message: str | None,
    finished: str | None,
    created: str = "2026-01-01T00:00:00Z",
    phase: str = "Failed",
    name: str = "forge",
) -> dict[str, Any]:
    term = {k: v for k, v in (("message", message), ("finishedAt", finished)) if v}
    return {
        "metadata": {"creationTimestamp": created},
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": name, "state": {"terminated": term}}],
        },
    }


def test_the_newest_termination_is_the_latest_to_finish() -> None:
    old = terminated("first", "2026-01-01T00:00:05Z", created="2026-01-01T00:00:03Z")
    new = terminated("second", "2026-01-01T00:00:09Z", created="2026-01-01T00:00:01Z")
    assert newest_termination([old, new], "forge") == "second"
    assert newest_termination([new, old], "forge") == "second"


def test_ties_go_to_the_latest_created_then_to_the_succeeded_pod() -> None:
    at = "2026-01-01T00:00:09Z"
    older = terminated("older", at, created="2026-01-01T00:00:01Z")
    newer = terminated("newer", at, created="2026-01-01T00:00:02Z")
    assert newest_termination([newer, older], "forge") == "newer"
    assert newest_termination([older, newer], "forge") == "newer"
    failed = terminated("failed", at, phase="Failed")
    succeeded = terminated("succeeded", at, phase="Succeeded")
    assert newest_termination([succeeded, failed], "forge") == "succeeded"
    assert newest_termination([failed, succeeded], "forge") == "succeeded"


def test_only_the_named_container_with_a_message_counts() -> None:
    other = terminated("sidecar", "2026-01-01T00:00:09Z", name="git")
    empty = terminated(None, "2026-01-01T00:00:08Z")
    forge = terminated("forge", "2026-01-01T00:00:05Z")
    assert newest_termination([other, empty, forge], "forge") == "forge"
    assert newest_termination([other, empty], "forge") is None
    assert newest_termination([], "forge") is None
    sidecar_first = terminated("forge", "2026-01-01T00:00:05Z")
    sidecar_first["status"]["containerStatuses"].insert(0, {"name": "git", "state": {}})
    assert newest_termination([sidecar_first], "forge") == "forge"
    pending = {"metadata": {}, "status": {"containerStatuses": [{"name": "forge", "state": {}}]}}
    assert newest_termination([pending, {"metadata": {}}], "forge") is None


def test_a_termination_without_a_finish_time_is_older_than_one_with_it() -> None:
    unknown = terminated("unknown", None, created="2026-01-01T00:00:05Z")
    known = terminated("known", "2026-01-01T00:00:01Z", created="2026-01-01T00:00:01Z")
    assert newest_termination([known, unknown], "forge") == "known"
    no_created = terminated("plain", "2026-01-01T00:00:01Z")
    del no_created["metadata"]["creationTimestamp"]
    assert newest_termination([no_created], "forge") == "plain"


def test_a_log_tail_keeps_its_last_characters() -> None:
    tail = "x" * fs.MESSAGE_LIMIT + "the end"
    assert fs.parse_termination(f"  {tail}  ") == fs.Termination(message=tail[-fs.MESSAGE_LIMIT :])
    listed = "[1, 2]"  # JSON, but not the runtime's object
    assert fs.parse_termination(listed) == fs.Termination(message=listed)


def test_termination_fields_are_checked_one_by_one() -> None:
    text = '{"outcome":"aborted","iterations":0,"total_cost":0,"message":%s}'
    assert fs.parse_termination(text % '"x"') == fs.Termination("aborted", 0, "0", "x")
    long = fs.parse_termination(text % ('"' + "m" * (fs.MESSAGE_LIMIT + 5) + '"'))
    assert long is not None and long.message == "m" * fs.MESSAGE_LIMIT
    assert fs.parse_termination(text % "7") == fs.Termination("aborted", 0, "0", "7")
    assert fs.parse_termination('{"iterations": "3"}') == fs.Termination()


def test_decimal_strings_are_exact_and_plain() -> None:
    assert fs.decimal_string(0) == "0"
    assert fs.decimal_string("0.0") == "0"
    assert fs.decimal_string("10") == "10"  # no trailing-zero stripping without a point
    assert fs.decimal_string("1E+2") == "100"
    assert fs.decimal_string("2.50") == "2.5"
    assert fs.decimal_string(False) is None
    assert fs.decimal_string("-0.1") is None
    assert fs.decimal_string("Infinity") is None
    assert fs.decimal_string("lots") is None


def test_the_final_progress_stands_in_for_a_lost_termination() -> None:
    progress = {
        "outcome": "iteration_limit",
        "iteration": 5,
        "totalCost": "0.50",
        "message": "Reached max_iterations (5)",
        "git": {"branch": "neam/x", "token": "secret"},
    }
    assert fs.final_progress(progress) == fs.Termination(
        "iteration_limit", 5, "0.5", "Reached max_iterations (5)", {"branch": "neam/x"}
    )
    assert fs.final_progress({**progress, "iteration": "5"}).iterations is None
    assert fs.final_progress({**progress, "outcome": "running"}) is None
    assert fs.final_progress({}) is None


def test_git_status_keeps_known_non_empty_bounded_fields() -> None:
    long = "u" * (fs.MESSAGE_LIMIT + 1)
    assert fs.git_status({"url": long, "branch": "", "pushError": 1}) == {
        "url": long[: fs.MESSAGE_LIMIT],
        "pushError": "1",
    }
    assert fs.git_status({"token": "x"}) is None
    assert fs.git_status("neam/x") is None


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (
            "Succeeded",
            {"Succeeded": "True", "Ready": "True", "Reconciling": "False", "Stalled": "False"},
        ),
        (
            "Failed",
            {"Succeeded": "False", "Ready": "False", "Reconciling": "False", "Stalled": "True"},
        ),
        (
            "Stopped",
            {"Succeeded": "False", "Ready": "False", "Reconciling": "False", "Stalled": "False"},
        ),
        (
            "Running",
            {"Succeeded": "Unknown", "Ready": "False", "Reconciling": "True", "Stalled": "False"},
        ),
        (
            "Pending",
            {"Succeeded": "Unknown", "Ready": "False", "Reconciling": "True", "Stalled": "False"},
        ),
    ],
)
def test_each_phase_has_its_conditions(phase, expected) -> None:
    conds = lifecycle(phase, "Why", "what happened")
    assert {c.type: c.status for c in conds} == expected
    assert {c.reason for c in conds} == {"Why"}
    # The message goes where a reader looks for it: on the conditions that are not fine.
    messages = {c.type: c.message for c in conds}
    assert messages["Succeeded"] == messages["Ready"] == "what happened"
    assert messages["Stalled"] == ("what happened" if expected["Stalled"] == "True" else "")
    assert messages["Reconciling"] == ("what happened" if expected["Reconciling"] == "True" else "")


def test_observe_writes_the_whole_patch_of_a_retried_run() -> None:
    compiled = {"type": "Compiled", "status": "True", "reason": "Compiled"}
    status = {
        "startTime": "2026-01-01T00:00:00Z",
        "totalCost": "0.25",
        "git": {"branch": "neam/x"},
        "conditions": [compiled],
        "progress": {"iteration": 3, "maxIterations": 9, "currentTask": "t", "message": "m"},
    }
    pods = fs.Pods(problem=("ErrImagePull", "pull failed"))
    now = "2026-01-01T00:01:00Z"
    patch = fs.observe(status, 4, job(backoff=2, failed=1, active=1), None, now, pods)
    message = "attempt 2 of 3; ErrImagePull: pull failed"
    conditions = [
        compiled,
        *(
            {
                "type": c.type,
                "status": c.status,
                "reason": c.reason,
                "message": c.message,
                "lastTransitionTime": now,
                "observedGeneration": 4,
            }
            for c in lifecycle("Running", "Retrying", message)
        ),
    ]
    assert patch == {
        "observedGeneration": 4,
        "phase": "Running",
        "outcome": "running",
        "message": message,
        "iteration": 3,
        "totalCost": "0.25",
        "currentTask": "t",
        "maxIterations": 9,
        "git": {"branch": "neam/x"},
        "reason": "Retrying",
        "attempt": 2,
        "conditions": conditions,
    }


def test_observe_ends_a_stopped_run_once() -> None:
    status = {
        "startTime": "2026-01-01T00:00:00Z",
        "maxIterations": 5,
        "progress": {"outcome": "aborted", "iteration": 2, "totalCost": "0.1", "message": "bye"},
    }
    stopped = job(suspend=True, conditions=[{"type": "Suspended", "status": "True"}])
    first = fs.observe(status, 1, stopped, None, "2026-01-01T00:01:01Z")
    assert (first["phase"], first["reason"], first["outcome"], first["message"]) == (
        "Stopped",
        "Stopped",
        "aborted",
        "bye",
    )
    assert (first["completionTime"], first["duration"]) == ("2026-01-01T00:01:01Z", "1m1s")
    assert (first["iteration"], first["totalCost"], first["maxIterations"]) == (2, "0.1", 5)
    # A later look keeps the completion time it decided.
    again = fs.observe({**status, **first}, 1, stopped, None, "2026-01-01T00:09:00Z")
    assert (again["completionTime"], again["duration"]) == ("2026-01-01T00:01:01Z", "1m1s")


def test_a_failed_job_whose_pod_is_gone_takes_the_verdict_of_the_last_progress() -> None:
    progress = {"outcome": "cost_limit", "iteration": 4, "message": "Cost limit reached"}
    patch = fs.observe({"progress": progress}, 1, job(cond=FAILED), None, "2026-01-01T00:00:00Z")
    assert (patch["phase"], patch["reason"], patch["outcome"], patch["message"]) == (
        "Failed",
        "CostLimit",
        "cost_limit",
        "Cost limit reached",
    )


def test_observe_of_a_fresh_run_starts_at_zero_cost() -> None:
    patch = fs.observe({}, None, job(), None, "2026-01-01T00:00:00Z")
    assert patch["totalCost"] == "0" and patch["attempt"] == 1
    assert "observedGeneration" not in patch and "completionTime" not in patch
    assert all("observedGeneration" not in c for c in patch["conditions"])
