"""Fixtures: a real OpenAI-compatible stub server on 127.0.0.1 and runtimes built
from Neam source that talk to it over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from neam.agents.runtime import AgentRuntime
from neam.lang import compile_source

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

# $0.01 per input token, $0.02 per output token for the stub's model.
PRICE_ENV = {"NEAM_PRICE_STUB_MODEL": "10000,20000"}


@pytest.fixture
def stub():
    with LLMStub("openai") as server:
        yield server


@pytest.fixture
def make_runtime(tmp_path, stub):
    def make(source: str, *, emit: Callable[[Any], None] | None = None, **env: str):
        """A runtime for ``source``; ``emit`` receives what its Neam code emits."""
        result = compile_source(source, str(tmp_path / "prog.neam"))
        assert result.program is not None, result.format()
        return AgentRuntime(
            result.program,
            sessions_dir=tmp_path / "sessions",
            workspace_dir=tmp_path / "ws",
            env={**stub.env(), **FAST_RETRY_ENV, **PRICE_ENV, **env},
            emit=emit,
        )

    return make
