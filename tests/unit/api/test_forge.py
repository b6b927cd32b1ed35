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


def test_a_resumed_run_reports_the_persisted_totals_from_the_start(demo, llm) -> None:
    c = demo().client
    assert c.post(START, json={"max_iterations": 2}).status_code == 200
    first = wait_for(c, lambda s: not s["running"])
    assert first["iteration"] == 2 and first["total_cost"] > 0
    llm.reply("working", gate="next")  # hold the next iteration's model call
    assert c.post(START, json={"max_iterations": 4}).status_code == 200
    status = c.get(STATUS).json()
    assert status["running"] is True and status["last_outcome"] == "running"
    assert (status["iteration"], status["total_cost"]) == (2, first["total_cost"])
    llm.release("next")
    final = wait_for(c, lambda s: not s["running"])
    assert final["iteration"] == 4


def test_start_on_a_completed_run_is_409_with_the_reason(demo, llm) -> None:
    c = demo().client
    llm.reply(
        "",
        tool_calls=[{"name": "write_file", "arguments": {"path": "done.txt", "content": "ok"}}],
    )
    llm.reply("Wrote done.txt")
    assert c.post(START).status_code == 200
    assert wait_for(c, lambda s: not s["running"])["last_outcome"] == "completed"
    requests = len(llm.requests)
    r = c.post(START)
    assert r.status_code == 409
    assert r.json()["reason"] == "completed"
    assert r.json()["error"].startswith(
        "the forge run of 'code_builder' already completed (1 iterations, $"
    )
    assert "there is nothing to start" in r.json()["error"]
    assert len(llm.requests) == requests
    assert c.get(STATUS).json()["last_outcome"] == "completed"


def test_start_without_the_provider_key_is_503_naming_it(demo) -> None:
    # the public OpenAI endpoint needs a key (a local base URL would not); nothing is sent
    c = demo(env={"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}).client
    r = c.post(START)
    assert r.status_code == 503
    assert r.json()["env_var"] == "OPENAI_API_KEY"
    assert "OPENAI_API_KEY" in r.json()["error"]
    assert c.get(STATUS).json()["running"] is False


def test_a_corrupt_state_file_is_reported_not_a_500(demo, tmp_path) -> None:
    server = demo()
    state = tmp_path / "workspace" / "code_builder" / ".neam-forge" / "code_builder.json"
    state.parent.mkdir(parents=True)
    state.write_text("{not json")
    status = server.client.get(STATUS)
    assert status.status_code == 200
    assert status.json()["last_outcome"] == "error" and "is corrupt" in status.json()["message"]
    r = server.client.post(START)
    assert r.status_code == 409 and r.json()["reason"] == "workspace"
    assert "is corrupt" in r.json()["error"]


def test_a_run_another_process_holds_is_running_elsewhere_not_interrupted(demo, tmp_path):
    from neam.agents import forge_lock, forge_state

    server = demo()
    workspace = tmp_path / "workspace" / "code_builder"
    forge_state.save(workspace, "code_builder", forge_state.ForgeState(iteration=4))
    with forge_lock.acquire(workspace, "code_builder"):  # as neam-forge would hold it
        status = server.client.get(STATUS).json()
        assert (status["running"], status["last_outcome"], status["interrupted"]) == (
            False,
            "running",
            False,
        )
        assert status["message"].startswith("running in another process (pid ")
        assert server.client.post(START).json()["reason"] == "workspace_locked"
    status = server.client.get(STATUS).json()  # the holder is gone: the run was cut short
    assert (status["last_outcome"], status["interrupted"], status["iteration"]) == (
        "aborted",
        True,
        4,
    )
