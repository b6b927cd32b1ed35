"""Anthropic messages with tool_use / tool_result against the stub, over real HTTP."""

from __future__ import annotations

from decimal import Decimal

from neam.providers import ToolCall, ToolSpec, get_provider

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub, StubReply

LOOKUP = ToolSpec(
    name="lookup",
    description="Look up an order",
    parameters={"type": "object", "properties": {"order": {"type": "string"}}},
)


def test_tool_use_round_trip(anthropic_stub: LLMStub) -> None:
    provider = get_provider(
        {"provider": "anthropic", "model": "claude-3-5-sonnet-20241022"},
        env={**anthropic_stub.env("sk-ant-test"), **FAST_RETRY_ENV},
    )
    anthropic_stub.reply(
        "Let me check.",
        tool_calls=[{"id": "toolu_7", "name": "lookup", "arguments": {"order": "42"}}],
        usage={"input_tokens": 200, "output_tokens": 30},
    )
    messages = [
        {"role": "system", "content": "You are support."},
        {"role": "user", "content": "Where is order 42?"},
    ]
    first = provider.chat(messages, [LOOKUP])

    assert first.text == "Let me check."
    assert first.tool_calls == [ToolCall("toolu_7", "lookup", {"order": "42"})]
    assert first.stop_reason == "tool_use"
    assert first.cost == (200 * Decimal(3) + 30 * Decimal(15)) / 10**6
    sent = anthropic_stub.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.header("x-api-key") == "sk-ant-test"
    assert sent.header("anthropic-version") == "2023-06-01"
    assert sent.json["system"] == "You are support."
    assert sent.json["max_tokens"] == 4096
    assert sent.json["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Where is order 42?"}]}
    ]
    assert sent.json["tools"] == [
        {"name": "lookup", "description": "Look up an order", "input_schema": LOOKUP.parameters}
    ]

    anthropic_stub.reply("It ships today.", usage={"input_tokens": 260, "output_tokens": 6})
    messages += [
        {"role": "assistant", "content": first.text, "tool_calls": first.tool_calls},
        {"role": "tool", "tool_call_id": "toolu_7", "name": "lookup", "content": "shipped"},
    ]
    second = provider.chat(messages, [LOOKUP], max_tokens=100)

    assert second.text == "It ships today."
    assert second.tool_calls == []
    follow_up = anthropic_stub.requests[1].json
    assert follow_up["max_tokens"] == 100
    assert follow_up["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_7", "name": "lookup", "input": {"order": "42"}},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_7", "content": "shipped"}],
        },
    ]


def test_parallel_tool_results_share_one_user_turn(anthropic_stub: LLMStub) -> None:
    provider = get_provider(
        {"provider": "anthropic", "model": "claude-3-5-haiku-latest"},
        env={**anthropic_stub.env(), **FAST_RETRY_ENV},
    )
    calls = [ToolCall("t1", "lookup", {"order": "1"}), ToolCall("t2", "lookup", {"order": "2"})]
    resp = provider.chat(
        [
            {"role": "user", "content": "orders 1 and 2?"},
            {"role": "assistant", "content": "", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "t1", "content": "a"},
            {"role": "tool", "tool_call_id": "t2", "content": "b"},
            {"role": "user", "content": "and?"},
        ]
    )
    assert resp.text == "echo: and?"  # the stub rejects non-alternating turns with 400
    last = anthropic_stub.requests[0].json["messages"][-1]
    assert [block["type"] for block in last["content"]] == ["tool_result", "tool_result", "text"]


def test_base_url_ending_in_v1_is_not_doubled(anthropic_stub: LLMStub) -> None:
    provider = get_provider(
        {"provider": "claude", "model": "claude-3-haiku", "base_url": f"{anthropic_stub.url}/v1"},
        env={"ANTHROPIC_API_KEY": "k", **FAST_RETRY_ENV},
    )
    provider.chat([{"role": "user", "content": "hi"}])
    assert anthropic_stub.requests[0].path == "/v1/messages"
    assert provider.context_window == 200000


def test_blank_text_is_not_sent_as_a_block() -> None:
    with LLMStub("anthropic", default=StubReply(text="fixed")) as stub:
        provider = get_provider(
            {"provider": "anthropic", "model": "claude-3-haiku"}, env=stub.env()
        )
        call = ToolCall("t1", "lookup", {})
        resp = provider.chat(
            [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": "  \n", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "t1", "content": "done"},
            ]
        )
        assert resp.text == "fixed"
        assistant = stub.requests[0].json["messages"][1]
        assert assistant["content"] == [
            {"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}
        ]
