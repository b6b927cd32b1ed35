"""Retries with backoff and Retry-After, and the error for each failure kind."""

from __future__ import annotations

import logging
import socket

import pytest
from neam.providers import (
    MissingAPIKeyError,
    ProviderAuthError,
    ProviderConfigError,
    ProviderError,
    ProviderNotFoundError,
    ProviderResponseError,
    ProviderUnavailableError,
    get_provider,
)
from neam.providers.http import RequestPolicy, post_json, retry_after_seconds

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub, StubReply

USER = [{"role": "user", "content": "hi"}]


def openai(stub: LLMStub, **env: str):
    return get_provider(
        {"provider": "openai", "model": "gpt-4o"}, env={**stub.env(), **FAST_RETRY_ENV, **env}
    )


def test_429_with_retry_after_is_retried(openai_stub: LLMStub) -> None:
    openai_stub.fail(429, retry_after=0)
    openai_stub.fail(503, retry_after=0.01)
    openai_stub.reply("finally")
    assert openai(openai_stub).chat(USER).text == "finally"
    assert len(openai_stub.requests) == 3


@pytest.mark.parametrize("kind", ["anthropic", "ollama"])
def test_5xx_is_retried_for_every_provider(kind: str) -> None:
    with LLMStub(kind) as stub:
        stub.fail(500)
        stub.fail(529)
        provider = get_provider(
            {"provider": kind, "model": "m"}, env={**stub.env(), **FAST_RETRY_ENV}
        )
        assert provider.chat(USER).text == "echo: hi"
        assert len(stub.requests) == 3


def test_retries_are_bounded(openai_stub: LLMStub) -> None:
    for _ in range(10):
        openai_stub.fail(500, message="overloaded")
    with pytest.raises(ProviderUnavailableError, match=r"after 3 attempts.*HTTP 500.*overloaded"):
        openai(openai_stub, NEAM_LLM_MAX_RETRIES="2").chat(USER)
    assert len(openai_stub.requests) == 3


def test_retry_after_is_honoured_and_capped(openai_stub: LLMStub) -> None:
    openai_stub.fail(429, retry_after=7)
    openai_stub.fail(429, retry_after=3600)
    openai_stub.enqueue(StubReply(status=429, headers={"retry-after-ms": "250"}))
    openai_stub.fail(500)
    openai_stub.reply("ok")
    waits: list[float] = []
    policy = RequestPolicy(max_retries=5, backoff_base=0.5, backoff_max=4, retry_after_max=30)
    data = post_json(
        f"{openai_stub.url}/chat/completions",
        {"model": "m", "messages": USER},
        provider="openai",
        policy=policy,
        sleep=waits.append,
    )
    assert data["choices"][0]["message"]["content"] == "ok"
    assert waits[:3] == [7.0, 30.0, 0.25]
    assert 2 <= waits[3] <= 4  # backoff 0.5 * 2**3 with jitter, capped at backoff_max


def test_retry_after_http_date_form() -> None:
    import httpx

    assert retry_after_seconds(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after_seconds(httpx.Headers({"Retry-After": "2"})) == 2
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({})) is None


def test_401_is_an_auth_error_and_not_retried() -> None:
    with LLMStub("openai", api_key="sk-right") as stub:
        provider = openai(stub, OPENAI_API_KEY="sk-wrong")
        with pytest.raises(ProviderAuthError, match="HTTP 401") as err:
            provider.chat(USER)
        assert err.value.status == 401
        assert len(stub.requests) == 1


def test_anthropic_401(anthropic_stub: LLMStub) -> None:
    anthropic_stub.fail(401, message="invalid x-api-key")
    provider = get_provider(
        {"provider": "anthropic", "model": "claude-3-haiku"}, env=anthropic_stub.env()
    )
    with pytest.raises(ProviderAuthError, match="invalid x-api-key"):
        provider.chat(USER)


def test_404_names_model_and_url(openai_stub: LLMStub) -> None:
    openai_stub.fail(404, message="The model `gpt-9` does not exist")
    with pytest.raises(ProviderNotFoundError, match=r"gpt-9.*") as err:
        openai(openai_stub).chat(USER)
    assert openai_stub.url in str(err.value)
    assert len(openai_stub.requests) == 1


def test_wrong_path_is_404(openai_stub: LLMStub) -> None:
    provider = get_provider(
        {"provider": "openai", "model": "gpt-4o", "base_url": f"{openai_stub.root}/wrong"},
        env=FAST_RETRY_ENV,
    )
    with pytest.raises(ProviderNotFoundError):
        provider.chat(USER)


def test_other_4xx_is_not_retried(anthropic_stub: LLMStub) -> None:
    provider = get_provider(
        {"provider": "anthropic", "model": "claude-3-haiku"},
        env={**anthropic_stub.env(), **FAST_RETRY_ENV},
    )
    with pytest.raises(ProviderError, match=r"HTTP 400.*alternate"):
        provider.chat([{"role": "assistant", "content": "I start"}])
    assert len(anthropic_stub.requests) == 1


