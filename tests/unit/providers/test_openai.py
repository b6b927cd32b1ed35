"""OpenAI chat completions against the stub server, over real HTTP."""

from __future__ import annotations

from decimal import Decimal

from neam.providers import ToolCall, ToolSpec, get_provider

from tests.support.llm_stubs import FAST_RETRY_ENV as FAST
from tests.support.llm_stubs import LLMStub

WRITE_FILE = ToolSpec(
    name="write_file",
    description="Write a file in the workspace",
    parameters={
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)


def provider_for(stub: LLMStub, **config):
    return get_provider(
        {"provider": "openai", "model": "gpt-4o-mini", **config}, env={**stub.env(), **FAST}
    )


def test_tool_call_round_trip(openai_stub: LLMStub) -> None:
    provider = provider_for(openai_stub)
    openai_stub.reply(
        tool_calls=[
            {"id": "call_1", "name": "write_file", "arguments": {"path": "a.txt", "content": "hi"}}
        ],
        usage={"input_tokens": 100, "output_tokens": 20},
    )
    messages = [
        {"role": "system", "content": "You build things."},
        {"role": "user", "content": "Create a.txt"},
    ]
    first = provider.chat(messages, [WRITE_FILE])

    assert first.tool_calls == [
        ToolCall(id="call_1", name="write_file", arguments={"path": "a.txt", "content": "hi"})
    ]
    assert first.text == ""
    sent = openai_stub.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.json["model"] == "gpt-4o-mini"
    assert sent.json["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "write_file",
                "description": "Write a file in the workspace",
                "parameters": WRITE_FILE.parameters,
            },
        }
    ]
    assert sent.json["messages"][0] == {"role": "system", "content": "You build things."}

    openai_stub.reply("Done: wrote a.txt", usage={"input_tokens": 150, "output_tokens": 5})
    messages += [
        {"role": "assistant", "content": "", "tool_calls": first.tool_calls},
        {"role": "tool", "tool_call_id": "call_1", "name": "write_file", "content": "ok"},
    ]
    second = provider.chat(messages, [WRITE_FILE])

    assert second.text == "Done: wrote a.txt"
    assert second.tool_calls == []
    follow_up = openai_stub.requests[1].json["messages"]
    assert follow_up[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {
                    "name": "write_file",
                    "arguments": '{"path": "a.txt", "content": "hi"}',
                },
            }
        ],
    }
    assert follow_up[3] == {"role": "tool", "tool_call_id": "call_1", "content": "ok"}
    assert second.usage.input_tokens == 150 and not second.usage.estimated
    # gpt-4o-mini: 0.15 in / 0.60 out per million tokens
    assert (
        second.cost == Decimal(150) * Decimal("0.15") / 10**6 + Decimal(5) * Decimal("0.60") / 10**6
    )


def test_tool_calls_given_as_dicts_from_a_session_file(openai_stub: LLMStub) -> None:
    provider = provider_for(openai_stub)
    provider.chat(
        [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": "calling",
                "tool_calls": [{"id": "c9", "name": "ls", "arguments": {"dir": "."}}],
            },
            {"role": "tool", "tool_call_id": "c9", "content": "a.txt"},
        ]
    )
    sent = openai_stub.requests[0].json["messages"][1]
    assert sent["content"] == "calling"
    assert sent["tool_calls"][0]["function"] == {"name": "ls", "arguments": '{"dir": "."}'}


def test_sends_bearer_key_temperature_and_max_tokens(openai_stub: LLMStub) -> None:
    provider = provider_for(openai_stub, temperature=0.2, max_tokens=64, top_p=0.5)
    provider.chat([{"role": "user", "content": "hello"}])
    provider.chat([{"role": "user", "content": "hello"}], temperature=0.9, max_tokens=8)

    first, second = openai_stub.requests
    assert first.header("authorization") == "Bearer sk-stub-key"
    assert (first.json["temperature"], first.json["max_tokens"]) == (0.2, 64)
    assert (second.json["temperature"], second.json["max_tokens"]) == (0.9, 8)
    assert first.json["top_p"] == 0.5
    assert "tools" not in first.json


def test_echo_mode_and_reported_model(openai_stub: LLMStub) -> None:
    resp = provider_for(openai_stub).chat([{"role": "user", "content": "ping"}])
    assert resp.text == "echo: ping"
    assert resp.model == "gpt-4o-mini"
    assert resp.usage.input_tokens > 0 and not resp.usage.estimated


def test_openai_compatible_base_url_in_agent_config_needs_no_key() -> None:
    with LLMStub("openai") as stub:
        provider = get_provider(
            {"provider": "openai", "model": "llama-3-8b", "endpoint": stub.url}, env=FAST
        )
        provider.chat([{"role": "user", "content": "hi"}])
        assert stub.requests[0].header("authorization") is None


def test_compatible_kinds_take_their_base_url_from_env() -> None:
    with LLMStub("openai") as stub:
        for kind, var in [
            ("vllm", "VLLM_BASE_URL"),
            ("litellm", "LITELLM_BASE_URL"),
            ("localai", "LOCALAI_BASE_URL"),
            ("openai-compatible", "OPENAI_COMPATIBLE_BASE_URL"),
            ("openai_compatible", "OPENAI_BASE_URL"),
        ]:
            provider = get_provider({"provider": kind, "model": "m"}, env={var: stub.url, **FAST})
            assert provider.chat([{"role": "user", "content": kind}]).text == f"echo: {kind}"
        assert len(stub.requests) == 5


def test_compatible_server_with_named_key_variable() -> None:
    with LLMStub("openai", api_key="vllm-secret") as stub:
        provider = get_provider(
            {"provider": "vllm", "model": "m", "base_url": stub.url, "api_key_env": "MY_VLLM_KEY"},
            env={"MY_VLLM_KEY": "vllm-secret", **FAST},
        )
        assert provider.chat([{"role": "user", "content": "x"}]).text == "echo: x"


def test_bare_base_url_means_v1_and_a_path_is_kept(openai_stub: LLMStub) -> None:
    for base_url, path in [
        (openai_stub.root, "/v1/chat/completions"),
        (f"{openai_stub.root}/", "/v1/chat/completions"),
        (openai_stub.url, "/v1/chat/completions"),
    ]:
        provider = get_provider(
            {"provider": "openai-compatible", "model": "m", "base_url": base_url}, env=FAST
        )
        provider.chat([{"role": "user", "content": "x"}])
        assert openai_stub.requests[-1].path == path
    provider = get_provider(
        {"provider": "openai", "model": "m"},
        env={"OPENAI_API_BASE": f"{openai_stub.root}/proxy/openai", "OPENAI_API_KEY": "k", **FAST},
    )
    assert provider.settings.base_url == f"{openai_stub.root}/proxy/openai"


def test_reasoning_models_get_max_completion_tokens(openai_stub: LLMStub) -> None:
    provider_for(openai_stub, model="o3-mini", max_tokens=10).chat(
        [{"role": "user", "content": "x"}]
    )
    sent = openai_stub.requests[0].json
    assert sent["max_completion_tokens"] == 10 and "max_tokens" not in sent
