"""Claw agents end to end: sessions on disk, history limits, idle reset, guards,
skills as tools, semantic memory, compaction settings, reset and concurrency, against a
real OpenAI-compatible stub over HTTP."""

from __future__ import annotations

import json
import threading
import time

import pytest
from neam.agents import jsonl
from neam.agents.names import InvalidNameError
from neam.agents.runtime import AgentNotFoundError, AgentRuntime
from neam.lang import compile_source

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

CLAW = """
skill lookup_order {
  description: "Look up an order"
  params: { order_id: string }
  impl(order_id) {
    return "Order " + order_id + ": shipped";
  }
}

guard filter {
  description: "Input and output filter"
  on_observation(text) {
    if (text == "forbidden") { return false; }
    if (text == "swap me") { return "swapped"; }
    return nil;
  }
  on_tool_input(call) {
    if (call["arguments"]["order_id"] == "X-0") { return {"block": "order X-0 is off limits"}; }
    return nil;
  }
  on_tool_output(out) { return out + " [checked]"; }
  on_result(reply) {
    if (reply == "leak") { return "[redacted]"; }
    return nil;
  }
}

guardchain safety = [filter];

claw agent bot {
  provider: "openai"
  model: "stub-model"
  system: "You are helpful."
  skills: [lookup_order]
  guards: [safety]
  workspace: "botspace"
  session: {
    idle_reset_minutes: 30
    max_history_turns: 3
    compaction: "COMPACTION"
  }
  semantic_memory: {
    search: "hybrid"
  }
  CONTEXT
}
"""


def claw_source(compaction: str = "manual", context: str = "") -> str:
    return CLAW.replace("COMPACTION", compaction).replace("CONTEXT", context)


def sent(request) -> list[tuple[str, str]]:
    return [(m["role"], m.get("content") or "") for m in request.json["messages"]]


def session_file(tmp_path, key="k"):
    return tmp_path / "sessions" / "bot" / f"{key}.jsonl"


