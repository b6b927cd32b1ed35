"""The offline scripted provider: sequencing, rules, exhaustion, threads."""

from __future__ import annotations

import json
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from neam.providers import ProviderConfigError, ProviderError, ToolCall, get_provider


def script(tmp_path: Path, doc, name: str = "replies.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if name.endswith(".json") else doc, encoding="utf-8")
    return str(path)


def scripted(path: str, agent: str = "builder", model: str = "gpt-4o-mini", **config):
    return get_provider(
        {"provider": "scripted", "model": model, "name": agent, "scripted_file": path, **config},
        env={},
    )


USER = [{"role": "user", "content": "Build the site"}]


def test_forge_style_tool_call_then_text(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        {
            "replies": [
                {
                    "tool_calls": [
                        {
                            "name": "write_file",
                            "arguments": {"path": "index.html", "content": "<h1>"},
                        }
                    ],
                    "usage": {"input_tokens": 1000, "output_tokens": 100},
                },
                {"text": "Wrote index.html"},
            ]
        },
    )
    provider = scripted(path)
    first = provider.chat(USER)
    expected = ToolCall("call_builder_1_0", "write_file", {"path": "index.html", "content": "<h1>"})
    assert first.tool_calls == [expected]
    assert first.usage.input_tokens == 1000 and not first.usage.estimated
    assert first.cost == Decimal("0.00015") + Decimal("0.00006")
    second = provider.chat([*USER, {"role": "tool", "tool_call_id": "x", "content": "ok"}])
    assert second.text == "Wrote index.html"
    assert second.usage.estimated and second.usage.output_tokens > 0 and second.cost > 0


def test_repeat_last_is_the_default_when_replies_run_out(tmp_path: Path) -> None:
    provider = scripted(script(tmp_path, ["one", "two"]))
    assert [provider.chat(USER).text for _ in range(4)] == ["one", "two", "two", "two"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("cycle", ["one", "two", "one", "two"]), ("echo", ["one", "two", "Build the site"])],
)
def test_exhaustion_modes(tmp_path: Path, mode: str, expected: list[str]) -> None:
    provider = scripted(script(tmp_path, {"on_exhausted": mode, "replies": ["one", "two"]}))
    assert [provider.chat(USER).text for _ in expected] == expected


def test_error_mode_raises_when_used_up(tmp_path: Path) -> None:
    provider = scripted(script(tmp_path, {"on_exhausted": "error", "replies": ["only"]}))
    provider.chat(USER)
    with pytest.raises(ProviderError, match="used up"):
        provider.chat(USER)


def test_rules_match_the_last_user_message_and_are_not_consumed(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        {
            "replies": [
                {"match": ["password", "login"], "text": "Use the reset link."},
                {"match": "saved", "match_role": "tool", "text": "All saved."},
                "Sequential answer",
            ]
        },
    )
    provider = scripted(path, agent="support")
    ask = [{"role": "user", "content": "I forgot my PASSWORD"}]
    assert provider.chat(ask).text == "Use the reset link."
    assert provider.chat(ask).text == "Use the reset link."
    assert provider.chat([{"role": "user", "content": "hello"}]).text == "Sequential answer"
    tool_turn = [*ask, {"role": "tool", "tool_call_id": "1", "content": "file saved"}]
    assert provider.chat(tool_turn).text == "All saved."


def test_each_agent_has_its_own_sequence(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        {
            "replies": [
                {"agent": "writer", "text": "w1"},
                {"text": "shared"},
                {"agent": "writer", "text": "w2"},
                {"agent": "critic", "text": "c1"},
            ]
        },
    )
    writer, critic = scripted(path, agent="writer"), scripted(path, agent="critic")
    writer_again = scripted(path, agent="writer")  # a second provider shares the cursor
    assert writer.chat(USER).text == "w1"
    assert critic.chat(USER).text == "shared"
    assert writer_again.chat(USER).text == "shared"
    assert critic.chat(USER).text == "c1"
    assert writer.chat(USER).text == "w2"


def test_concurrent_calls_consume_each_reply_exactly_once(tmp_path: Path) -> None:
    n = 200
    provider = scripted(
        script(tmp_path, {"on_exhausted": "error", "replies": [str(i) for i in range(n)]})
    )
    seen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(n // 8):
            text = provider.chat(USER).text
            with lock:
                seen.append(text)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen, key=int) == [str(i) for i in range(n)]


def test_yaml_file_from_env(tmp_path: Path) -> None:
    path = script(tmp_path, "replies:\n  - text: from yaml\n", name="replies.yaml")
    provider = get_provider(
        {"provider": "scripted", "model": "m"}, env={"NEAM_SCRIPTED_FILE": path}
    )
    assert provider.chat(USER).text == "from yaml"
    assert provider.context_window == 8192


def test_editing_the_file_restarts_the_script(tmp_path: Path) -> None:
    path = script(tmp_path, ["first"])
    provider = scripted(path)
    assert provider.chat(USER).text == "first"
    Path(path).write_text(json.dumps(["changed", "later"]), encoding="utf-8")
    assert provider.chat(USER).text == "changed"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"replies": [{"txt": "typo"}]}, "unknown field"),
        ({"replies": [{"tool_calls": [{"arguments": {}}]}]}, "tool_calls"),
        ({"on_exhausted": "loop", "replies": []}, "on_exhausted"),
        ({"nothing": 1}, "replies"),
        ({"replies": [{"match": "x", "match_role": "system"}]}, "match_role"),
        ({"replies": [{"text": "x", "delay_ms": "slow"}]}, "must be a number"),
        ({"replies": [{"text": "x", "delay": -1}]}, "from 0 to 600 seconds"),
        ({"replies": [{"text": "x", "delay_ms": 1, "delay": 1}]}, "not both"),
    ],
)
def test_invalid_files_are_reported(tmp_path: Path, doc, message: str) -> None:
    with pytest.raises(ProviderConfigError, match=message):
        scripted(script(tmp_path, doc))


def test_missing_file_and_missing_setting(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match="cannot read"):
        scripted(str(tmp_path / "absent.json"))
    with pytest.raises(ProviderConfigError, match="NEAM_SCRIPTED_FILE"):
        get_provider({"provider": "scripted", "model": "m"}, env={})


def test_documented_examples_are_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "scripted-provider.md").read_text()
    blocks = re.findall(r"```(json|yaml)\n(.*?)```", doc, flags=re.S)
    assert len(blocks) == 3
    for index, (lang, body) in enumerate(blocks):
        path = tmp_path / f"example{index}.{lang}"
        path.write_text(body, encoding="utf-8")
        assert scripted(str(path), agent="site_builder").chat(USER) is not None


def test_documented_claw_example_behaves_as_described(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "scripted-provider.md").read_text()
    claw = re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)[-1]
    path = tmp_path / "claw.yaml"
    path.write_text(claw, encoding="utf-8")
    bot = scripted(str(path), agent="support")
    ask = [{"role": "user", "content": "Where is my order?"}]
    call = bot.chat(ask).tool_calls[0]
    assert call.name == "lookup_order"
    result = {"role": "tool", "tool_call_id": call.id, "content": "status: shipped"}
    assert bot.chat([*ask, result]).text == "Your order has shipped."
    assert bot.chat([{"role": "user", "content": "Hello there"}]).text.startswith("Hello!")
    assert bot.chat([{"role": "user", "content": "What now?"}]).text == "What now?"
