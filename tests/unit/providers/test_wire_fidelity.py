"""Arbitrary text and tool arguments survive the trip through every wire format."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neam.providers import get_provider

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

text = st.text(min_size=1, max_size=200).filter(lambda s: s.strip())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
arguments = st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=4)


@pytest.mark.parametrize("kind", ["openai", "anthropic", "ollama"])
def test_text_and_arguments_round_trip(kind: str) -> None:
    with LLMStub(kind) as stub:
        provider = get_provider(
            {"provider": kind, "model": "m"}, env={**stub.env(), **FAST_RETRY_ENV}
        )

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(question=text, answer=text, args=arguments)
        def check(question: str, answer: str, args: dict) -> None:
            stub.reset()
            stub.reply(answer, tool_calls=[{"name": "tool", "arguments": args}])
            resp = provider.chat([{"role": "user", "content": question}])
            assert resp.text == answer
            assert resp.tool_calls[0].arguments == args
            sent = stub.requests[0].json["messages"][0]["content"]
            assert sent == question or sent == [{"type": "text", "text": question}]

        check()
