"""API keys never show up in reprs, error messages or logs."""

from __future__ import annotations

import logging
import pickle

import pytest
from neam.providers import ProviderAuthError, ProviderError, get_provider
from neam.providers.credentials import APIKey

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub, StubReply

SECRET = "sk-live-THIS-MUST-NOT-LEAK-1234567890"
USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("kind", "var"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_key_is_sent_but_never_printed(kind: str, var: str, caplog) -> None:
    with LLMStub(kind) as stub:
        # The server echoes the key back in every error body, as some proxies do.
        stub.fail(500, message=f"upstream rejected {SECRET}")
        stub.fail(401, message=f"bad key {SECRET}")
        provider = get_provider(
            {"provider": kind, "model": "m"}, env={**stub.env(SECRET), **FAST_RETRY_ENV}
        )
        with caplog.at_level(logging.DEBUG), pytest.raises(ProviderAuthError) as err:
            provider.chat(USER)

        sent = stub.requests[0]
        assert SECRET in (sent.header("authorization") or "") + (sent.header("x-api-key") or "")
        assert SECRET not in str(err.value)
        assert SECRET not in repr(err.value)
        assert "***" in str(err.value)
        assert SECRET not in caplog.text
        assert SECRET not in repr(provider)
        assert SECRET not in repr(provider.settings)
        assert SECRET not in str(vars(provider))
        assert var in repr(provider)


def test_key_not_leaked_when_retries_are_exhausted(caplog) -> None:
    with LLMStub("openai") as stub:
        for _ in range(4):
            stub.enqueue(StubReply(status=503, body={"error": {"message": f"echo {SECRET}"}}))
        provider = get_provider(
            {"provider": "openai", "model": "m"}, env={**stub.env(SECRET), **FAST_RETRY_ENV}
        )
        with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as err:
            provider.chat(USER)
    assert SECRET not in str(err.value) and SECRET not in caplog.text


def test_api_key_object_hides_its_value() -> None:
    key = APIKey("OPENAI_API_KEY", SECRET)
    assert SECRET not in repr(key) and SECRET not in str(key) and SECRET not in f"{key}"
    assert key.reveal() == SECRET
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_keys_in_agent_config_are_refused_without_echoing_them() -> None:
    with pytest.raises(ProviderError) as err:
        get_provider({"provider": "openai", "model": "m", "api_key": SECRET}, env={})
    assert "api_key_env" in str(err.value)
    assert SECRET not in str(err.value)


def test_credentials_in_base_url_are_sent_as_basic_auth_and_never_logged(caplog) -> None:
    with LLMStub("openai") as stub:
        stub.reply("ok")
        stub.fail(404, message=f"no such thing, {SECRET}")
        url = f"http://user:{SECRET}@127.0.0.1:{stub.port}/v1"
        provider = get_provider(
            {"provider": "openai-compatible", "model": "m", "base_url": url}, env=FAST_RETRY_ENV
        )
        with caplog.at_level(logging.DEBUG):
            assert provider.chat(USER).text == "ok"
            with pytest.raises(ProviderError) as err:
                provider.chat(USER)
        assert stub.requests[0].header("authorization", "").startswith("Basic ")
    assert SECRET not in str(err.value)
    assert SECRET not in repr(provider)
    assert SECRET not in caplog.text
