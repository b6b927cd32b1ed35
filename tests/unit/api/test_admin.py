"""Admin endpoints end to end: kill switch per agent and global, status, confirmations."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

API_KEY = "sk-app"
ADMIN_KEY = "admin-ops"
APP = {"Authorization": f"Bearer {API_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
MESSAGE = "/api/v1/claw/support_bot/sessions/k/message"


def keyed(demo):
    return demo(api_keys=(API_KEY,), admin_keys=(ADMIN_KEY,)).client


def test_disable_and_enable_one_agent(demo) -> None:
    c = keyed(demo)
    r = c.post("/api/v1/admin/disable", headers=ADMIN, json={"agent": "support_bot"})
    assert r.status_code == 200
    assert r.json()["status"] == "disabled" and r.json()["agent"] == "support_bot"
    blocked = c.post(MESSAGE, headers=APP, json={"message": "hi"})
    assert blocked.status_code == 423
    assert blocked.json() == {
        "error": "agent 'support_bot' is disabled by an administrator",
        "agent": "support_bot",
    }
    assert c.post("/api/v1/claw/support_bot/compact", headers=APP).status_code == 423
    # other agents still work
    ask = c.post("/api/v1/agent/ask", headers=APP, json={"agent_id": "Assistant", "query": "q"})
    assert ask.status_code == 200
    status = c.get("/api/v1/admin/status", headers=ADMIN).json()
    assert status["disabled_agents"] == ["support_bot"]
    entries = {a["name"]: a for a in status["agents"]}
    assert entries["support_bot"]["kind"] == "claw"
    assert entries["support_bot"]["enabled"] is False

    r = c.post("/api/v1/admin/enable", headers=ADMIN, json={"agent": "support_bot"})
    assert r.json() == {"status": "enabled", "agent": "support_bot", "scope": "agent"}
    assert c.post(MESSAGE, headers=APP, json={"message": "hi"}).status_code == 200


def test_global_kill_switch_stops_everything(demo, llm) -> None:
    c = keyed(demo)
    for _ in range(100):
        llm.reply("working", delay=0.05)
    assert c.post("/api/v1/forge/code_builder/start", headers=APP).status_code == 200
    r = c.post("/api/v1/admin/disable", headers=ADMIN, json={"agent": "*", "reason": "incident"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "disabled" and body["scope"] == "global" and body["agent"] is None
    assert body["forge_stopped"] == ["code_builder"]
    for path, payload in [
        (MESSAGE, {"message": "hi"}),
        ("/api/v1/agent/ask", {"agent_id": "Assistant", "query": "q"}),
        ("/api/v1/forge/code_builder/start", {}),
    ]:
        r = c.post(path, headers=APP, json=payload)
        assert r.status_code in (409, 423), path  # 409 while the stopped loop winds down
    status = c.get("/api/v1/admin/status", headers=ADMIN).json()
    assert status["global_disabled"] is True and status["global_reason"] == "incident"
    assert c.post("/api/v1/admin/enable", headers=ADMIN, json={"agent": "*"}).json() == {
        "status": "enabled",
        "agent": None,
        "scope": "global",
    }
    assert c.post(MESSAGE, headers=APP, json={"message": "hi"}).status_code == 200


def test_disable_unknown_agent_is_404(demo) -> None:
    c = keyed(demo)
    r = c.post("/api/v1/admin/disable", headers=ADMIN, json={"agent": "ghost"})
    assert r.status_code == 404
    r = c.post("/api/v1/admin/disable", headers=ADMIN, content="{oops")
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"agnet": "support_bot"}, "unknown field 'agnet' (this endpoint takes: agent, reason)"),
        ({}, "agent: Field required"),
        ({"agent": None}, "agent: Input should be a valid string"),
        ({"agent": ""}, "agent: String should have at least 1 character"),
        ({"agent": ["support_bot"]}, "agent: Input should be a valid string"),
        ({"agent": "support_bot", "reason": 7}, "reason: Input should be a valid string"),
    ],
)
def test_every_agent_must_be_an_explicit_choice(demo, body, needle) -> None:
    c = keyed(demo)
    for endpoint in ("disable", "enable"):
        r = c.post(f"/api/v1/admin/{endpoint}", headers=ADMIN, json=body)
        assert r.status_code == 400, (endpoint, r.json())
        assert needle in r.json()["error"]
    status = c.get("/api/v1/admin/status", headers=ADMIN).json()
    assert status["global_disabled"] is False and status["disabled_agents"] == []
    assert c.post(MESSAGE, headers=APP, json={"message": "hi"}).status_code == 200


def test_confirmations_approve_deny_and_unknown(demo) -> None:
    server = demo(api_keys=(API_KEY,), admin_keys=(ADMIN_KEY,))
    c = server.client
    broker = server.state.confirmations
    results: dict[str, bool] = {}

    def ask(name: str) -> None:  # what the runtime does before a sensitive skill runs
        results[name] = broker.request("support_bot", "refund_order", {"order_id": name}, "k")

    threads = [threading.Thread(target=ask, args=(n,)) for n in ("A1", "B2")]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(c.get("/api/v1/admin/confirmations", headers=ADMIN).json()["confirmations"]) < 2:
        assert time.monotonic() < deadline, "the confirmation requests never appeared"
        time.sleep(0.01)
    pending = c.get("/api/v1/admin/confirmations", headers=ADMIN).json()["confirmations"]
    by_order = {p["arguments"]["order_id"]: p for p in pending}
    assert by_order["A1"]["skill"] == "refund_order" and by_order["A1"]["agent"] == "support_bot"
    r = c.post(
        "/api/v1/confirm", headers=ADMIN, json={"id": by_order["A1"]["id"], "approved": True}
    )
    assert r.json()["status"] == "approved"
    r = c.post(
        "/api/v1/confirm", headers=ADMIN, json={"id": by_order["B2"]["id"], "decision": "deny"}
    )
    assert r.json()["status"] == "denied"
    for t in threads:
        t.join()
    assert results == {"A1": True, "B2": False}
    assert (
        c.post("/api/v1/confirm", headers=ADMIN, json={"id": "nope", "approved": True}).status_code
        == 404
    )
    assert c.post("/api/v1/confirm", headers=ADMIN, json={"id": "x"}).status_code == 400
    assert (
        c.post("/api/v1/confirm", headers=APP, json={"id": "x", "approved": True}).status_code
        == 403
    )


def test_confirmation_times_out_as_denied(demo) -> None:
    server = demo(confirm_timeout_seconds=0.05)
    assert server.state.confirmations.request("support_bot", "refund_order", {}) is False
    assert server.client.get("/api/v1/admin/confirmations").json() == {"confirmations": []}


def _pending(c, deadline: float) -> list[dict]:
    while True:
        items = c.get("/api/v1/admin/confirmations", headers=ADMIN).json()["confirmations"]
        if items:
            return items
        assert time.monotonic() < deadline, "the sensitive skill never asked for approval"
        time.sleep(0.01)


def _tool_result(llm) -> str:
    """The tool message the model received after the skill call."""
    messages = llm.requests[-1].json["messages"]
    return next(m["content"] for m in messages if m["role"] == "tool")


def test_sensitive_skill_waits_for_approval_end_to_end(demo, llm) -> None:
    c = keyed(demo)
    for order, decision in (("A1", True), ("B2", False)):
        llm.reply(tool_calls=[{"name": "refund_order", "arguments": {"order_id": order}}])
        llm.reply(f"done with {order}")
        replies: list[httpx.Response] = []

        def send(o: str = order, out: list[httpx.Response] = replies) -> None:
            out.append(c.post(MESSAGE, headers=APP, json={"message": f"refund {o}"}))

        sender = threading.Thread(target=send)
        sender.start()
        (item,) = _pending(c, time.monotonic() + 30)
        assert item["skill"] == "refund_order" and item["arguments"] == {"order_id": order}
        assert sender.is_alive(), "the message answered before the skill was approved"
        c.post("/api/v1/confirm", headers=ADMIN, json={"id": item["id"], "approved": decision})
        sender.join(30)
        assert replies[0].status_code == 200
        assert replies[0].json()["response"] == f"done with {order}"
        result = _tool_result(llm)
        if decision:
            assert result == f"Refunded {order}"
        else:
            assert "not approved" in result and "Refunded" not in result