def test_history_is_sent_and_limited_to_max_history_turns(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    for i in range(5):
        stub.reply(f"answer {i}")
        assert rt.ask("bot", "k", f"question {i}") == f"answer {i}"
    last = sent(stub.requests[-1])
    assert last[0][0] == "system" and last[0][1].startswith("You are helpful.")
    assert last[1:] == [
        ("user", "question 1"),
        ("assistant", "answer 1"),
        ("user", "question 2"),
        ("assistant", "answer 2"),
        ("user", "question 3"),
        ("assistant", "answer 3"),
        ("user", "question 4"),
    ]
    lines = session_file(tmp_path).read_text().splitlines()
    assert [json.loads(line)["user"] for line in lines] == [f"question {i}" for i in range(5)]
    # A new runtime (a restarted pod) picks the history up from disk.
    rt2 = make_runtime(claw_source())
    rt2.ask("bot", "k", "again")
    assert ("user", "question 4") in sent(stub.requests[-1])
    assert rt2.session_count("bot") == 1


def test_session_file_is_appended_not_rewritten(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    rt.ask("bot", "k", "one")
    before = session_file(tmp_path).read_bytes()
    inode = session_file(tmp_path).stat().st_ino
    rt.ask("bot", "k", "two")
    after = session_file(tmp_path).read_bytes()
    assert after.startswith(before) and session_file(tmp_path).stat().st_ino == inode


def test_idle_reset_archives_a_stale_session(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    rt.ask("bot", "k", "old topic")
    path = session_file(tmp_path)
    record = json.loads(path.read_text())
    record["ts"] = time.time() - 31 * 60
    path.write_text(json.dumps(record) + "\n")
    rt2 = make_runtime(claw_source())
    rt2.ask("bot", "k", "new topic")
    assert ("user", "old topic") not in sent(stub.requests[-1])
    assert [json.loads(x)["user"] for x in path.read_text().splitlines()] == ["new topic"]
    assert len(list((path.parent / "archive").iterdir())) == 1


def test_input_guards_replace_or_block(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    reply = rt.ask("bot", "k", "forbidden")
    assert "blocked by guard filter" in reply
    assert stub.requests == []  # never reached the model
    stub.reply("ok")
    rt.ask("bot", "k", "swap me")
    assert sent(stub.requests[-1])[-1] == ("user", "swapped")
    # The blocked turn is recorded but never replayed as context.
    assert ("user", "forbidden") not in sent(stub.requests[-1])


def test_output_guard_replaces_the_reply(make_runtime, stub):
    rt = make_runtime(claw_source())
    stub.reply("leak")
    assert rt.ask("bot", "k", "hi") == "[redacted]"


def test_skill_tool_round_trip_with_tool_guards(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    stub.reply(
        tool_calls=[
            {"id": "c1", "name": "lookup_order", "arguments": {"order_id": "A-1"}},
            {"id": "c2", "name": "lookup_order", "arguments": {"order_id": "X-0"}},
        ]
    )
    stub.reply("Your order A-1 shipped.")
    assert rt.ask("bot", "k", "where is my order?") == "Your order A-1 shipped."
    tools = sent(stub.requests[1])[-2:]
    assert tools[0] == ("tool", "Order A-1: shipped [checked]")
    assert tools[1][0] == "tool" and "order X-0 is off limits" in tools[1][1]
    turn = json.loads(session_file(tmp_path).read_text())
    assert [c["name"] for c in turn["tools"]] == ["lookup_order", "lookup_order"]


def test_semantic_memory_adds_workspace_notes(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    space = tmp_path / "ws" / "botspace"
    space.mkdir(parents=True)
    (space / "policies.md").write_text("Refunds are issued within 14 days.\n\nWe ship from Berlin.")
    rt.ask("bot", "k", "how long do refunds take?")
    system = sent(stub.requests[-1])[0][1]
    assert (
        "Relevant memory:" in system
        and "[policies.md] Refunds are issued within 14 days." in system
    )
    assert rt.memory_search("bot", "refunds", 1)[0]["path"] == "policies.md"


def test_reset_archives_and_starts_fresh(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    rt.ask("bot", "k", "remember this")
    rt.reset_session("bot", "k")
    assert not session_file(tmp_path).exists()
    assert rt.session_count("bot") == 0
    archived = list((tmp_path / "sessions" / "bot" / "archive").iterdir())
    assert len(archived) == 1 and "remember this" in archived[0].read_text()
    rt.ask("bot", "k", "fresh")
    assert ("user", "remember this") not in sent(stub.requests[-1])


def test_torn_last_line_is_skipped(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    rt.ask("bot", "k", "intact")
    with open(session_file(tmp_path), "ab") as fh:
        fh.write(b'{"type":"turn","user":"half-writ')
    rt2 = make_runtime(claw_source())
    rt2.ask("bot", "k", "after crash")
    assert ("user", "intact") in sent(stub.requests[-1])
    users = [r["user"] for r in jsonl.read_all(session_file(tmp_path))]
    assert users == ["intact", "after crash"]


def test_hostile_text_round_trips(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    hostile = 'a\nb "c" \\d \u2028 \x00 ünï 🚀 {"type":"summary"}'
    stub.reply(hostile)
    assert rt.ask("bot", "k", hostile) == hostile
    lines = session_file(tmp_path).read_bytes().splitlines()
    assert len(lines) == 1
    turn = json.loads(lines[0])
    assert turn["user"] == hostile and turn["assistant"] == hostile
    assert rt.session_history("bot", "k")[0]["user"] == hostile


def test_concurrent_asks_to_one_session_are_serialised(make_runtime, stub, tmp_path):
    rt = make_runtime(claw_source())
    count = 40
    threads = [
        threading.Thread(target=rt.ask, args=("bot", "k", f"message {i}")) for i in range(count)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lines = session_file(tmp_path).read_text().splitlines()
    turns = [json.loads(line) for line in lines]
    assert sorted(t["user"] for t in turns) == sorted(f"message {i}" for i in range(count))
    # Serialised: each turn's reply answers its own message (the stub echoes it).
    assert all(t["assistant"] == f"echo: {t['user']}" for t in turns)
    # Each request carried the previous turns in file order (no interleaving).
    for request in stub.requests[1:]:
        history = [c for r, c in sent(request)[1:-1] if r == "user"]
        position = [t["user"] for t in turns].index(sent(request)[-1][1])
        assert history == [t["user"] for t in turns][max(0, position - 3) : position]


def test_other_sessions_proceed_while_one_is_busy(make_runtime, stub):
    rt = make_runtime(claw_source())
    with rt.store.open("bot", "busy", 3):  # hold session "busy" like a long turn would
        done = threading.Event()
        worker = threading.Thread(target=lambda: (rt.ask("bot", "free", "hi"), done.set()))
        worker.start()
        worker.join()
        assert done.is_set()


@pytest.mark.parametrize("key", ["../escape", "a/b", "..", "", ".hidden"])
def test_session_keys_are_validated(make_runtime, stub, key, tmp_path):
    rt = make_runtime(claw_source())
    with pytest.raises(InvalidNameError):
        rt.ask("bot", key, "hi")
    assert not (tmp_path / "escape.jsonl").exists()


def test_wrong_kind_and_unknown_agents(make_runtime, stub):
    rt = make_runtime(claw_source())
    with pytest.raises(AgentNotFoundError, match=r"^Agent not found: ghost$"):
        rt.ask("ghost", "k", "hi")
    with pytest.raises(AgentNotFoundError, match="bot is a claw agent, not a forge agent"):
        rt.run_forge("bot")
    assert stub.requests == []


SETTINGS = """
claw agent quiet {
  provider: "openai"
  model: "stub-model"
  system: "Quiet."
  workspace: "quietspace"
  session: {
    max_history_turns: 4
    compaction: "disabled"
    sessions_dir: "elsewhere"
  }
  semantic_memory: {
    search: "keyword"
    auto_inject: false
    top_k: 1
  }
}

claw agent noflush {
  provider: "openai"
  model: "stub-model"
  workspace: "noflushspace"
  session: { max_history_turns: 2 }
  semantic_memory: { search: "keyword", flush_on_compaction: false }
}
"""


def test_session_and_memory_settings_are_honoured(make_runtime, stub, tmp_path):
    rt = make_runtime(SETTINGS)
    space = tmp_path / "ws" / "quietspace"
    space.mkdir(parents=True)
    (space / "a.md").write_text("apples are red\n\napples are green")
    for i in range(5):
        rt.ask("quiet", "k", f"apples {i}")
    assert "Relevant memory" not in sent(stub.requests[-1])[0][1]  # auto_inject: false
    assert len(rt.memory_search("quiet", "apples")) == 2
    assert (tmp_path / "ws" / "elsewhere" / "quiet" / "k.jsonl").exists()  # sessions_dir
    assert rt.session_count("quiet") == 1
    report = rt.compact("quiet", "k")
    assert (report["status"], report["turns_before"], report["turns_after"]) == ("disabled", 5, 5)
    for i in range(4):
        rt.ask("noflush", "k", f"My name is N{i}.")
    assert rt.compact("noflush", "k")["turns_after"] == 2  # max_history_turns: 2 are kept
    assert not (tmp_path / "ws" / "noflushspace" / "MEMORY.md").exists()


TOOL_AGENT = """
skill lookup_order {
  description: "Look up an order"
  params: { order_id: string }
  impl(order_id) { return "Order " + order_id + ": shipped"; }
}

claw agent bot {
  provider: "PROVIDER"
  model: "stub-model"
  system: "You are helpful."
  skills: [lookup_order]
}
"""


@pytest.mark.parametrize("kind", ["openai", "anthropic", "ollama"])
def test_tool_round_trip_through_each_wire_format(kind, tmp_path):
    with LLMStub(kind) as server:
        program = compile_source(
            TOOL_AGENT.replace("PROVIDER", kind), str(tmp_path / "p.neam")
        ).program
        rt = AgentRuntime(
            program,
            sessions_dir=tmp_path / "s",
            workspace_dir=tmp_path,
            env={**server.env(), **FAST_RETRY_ENV},
        )
        server.reply(
            tool_calls=[{"id": "c1", "name": "lookup_order", "arguments": {"order_id": "A-1"}}]
        )
        server.reply("It shipped.")
        assert rt.ask("bot", "k", "where is A-1?") == "It shipped."
        assert rt.ask("bot", "k", "thanks") == "echo: thanks"
        second = json.dumps(server.requests[1].json)
        assert "Order A-1: shipped" in second
        third = json.dumps(server.requests[2].json)
        assert "where is A-1?" in third and "It shipped." in third


def test_scripted_provider_drives_a_claw_session(tmp_path):
    script = tmp_path / "replies.yaml"
    script.write_text(
        "replies:\n"
        "  - tool_calls: [{name: lookup_order, arguments: {order_id: B-2}}]\n"
        "  - text: Order B-2 is on its way.\n"
        "  - match: bye\n"
        "    text: Goodbye!\n"
    )
    source = TOOL_AGENT.replace("PROVIDER", "scripted").replace(
        'model: "stub-model"', f'model: "scripted"\n  scripted_file: "{script}"'
    )
    program = compile_source(source, str(tmp_path / "p.neam")).program
    rt = AgentRuntime(program, sessions_dir=tmp_path / "s", workspace_dir=tmp_path, env={})
    assert rt.ask("bot", "k", "where is B-2?") == "Order B-2 is on its way."
    assert rt.ask("bot", "k", "ok bye") == "Goodbye!"
    turns = rt.session_history("bot", "k")
    assert turns[0]["tools"][0]["result"] == "Order B-2: shipped"


SENSITIVE = """
skill refund {
  description: "Refund an order"
  params: { order_id: string }
  sensitive: true
  impl(order_id) { workspace_write("refunded.txt", order_id); return "refunded " + order_id; }
}

claw agent bot {
  provider: "openai"
  model: "stub-model"
  skills: [refund]
  workspace: "space"
}
"""


@pytest.mark.parametrize("approve", [True, False])
def test_sensitive_skills_need_the_confirm_hook_to_approve(approve, stub, tmp_path):
    asked = []

    def confirm(agent, skill, arguments, session_key):
        asked.append((agent, skill, arguments, session_key))
        return approve

    program = compile_source(SENSITIVE, str(tmp_path / "p.neam")).program
    rt = AgentRuntime(
        program,
        sessions_dir=tmp_path / "s",
        workspace_dir=tmp_path,
        env={**stub.env(), **FAST_RETRY_ENV},
        confirm=confirm,
    )
    stub.reply(tool_calls=[{"id": "c", "name": "refund", "arguments": {"order_id": "Z-9"}}])
    stub.reply("done")
    rt.ask("bot", "user_7", "refund Z-9")
    assert asked == [("bot", "refund", {"order_id": "Z-9"}, "user_7")]
    tool_result = sent(stub.requests[1])[-1][1]
    assert (tmp_path / "space" / "refunded.txt").exists() is approve
    assert tool_result == (
        "refunded Z-9" if approve else "error: sensitive skill 'refund' was not approved"
    )
