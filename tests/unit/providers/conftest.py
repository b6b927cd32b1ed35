"""Fixtures for provider tests: stub servers and a fast retry policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from neam.providers import reset_scripts

from tests.support.llm_stubs import LLMStub


@pytest.fixture
def openai_stub() -> Iterator[LLMStub]:
    with LLMStub("openai") as stub:
        yield stub


@pytest.fixture
def anthropic_stub() -> Iterator[LLMStub]:
    with LLMStub("anthropic") as stub:
        yield stub


@pytest.fixture
def ollama_stub() -> Iterator[LLMStub]:
    with LLMStub("ollama") as stub:
        yield stub


@pytest.fixture(autouse=True)
def _fresh_scripts() -> Iterator[None]:
    reset_scripts()
    yield
    reset_scripts()
