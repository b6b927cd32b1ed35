"""Claw and plain agents end to end: real server, real runtime, stub LLM over HTTP."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from neam.providers import configure_pool
from neam.providers.http import pool_size

MESSAGE = "/api/v1/claw/support_bot/sessions/{key}/message"


def user_texts(request) -> list[str]:
    return [m["content"] for m in request.json["messages"] if m["role"] == "user"]


def test_listings_match_the_seed_shapes(demo) -> None:
    server = demo()
    c = server.client
    assert c.get("/api/v1/claw").json() == {
        "claw_agents": [
            {
                "name": "support_bot",
                "provider": "openai",
                "model": "gpt-4o",
                "session_count": 0,
                "channels": ["web_chan"],
            }
        ]
    }
    assert c.get("/api/v1/forge").json() == {
        "forge_agents": [
            {
                "name": "code_builder",
                "provider": "openai",
                "model": "gpt-4o",
                "max_iterations": 25,
                "max_cost": 10.0,
                "running": False,
                # beyond the seed: the saved run's state (docs/api.md, restarts)
                "last_outcome": None,
                "iteration": 0,
                "total_cost": 0.0,
                "interrupted": False,
            }
        ]
    }
    assert c.get("/api/v1/agents").json() == {
        "agents": [{"name": "Assistant", "provider": "openai", "model": "gpt-4o-mini"}]
    }
    ready = c.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "llm_providers": {"openai": "healthy"}}
    assert c.get("/startup").json()["status"] == "started"
    health = c.get("/api/v1/health").json()
    assert health["status"] == "ok"
    assert health["agents"] == {"claw": 1, "forge": 1, "legacy": 1}
    assert health["pool"]["workers"] == 4


def test_three_messages_keep_context_then_reset_forgets(demo, llm) -> None:
    c = demo().client
    questions = ["How do I reset my password?", "What if I get no email?", "Thanks, and then?"]
    for i, question in enumerate(questions):
        r = c.post(MESSAGE.format(key="user_42"), json={"message": question})
        assert r.status_code == 200
        assert r.json() == {
            "agent": "support_bot",
            "session_key": "user_42",
            "response": f"echo: {question}",
        }
        # the model saw every earlier question of this session
        assert user_texts(llm.requests[-1]) == questions[: i + 1]
    assert c.get("/api/v1/claw").json()["claw_agents"][0]["session_count"] == 1

    r = c.post("/api/v1/claw/support_bot/sessions/user_42/reset")
    assert r.status_code == 200
    assert r.json() == {
        "agent": "support_bot",
        "session_key": "user_42",
        "status": "reset",
        "message": "Session archived and reset",
    }
    r = c.post(MESSAGE.format(key="user_42"), json={"message": "Do you remember me?"})
    assert r.status_code == 200
    assert user_texts(llm.requests[-1]) == ["Do you remember me?"]


def test_sessions_are_separate(demo, llm) -> None:
    c = demo().client
    c.post(MESSAGE.format(key="alice"), json={"message": "I am Alice"})
    c.post(MESSAGE.format(key="bob"), json={"message": "I am Bob"})
    assert user_texts(llm.requests[-1]) == ["I am Bob"]
    assert c.get("/api/v1/claw").json()["claw_agents"][0]["session_count"] == 2


def test_legacy_agent_ask(demo) -> None:
    c = demo().client
    r = c.post("/api/v1/agent/ask", json={"agent_id": "Assistant", "query": "Hello!"})
    assert r.status_code == 200
    assert r.json() == {"agent_id": "Assistant", "response": "echo: Hello!"}
    r = c.post("/api/v1/agent/ask", json={"agent_id": "Nobody", "query": "Hello!"})
    assert r.status_code == 404
    assert r.json()["agent"] == "Nobody"
    r = c.post("/api/v1/agent/ask", json={"agent_id": "Assistant"})
    assert r.status_code == 400
    assert "query" in r.json()["error"]


def test_compact(demo, llm) -> None:
    c = demo().client
    for i in range(30):
        c.post(MESSAGE.format(key="long"), json={"message": f"fact number {i}"})
    llm.reply("The user listed facts 0 to 9.\nDurable facts:\n- none")
    r = c.post("/api/v1/claw/support_bot/compact")
    assert r.status_code == 200
    assert r.json() == {
        "agent": "support_bot",
        "status": "compacted",
        "turns_before": 30,
        "turns_after": 20,
        "summary_length": len("The user listed facts 0 to 9."),
        "sessions_compacted": 1,
        "summarizer": "model",
    }
    assert "[10] User: fact number 9" in llm.requests[-1].json["messages"][1]["content"]
    # compacting one session by key, via the optional body: the 20 kept turns stay
    r = c.post("/api/v1/claw/support_bot/compact", json={"session_key": "long"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "nothing_to_compact"
    assert (body["turns_before"], body["turns_after"]) == (20, 20)
    assert body["message"] == (
        "nothing to compact: session 'long' has 20 turns and compaction keeps the most recent 20"
    )


def test_compact_reports_the_fallback_when_the_model_fails(demo, llm) -> None:
    c = demo().client
    for i in range(21):
        c.post(MESSAGE.format(key="k"), json={"message": f"m{i}"})
    for _ in range(4):  # the first try and every retry
        llm.fail(503, message="model overloaded")
    body = c.post("/api/v1/claw/support_bot/compact", json={"session_key": "k"}).json()
    assert body["status"] == "compacted" and body["summarizer"] == "local"
    assert (body["turns_before"], body["turns_after"]) == (21, 20)
    assert "session 'k': the model call failed" in body["fallback_reason"]
    assert "model overloaded" in body["fallback_reason"]


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        (MESSAGE.format(key="k"), "{not json", 400, "not valid JSON"),
        (MESSAGE.format(key="k"), "[1, 2]", 400, "JSON object"),
        (MESSAGE.format(key="k"), "{}", 400, "message"),
        (MESSAGE.format(key="k"), '{"message": ""}', 400, "message"),
        (MESSAGE.format(key="k"), '{"message": 5}', 400, "message"),
        ("/api/v1/claw/nobody/sessions/k/message", '{"message": "hi"}', 404, "nobody"),
        ("/api/v1/claw/code_builder/sessions/k/message", '{"message": "hi"}', 404, "claw"),
        (MESSAGE.format(key="%2E%2E"), '{"message": "hi"}', 400, "session key"),
        (MESSAGE.format(key="..secret"), '{"message": "hi"}', 400, "session key"),
        (MESSAGE.format(key=".hidden"), '{"message": "hi"}', 400, "session key"),
        (MESSAGE.format(key="a%00b"), '{"message": "hi"}', 400, "session key"),
        ("/api/v1/claw/support_bot/sessions/..%2F..%2Fetc/message", '{"message": "x"}', 404, ""),
        ("/api/v1/claw/nobody/compact", "", 404, "nobody"),
        ("/api/v1/claw/support_bot/sessions/../reset", "", 404, ""),
    ],
)
def test_bad_requests(demo, path, body, status, needle) -> None:
    server = demo()
    r = server.client.post(path, content=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
    # nothing was written outside the sessions directory
    sessions = server.state.settings.sessions_dir
    assert all(p.resolve().is_relative_to(sessions.resolve()) for p in sessions.rglob("*"))


def test_unknown_session_key_creates_a_session(demo) -> None:
    server = demo()
    r = server.client.post(MESSAGE.format(key="brand-new_key.1@x:y"), json={"message": "hi"})
    assert r.status_code == 200
    assert server.state.runtime.session_count("support_bot") == 1


def test_request_timeout_is_504(demo, llm) -> None:
    server = demo(timeout_ms=200)
    llm.reply("slow", delay=1.5)
    r = server.client.post(MESSAGE.format(key="slow"), json={"message": "hi"})
    assert r.status_code == 504
    assert r.json() == {"error": "request timed out after 200 ms", "timeout_ms": 200}


def test_provider_failure_is_502(demo, llm) -> None:
    c = demo().client
    for _ in range(4):  # first try + 3 retries
        llm.fail(500, message="upstream exploded")
    r = c.post(MESSAGE.format(key="k"), json={"message": "hi"})
    assert r.status_code == 502
    assert r.json()["provider"] == "openai"
    assert "sk-stub-key" not in r.text


def test_not_ready_without_a_provider_key(demo) -> None:
    # the public OpenAI endpoint needs a key (a local base URL would not); nothing is sent
    server = demo(env={"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
    r = server.client.get("/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not_ready"
    assert body["llm_providers"] == {"openai": "missing API key: set OPENAI_API_KEY"}
    assert "OPENAI_API_KEY" in body["reason"]
    r = server.client.post(MESSAGE.format(key="k"), json={"message": "hi"})
    assert r.status_code == 503
    assert r.json()["env_var"] == "OPENAI_API_KEY"


def test_concurrent_messages_to_one_session_and_to_many(demo, llm) -> None:
    server = demo(workers=8)
    c = server.client

    def send(key_and_text: tuple[str, str]) -> int:
        key, text = key_and_text
        return c.post(MESSAGE.format(key=key), json={"message": text}).status_code

    one = [("shared", f"one-{i}") for i in range(16)]
    many = [(f"user-{i}", f"many-{i}") for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, one + many))
    assert statuses == [200] * 32
    runtime = server.state.runtime
    history = runtime.session_history("support_bot", "shared")
    assert sorted(t["user"] for t in history) == sorted(text for _, text in one)
    # serialised: every turn holds its own question and answer, none lost or mixed
    assert all(t["assistant"] == f"echo: {t['user']}" for t in history)
    for key, text in many:
        assert [t["user"] for t in runtime.session_history("support_bot", key)] == [text]
    assert runtime.session_count("support_bot") == 17
    metrics = c.get("/api/v1/metrics").json()
    endpoint = metrics["endpoints"]["POST /api/v1/claw/{agent}/sessions/{key}/message"]
    assert endpoint["count"] == 32 and endpoint["errors"] == 0
    assert json.loads(json.dumps(metrics))["pool"]["workers"] == 8


@pytest.fixture
def restore_llm_pool():
    before = pool_size()
    yield
    configure_pool(before)


def test_bytecode_dir_serves_the_compiled_program(demo, tmp_path, restore_llm_pool) -> None:
    from neam.lang import load_program
    from neam.lang.neamb import write_neamb

    compiled = tmp_path / "bytecode"
    compiled.mkdir()
    example = demo().state.settings.program
    write_neamb(load_program(example), compiled / "agents.neamb")
    server = demo(program=None, bytecode_dir=compiled, llm_pool_size=3)
    assert server.state.program_path == str(compiled / "agents.neamb")
    r = server.client.post(MESSAGE.format(key="b"), json={"message": "from bytecode"})
    assert r.json()["response"] == "echo: from bytecode"
    assert pool_size() == 3  # --llm-pool-size reached the shared LLM client
