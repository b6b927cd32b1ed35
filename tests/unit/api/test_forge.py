"""Forge endpoints end to end: start, poll, 409, stop, outcomes."""

from __future__ import annotations

import time

WAIT = 30.0
START = "/api/v1/forge/code_builder/start"
STOP = "/api/v1/forge/code_builder/stop"
STATUS = "/api/v1/forge/code_builder/status"


def wait_for(client, predicate) -> dict:
    """Polls the status endpoint until ``predicate(status)`` holds."""
    deadline = time.monotonic() + WAIT
    while True:
        status = client.get(STATUS).json()
        if predicate(status):
            return status
        assert time.monotonic() < deadline, f"gave up waiting; last status {status}"
        time.sleep(0.02)


def test_start_with_overrides_then_poll_to_the_end(demo) -> None:
    c = demo().client
    before = c.get(STATUS).json()
    assert before["running"] is False and before["last_outcome"] is None
    r = c.post(START, json={"max_iterations": 3, "max_cost": 5.0})
    assert r.status_code == 200
    assert r.json() == {
        "status": "started",
        "agent": "code_builder",
        "max_iterations": 3,
        "max_cost": 5.0,
    }
    final = wait_for(c, lambda s: not s["running"])
    # the stub only echoes, so done.txt never appears and verify keeps asking to retry
    assert final["last_outcome"] == "iteration_limit"
    assert final["iteration"] == 3
    assert final["total_cost"] > 0
    assert set(final) >= {"agent", "running", "iteration", "total_cost", "last_outcome"}


def test_start_without_body_uses_declared_limits_and_completes(demo, llm) -> None:
    c = demo().client
    llm.reply(
        "",
        tool_calls=[{"name": "write_file", "arguments": {"path": "done.txt", "content": "ok"}}],
    )
    llm.reply("Wrote done.txt")
    r = c.post(START)
    assert r.status_code == 200
    assert r.json() == {
        "status": "started",
        "agent": "code_builder",
        "max_iterations": 25,
        "max_cost": 10.0,
    }
    final = wait_for(c, lambda s: not s["running"])
    assert final["last_outcome"] == "completed"
    assert final["iteration"] == 1


def test_second_start_is_409_and_stop_ends_after_the_iteration(demo, llm) -> None:
    c = demo().client
    for _ in range(200):
        llm.reply("working", delay=0.05)
    assert c.post(START, json={"max_iterations": 200}).status_code == 200
    running = wait_for(c, lambda s: s["iteration"] >= 1)
    assert running["running"] is True and running["last_outcome"] == "running"
    assert c.get("/api/v1/forge").json()["forge_agents"][0]["running"] is True

    again = c.post(START)
    assert again.status_code == 409
    assert "already running" in again.json()["error"]

    r = c.post(STOP)
    assert r.status_code == 200
    assert r.json() == {"status": "stopping", "agent": "code_builder"}
    final = wait_for(c, lambda s: not s["running"])
    assert final["last_outcome"] == "aborted"
    assert final["iteration"] < 200
    assert c.post(STOP).status_code == 409  # nothing left to stop


def test_forge_errors(demo) -> None:
    c = demo().client
    assert c.post("/api/v1/forge/nobody/start").status_code == 404
    assert c.post("/api/v1/forge/support_bot/start").status_code == 404  # a claw agent
    assert c.get("/api/v1/forge/nobody/status").status_code == 404
    r = c.post(START, json={"max_iterations": 0})
    assert r.status_code == 400 and "max_iterations" in r.json()["error"]
    r = c.post(START, json={"max_cost": "lots"})
    assert r.status_code == 400 and "max_cost" in r.json()["error"]
    assert c.get(START).status_code == 405


def test_status_after_a_restart_comes_from_the_workspace(demo, tmp_path) -> None:
    first = demo()
    c = first.client
    assert c.post(START, json={"max_iterations": 2}).status_code == 200
    final = wait_for(c, lambda s: not s["running"])
    assert final["last_outcome"] == "iteration_limit"
    first.stop()
    # a new server process on the same workspace (a restarted pod)
    second = demo()
    status = second.client.get(STATUS).json()
    assert status["running"] is False
    assert status["iteration"] == 2 and status["last_outcome"] == "iteration_limit"
    assert status["total_cost"] == final["total_cost"]
