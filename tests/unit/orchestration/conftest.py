"""A real OpenAI-compatible stub server on 127.0.0.1 for the orchestration tests."""

from __future__ import annotations

import pytest

from tests.support.llm_stubs import LLMStub


@pytest.fixture
def stub():
    with LLMStub("openai") as server:
        yield server