def test_connection_refused_is_unavailable_after_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = get_provider(
        {"provider": "openai-compatible", "model": "m", "base_url": f"http://127.0.0.1:{port}/v1"},
        env={**FAST_RETRY_ENV, "NEAM_LLM_MAX_RETRIES": "1"},
    )
    with pytest.raises(ProviderUnavailableError, match="cannot reach"):
        provider.chat(USER)


def test_malformed_responses(openai_stub: LLMStub) -> None:
    openai_stub.enqueue(StubReply(body=["not", "an", "object"]))
    bad_args = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    openai_stub.enqueue(
        StubReply(body={"choices": [{"message": {"role": "assistant", "tool_calls": [bad_args]}}]})
    )
    deep_args = {**bad_args, "function": {"name": "f", "arguments": "[" * 50_000 + "]" * 50_000}}
    openai_stub.enqueue(
        StubReply(body={"choices": [{"message": {"role": "assistant", "tool_calls": [deep_args]}}]})
    )
    openai_stub.enqueue(StubReply(body={"choices": []}))
    provider = openai(openai_stub)
    with pytest.raises(ProviderResponseError, match="not a JSON object"):
        provider.chat(USER)
    with pytest.raises(ProviderResponseError, match="malformed JSON arguments for tool 'f'"):
        provider.chat(USER)
    with pytest.raises(ProviderResponseError, match="malformed JSON arguments for tool 'f'"):
        provider.chat(USER)
    with pytest.raises(ProviderResponseError, match="no choices"):
        provider.chat(USER)


@pytest.mark.parametrize(
    ("config", "var"),
    [
        ({"provider": "openai", "model": "gpt-4o"}, "OPENAI_API_KEY"),
        ({"provider": "anthropic", "model": "claude-3-haiku"}, "ANTHROPIC_API_KEY"),
        ({"provider": "openai", "model": "gpt-4o", "api_key_env": "TEAM_KEY"}, "TEAM_KEY"),
        (
            {"provider": "ollama", "model": "llama3", "api_key_env": "OLLAMA_PROXY_KEY"},
            "OLLAMA_PROXY_KEY",
        ),
        ({"provider": "vllm", "model": "m", "api_key_env": "VLLM_TOKEN"}, "VLLM_TOKEN"),
    ],
)
def test_missing_key_names_the_variable(config: dict, var: str) -> None:
    with pytest.raises(MissingAPIKeyError, match=var) as err:
        get_provider(config, env={var: "  "})
    assert err.value.env_var == var


def test_self_hosted_openai_base_url_needs_no_key(openai_stub: LLMStub) -> None:
    """OPENAI_BASE_URL naming a local server: no key required, none sent."""
    openai_stub.enqueue("hello")
    provider = get_provider(
        {"provider": "openai", "model": "gpt-4o"}, env={"OPENAI_BASE_URL": openai_stub.url}
    )
    assert provider.chat(USER).text == "hello"
    headers = {k.lower(): v for k, v in openai_stub.requests[-1].headers.items()}
    assert "authorization" not in headers


def test_config_errors() -> None:
    with pytest.raises(ProviderConfigError, match=r"unknown provider 'gemini'.*openai"):
        get_provider({"provider": "gemini", "model": "x"}, env={})
    with pytest.raises(ProviderConfigError, match="no model"):
        get_provider({"provider": "openai"}, env={"OPENAI_API_KEY": "k"})
    with pytest.raises(ProviderConfigError, match="OPENAI_COMPATIBLE_BASE_URL"):
        get_provider({"provider": "openai-compatible", "model": "m"}, env={})
    with pytest.raises(ProviderConfigError, match="temperature"):
        get_provider(
            {"provider": "openai", "model": "m", "temperature": "hot"}, env={"OPENAI_API_KEY": "k"}
        )


def test_retries_are_logged_without_headers(
    openai_stub: LLMStub, caplog: pytest.LogCaptureFixture
) -> None:
    openai_stub.fail(503, retry_after=0)
    with caplog.at_level(logging.WARNING, logger="neam.providers"):
        openai(openai_stub).chat(USER)
    assert "HTTP 503" in caplog.text and "retry 1/3" in caplog.text


def test_timeout_seconds_bounds_each_attempt_and_timeouts_are_retried(
    openai_stub: LLMStub,
) -> None:
    openai_stub.enqueue(StubReply(text="too late", delay=1.0))
    openai_stub.reply("in time")
    provider = get_provider(
        {"provider": "openai", "model": "gpt-4o", "timeout_seconds": 0.1},
        env={**openai_stub.env(), **FAST_RETRY_ENV},
    )
    assert provider.settings.policy.timeout == 0.1
    assert provider.chat(USER).text == "in time"
    assert len(openai_stub.requests) == 2
    openai_stub.enqueue(StubReply(text="too late", delay=1.0))
    impatient = get_provider(
        {"provider": "openai", "model": "gpt-4o", "timeout_seconds": 0.1, "max_retries": 0},
        env=openai_stub.env(),
    )
    with pytest.raises(ProviderUnavailableError, match="ReadTimeout"):
        impatient.chat(USER)
