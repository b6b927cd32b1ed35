"""The offline demo (scripted provider, no network) served end to end."""

from __future__ import annotations

import time
from pathlib import Path

from neam.providers import reset_scripts

OFFLINE = Path(__file__).resolve().parents[3] / "examples" / "api" / "offline.neam"


def test_offline_demo_chat_and_forge(api_server, tmp_path) -> None:
    reset_scripts()
    server = api_server(program=OFFLINE).wait_loaded()
    c = server.client
    assert c.get("/ready").json() == {"status": "ready", "llm_providers": {"scripted": "healthy"}}
    r = c.post(
        "/api/v1/claw/support_bot/sessions/user_42/message",
        json={"message": "How do I reset my password?"},
    )
    assert r.json() == {
        "agent": "support_bot",
        "session_key": "user_42",
        "response": "To reset your password, go to Settings > Security > Reset Password.",
    }
    assert c.post("/api/v1/forge/code_builder/start").json() == {
        "status": "started",
        "agent": "code_builder",
        "max_iterations": 5,
        "max_cost": 1.0,
    }
    deadline = time.monotonic() + 30
    while (status := c.get("/api/v1/forge/code_builder/status").json())["running"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert status["last_outcome"] == "completed" and status["iteration"] == 1
    assert status["total_cost"] > 0
    workspace = server.state.runtime.forge_spec("code_builder").workspace
    assert (workspace / "hello.py").read_text() == "print('Hello, World!')\n"
