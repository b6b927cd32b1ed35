from decimal import Decimal

from neam.agents import compaction, jsonl, summarizer


def _turns(users):
    return [{"user": u, "assistant": f"reply to {u}"} for u in users]


def test_durable_facts_are_user_statements_worth_keeping():
    facts = compaction.durable_facts(
        _turns(
            ["Hi there. My name is Ada Lovelace.", "What is 2+2?", "Please remember I prefer tea."]
        )
    )
    assert "My name is Ada Lovelace." in facts
    assert any("prefer tea" in f for f in facts)
    assert not any("2+2" in f for f in facts)


def test_summary_is_bounded_and_chains_previous():
    summary = compaction.summarize(
        "older stuff", _turns([f"question {i} " * 30 for i in range(500)])
    )
    assert len(summary) <= compaction.MAX_SUMMARY_CHARS
    assert summary.startswith("Earlier summary: older stuff")


def test_flush_appends_a_section_to_memory_md(tmp_path):
    compaction.flush_to_memory(tmp_path, "user_1", ["My name is Ada."], "S1")
    compaction.flush_to_memory(tmp_path, "user_2", [], "S2")
    text = (tmp_path / "MEMORY.md").read_text()
    assert "## Session user_1" in text and "- My name is Ada." in text
    assert "## Session user_2" in text and "S2" in text


def test_auto_threshold_is_eighty_percent_of_the_window():
    messages = [{"role": "user", "content": "x" * 4000}]  # ~1000 tokens
    assert compaction.needs_auto_compaction(messages, 1200)
    assert not compaction.needs_auto_compaction(messages, 2000)


def test_transcript_fits_the_budget_and_says_what_it_left_out():
    turns = _turns([f"q{i} " + "x" * 500 for i in range(100)])
    text = summarizer.transcript(turns, 4000)
    assert len(text) <= 4100
    assert text.startswith("(") and "earlier turns left out" in text
    assert "[100] Assistant: reply to q99" in text and "[1] User:" not in text
    short = summarizer.transcript(_turns(["hello"]), 4000)
    assert short == "[1] User: hello\n[1] Assistant: reply to hello"


def test_the_models_reply_is_split_into_summary_and_facts():
    turns = _turns(["My name is Ada."])
    assert summarizer.parse(
        "Summary: Ada said hi.\n\nDurable facts:\n- Name: Ada\n* none", turns
    ) == (
        "Ada said hi.",
        ["Name: Ada"],
    )
    # no facts section: all of it is the summary, the facts are found locally
    assert summarizer.parse("Ada said hi.", turns) == ("Ada said hi.", ["My name is Ada."])
    assert summarizer.parse("Durable facts:\n- none", turns) == ("", [])


CLAW = """
claw agent bot {
  provider: "openai"
  model: "stub-model"
  system: "S."
  workspace: "botspace"
  session: { max_history_turns: MAX, compaction: "MODE" }
  CONTEXT
}
"""


def claw(make_runtime, mode="manual", max_history=30, context=""):
    source = CLAW.replace("MODE", mode).replace("MAX", str(max_history))
    return make_runtime(source.replace("CONTEXT", context))


def test_manual_compaction_summarises_the_oldest_two_thirds_with_the_model(
    make_runtime, stub, tmp_path
):
    rt = claw(make_runtime)
    rt.ask("bot", "k", "My name is Ada. I prefer tea.")
    for i in range(29):
        rt.ask("bot", "k", f"question {i}")
    stub.reply("Ada asked nine questions.\nDurable facts:\n- The user's name is Ada.\n- Tea.")
    report = rt.compact("bot", "k")
    assert report == {
        "status": "compacted",
        "turns_before": 30,
        "turns_after": 20,  # two thirds would be 20, but the last 20 are always kept
        "summary_length": len("Ada asked nine questions."),
        "sessions_compacted": 1,
        "summarizer": "model",
    }
    prompt = stub.requests[-1].json["messages"]
    assert prompt[0] == {"role": "system", "content": summarizer.INSTRUCTIONS}
    sent = prompt[1]["content"]
    assert sent.startswith("Conversation (10 turns):\n[1] User: My name is Ada. I prefer tea.")
    assert "[10] User: question 8" in sent and "question 9" not in sent
    memory = (tmp_path / "ws" / "botspace" / "MEMORY.md").read_text()
    assert "summary by the model" in memory
    assert "- The user's name is Ada.\n- Tea.\n" in memory
    assert "Ada asked nine questions." in memory
    first = jsonl.read_first(tmp_path / "sessions" / "bot" / "k.jsonl")
    assert first["type"] == "summary" and first["summarizer"] == "model"
    assert first["turns_summarized"] == 10 and Decimal(first["cost"]) > 0
    rt.ask("bot", "k", "next")
    system = stub.requests[-1].json["messages"][1]["content"]
    assert system == "Summary of the earlier conversation:\nAda asked nine questions."
    # a later compaction folds the earlier summary in
    for i in range(9):
        rt.ask("bot", "k", f"more {i}")
    stub.reply("Still Ada.")
    assert rt.compact("bot")["turns_after"] == 20
    assert (
        stub.requests[-1]
        .json["messages"][1]["content"]
        .startswith("Earlier summary:\nAda asked nine questions.\n")
    )


