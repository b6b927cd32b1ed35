"""The AgentDAG planner: what starts next, and the status it implies."""

from __future__ import annotations

from neam_operator import dagstatus as ds
from neam_operator.models import DagNode

NOW = "2026-01-01T00:00:00Z"


def n(id_: str, *deps: str) -> DagNode:
    return DagNode(id=id_, agent="a", dependsOn=list(deps))


def done(cost: str = "0.1") -> ds.Observed:
    return ds.Observed("succeeded", "job", "completed", None, cost, "result")


RUNNING = ds.Observed("running", "job")
DIAMOND = [n("a"), n("b", "a"), n("c", "a"), n("d", "b", "c")]


def test_kahn_order_and_the_parallelism_bound() -> None:
    first = ds.plan(DIAMOND, {}, 4, None, {}, NOW)
    assert first.start == ["a"] and first.phase == "Running" and first.progress == "0/4"
    both = ds.plan(DIAMOND, {"a": done()}, 4, None, {}, NOW)
    assert both.start == ["b", "c"]
    one_slot = ds.plan(DIAMOND, {"a": done()}, 1, None, {}, NOW)
    assert one_slot.start == ["b"]
    busy = ds.plan(DIAMOND, {"a": done(), "b": RUNNING}, 1, None, {}, NOW)
    assert busy.start == []
    last = ds.plan(DIAMOND, {"a": done(), "b": done(), "c": done()}, 4, None, {}, NOW)
    assert last.start == ["d"]
    end = ds.plan(DIAMOND, dict.fromkeys("abcd", done("0.25")), 4, None, {}, NOW)
    assert (end.phase, end.progress, end.total_cost) == ("Succeeded", "4/4", "1")


def test_a_failure_starts_nothing_skips_the_rest_and_waits_for_running_nodes() -> None:
    failed = ds.Observed("failed", "job", "error", "boom")
    waiting = ds.plan(DIAMOND, {"a": done(), "b": failed, "c": RUNNING}, 4, None, {}, NOW)
    assert waiting.start == [] and waiting.phase == "Running"
    assert {e["id"]: e["phase"] for e in waiting.nodes}["d"] == "Skipped"
    assert waiting.message == "node b failed: boom; skipped d; waiting for c to finish"
    over = ds.plan(DIAMOND, {"a": done(), "b": failed, "c": done()}, 4, None, {}, NOW)
    assert (over.phase, over.reason) == ("Failed", "NodeFailed")


def test_a_stop_or_a_deadline_stops_running_nodes() -> None:
    stopping = ds.plan(DIAMOND, {"a": RUNNING}, 4, "Stopped", {}, NOW)
    assert stopping.stop_running and stopping.phase == "Running" and stopping.start == []
    stopped = ds.plan(DIAMOND, {"a": ds.Observed("stopped", "job")}, 4, "Stopped", {}, NOW)
    assert stopped.phase == "Stopped" and not stopped.stop_running
    assert [e["phase"] for e in stopped.nodes] == ["Stopped", "Skipped", "Skipped", "Skipped"]
    late = ds.plan(DIAMOND, {}, 4, "DeadlineExceeded", {}, NOW)
    assert (late.phase, late.reason) == ("Failed", "DeadlineExceeded")


def test_times_are_kept_and_transitions_become_events() -> None:
    previous = {"a": {"id": "a", "phase": "Running", "startTime": "2025-12-31T23:59:00Z"}}
    out = ds.plan(DIAMOND, {"a": done()}, 4, None, previous, NOW)
    a = out.nodes[0]
    assert (a["startTime"], a["completionTime"]) == ("2025-12-31T23:59:00Z", NOW)
    assert ds.transitions(previous, out.nodes) == [
        ("Normal", "NodeSucceeded", "node a: succeeded, cost 0.1: job"),
        ("Normal", "NodeRunning", "node b: running"),
        ("Normal", "NodeRunning", "node c: running"),
    ]
