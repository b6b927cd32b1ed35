"""Cost from reported usage, estimated cost, overrides and context windows."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from neam.providers import ProviderConfigError, get_provider
from neam.providers.pricing import PriceTable, estimate_tokens
from neam.providers.types import Usage

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

USER = [{"role": "user", "content": "x" * 400}]


def chat_cost(stub: LLMStub, model: str, usage, **env: str):
    stub.reply("y" * 40, usage=usage)
    provider = get_provider(
        {"provider": "openai", "model": model}, env={**stub.env(), **FAST_RETRY_ENV, **env}
    )
    return provider.chat(USER)


def test_cost_is_exact_decimal_from_reported_usage(openai_stub: LLMStub) -> None:
    resp = chat_cost(openai_stub, "gpt-4o", {"input_tokens": 1234, "output_tokens": 567})
    assert resp.usage == Usage(1234, 567, estimated=False)
    assert resp.cost == Decimal("0.003085") + Decimal("0.00567")
    assert isinstance(resp.cost, Decimal)


def test_cost_is_estimated_from_text_when_usage_is_missing(openai_stub: LLMStub) -> None:
    resp = chat_cost(openai_stub, "gpt-4o", None)
    assert resp.usage.estimated
    assert resp.usage.input_tokens == 100 and resp.usage.output_tokens == 10
    assert resp.cost == (100 * Decimal("2.50") + 10 * Decimal("10.00")) / 10**6


def test_all_zero_usage_counts_as_not_reported(openai_stub: LLMStub) -> None:
    resp = chat_cost(openai_stub, "gpt-4o", {"input_tokens": 0, "output_tokens": 0})
    assert resp.usage.estimated and resp.cost > 0


def test_dated_snapshots_and_vendor_prefixes_find_their_family() -> None:
    table = PriceTable.load({})
    assert table.lookup("gpt-4o-mini-2024-07-18").input == Decimal("0.15")
    assert table.lookup("gpt-4o-2024-08-06").input == Decimal("2.50")
    assert table.lookup("openai/gpt-4o-mini").output == Decimal("0.60")
    assert table.lookup("claude-sonnet-4-20250514").context_window == 200000
    assert table.lookup("llama3.1:70b").context_window == 131072
    unknown = table.lookup("gpt-4.5-preview")  # not "gpt-4": no boundary after the prefix
    assert not unknown.known and unknown.input == table.default.input


def test_unknown_models_use_the_default_price_unless_local() -> None:
    table = PriceTable.load({})
    assert table.lookup("my-model").input == Decimal("2.50")
    assert table.lookup("my-model", local=True).input == 0
    assert table.lookup("my-model").context_window == 8192


def test_prices_file_and_per_model_env_override(tmp_path: Path, openai_stub: LLMStub) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "default": {"input": "1", "output": "1"},
                "models": {
                    "stub-model": {"input": "1000", "output": "2000", "context_window": 4096},
                    "gpt-4o": {"output": "99"},
                },
            }
        )
    )
    env = {"NEAM_PRICES_FILE": str(prices)}
    table = PriceTable.load(env)
    assert table.lookup("gpt-4o").input == Decimal("2.50")  # merged, not replaced
    assert table.lookup("gpt-4o").output == Decimal("99")
    assert table.lookup("other").input == Decimal("1")

    resp = chat_cost(openai_stub, "stub-model", {"input_tokens": 1000, "output_tokens": 500}, **env)
    assert resp.cost == Decimal(2)
    resp = chat_cost(
        openai_stub,
        "stub-model",
        {"input_tokens": 1000, "output_tokens": 500},
        NEAM_PRICE_STUB_MODEL="0.5,1.5",
        **env,
    )
    assert resp.cost == Decimal("0.0005") + Decimal("0.00075")
    provider = get_provider(
        {"provider": "openai", "model": "stub-model"}, env={**env, "OPENAI_API_KEY": "k"}
    )
    assert provider.context_window == 4096


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEAM_PRICES_FILE": "/nonexistent/prices.json"}, "NEAM_PRICES_FILE"),
        ({"NEAM_PRICE_GPT_4O": "cheap"}, "NEAM_PRICE_GPT_4O"),
        ({"NEAM_PRICE_GPT_4O": "1,-2"}, ">= 0"),
    ],
)
def test_bad_overrides_are_reported(env: dict, message: str) -> None:
    with pytest.raises(ProviderConfigError, match=message):
        get_provider({"provider": "openai", "model": "gpt-4o"}, env={**env, "OPENAI_API_KEY": "k"})


def test_context_window_from_agent_config() -> None:
    provider = get_provider(
        {"provider": "openai", "model": "gpt-4o", "context_window": 32000},
        env={"OPENAI_API_KEY": "k"},
    )
    assert provider.context_window == 32000


def test_estimate_tokens() -> None:
    assert [estimate_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]