def test_a_failed_model_call_falls_back_to_the_local_summary(make_runtime, stub, tmp_path):
    rt = claw(make_runtime)
    for i in range(24):
        rt.ask("bot", "k", f"I prefer option {i}." if i == 0 else f"q{i}")
    for _ in range(4):  # the first try and three retries
        stub.fail(500, message="overloaded")
    report = rt.compact("bot", "k")
    assert report["status"] == "compacted" and report["summarizer"] == "local"
    assert report["fallback_reason"].startswith("session 'k': the model call failed")
    assert "overloaded" in report["fallback_reason"]
    assert (report["turns_before"], report["turns_after"]) == (24, 20)
    first = jsonl.read_first(tmp_path / "sessions" / "bot" / "k.jsonl")
    assert first["summarizer"] == "local" and "overloaded" in first["error"]
    assert first["summary"].startswith("4 earlier turns:")
    memory = (tmp_path / "ws" / "botspace" / "MEMORY.md").read_text()
    assert "local summary" in memory and "- I prefer option 0." in memory


def test_compact_with_nothing_to_compact_says_so_without_a_model_call(make_runtime, stub):
    rt = claw(make_runtime)
    assert rt.compact("bot") == {
        "status": "nothing_to_compact",
        "turns_before": 0,
        "turns_after": 0,
        "summary_length": 0,
        "sessions_compacted": 0,
        "message": "nothing to compact: 'bot' has no sessions",
    }
    for i in range(5):
        rt.ask("bot", "k", f"q{i}")
    calls = len(stub.requests)
    report = rt.compact("bot", "k")
    assert report["status"] == "nothing_to_compact"
    assert report["message"] == (
        "nothing to compact: session 'k' has 5 turns and compaction keeps the most recent 20"
    )
    rt.ask("bot", "other", "hi")
    assert "none of the 2 sessions" in rt.compact("bot")["message"]
    assert len(stub.requests) == calls + 1  # only the turn; compaction asked nothing


def test_auto_compaction_asks_the_model_before_the_turn(make_runtime, stub, tmp_path):
    rt = claw(make_runtime, "auto", 3, "context_window: 600")
    for _ in range(4):
        stub.reply("ok")
    for i in range(4):  # from the fourth turn the prompt is past 80% of 600 tokens
        rt.ask("bot", "k", f"{i}" + "a" * 499)
    assert not any(
        r.json["messages"][0]["content"] == summarizer.INSTRUCTIONS for r in stub.requests
    )  # three turns: all of them kept (max_history_turns)
    stub.reply("Long messages of a's.\nDurable facts:\n- none")
    stub.reply("ok")
    assert rt.ask("bot", "k", "4" + "a" * 499) == "ok"
    summary_call, turn = stub.requests[-2:]
    assert summary_call.json["messages"][0]["content"] == summarizer.INSTRUCTIONS
    assert summary_call.json["messages"][1]["content"].startswith("Conversation (1 turns):")
    assert turn.json["messages"][1]["content"].endswith("Long messages of a's.")
    first = jsonl.read_first(tmp_path / "sessions" / "bot" / "k.jsonl")
    assert (first["summarizer"], first["turns_summarized"]) == ("model", 1)
