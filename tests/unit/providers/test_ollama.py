"""Ollama /api/chat with tools against the stub, over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from neam.providers import ToolSpec, get_provider
from neam.providers.ollama import normalise_host

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

WEATHER = ToolSpec(
    name="weather",
    description="Current weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def test_tool_call_round_trip(ollama_stub: LLMStub) -> None:
    provider = get_provider(
        {
            "provider": "ollama",
            "model": "llama3.1:8b",
            "temperature": 0.1,
            "max_tokens": 50,
            "top_p": 0.8,
        },
        env={**ollama_stub.env(), **FAST_RETRY_ENV},
    )
    ollama_stub.reply(
        tool_calls=[{"name": "weather", "arguments": {"city": "Oslo"}}],
        usage={"input_tokens": 40, "output_tokens": 12},
    )
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    first = provider.chat(messages, [WEATHER])

    assert [(c.name, c.arguments) for c in first.tool_calls] == [("weather", {"city": "Oslo"})]
    assert (first.usage.input_tokens, first.usage.output_tokens) == (40, 12)
    assert first.cost == Decimal(0)  # local model
    sent = ollama_stub.requests[0]
    assert sent.path == "/api/chat"
    assert sent.json["stream"] is False
    assert sent.json["options"] == {"temperature": 0.1, "num_predict": 50, "top_p": 0.8}
    assert sent.json["tools"][0]["function"]["name"] == "weather"
    assert sent.header("authorization") is None

    ollama_stub.reply("It is sunny.", usage=None)
    messages += [
        {"role": "assistant", "content": "", "tool_calls": first.tool_calls},
        {
            "role": "tool",
            "tool_call_id": first.tool_calls[0].id,
            "name": "weather",
            "content": "sun",
        },
    ]
    second = provider.chat(messages, [WEATHER])

    assert second.text == "It is sunny."
    assert second.usage.estimated
    follow_up = ollama_stub.requests[1].json["messages"]
    assert follow_up[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "weather", "arguments": {"city": "Oslo"}}}],
    }
    assert follow_up[2] == {"role": "tool", "content": "sun", "tool_name": "weather"}
    assert provider.context_window == 131072


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("0.0.0.0:11434", "http://127.0.0.1:11434"),
        ("localhost", "http://localhost:11434"),
        ("https://ollama.example/", "https://ollama.example:11434"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ],
)
def test_ollama_host_forms(raw: str, url: str) -> None:
    assert normalise_host(raw) == url


def test_ollama_host_without_scheme_reaches_the_stub(ollama_stub: LLMStub) -> None:
    provider = get_provider(
        {"provider": "ollama", "model": "mistral"},
        env={"OLLAMA_HOST": f"127.0.0.1:{ollama_stub.port}", **FAST_RETRY_ENV},
    )
    assert provider.chat([{"role": "user", "content": "hi"}]).text == "echo: hi"
