from neam.agents import compaction


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
