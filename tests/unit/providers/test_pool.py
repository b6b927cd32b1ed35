"""One HTTP client per process, with a bounded pool whose connections are reused."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from neam.providers import configure_pool, get_provider, shared_client
from neam.providers.http import DEFAULT_POOL_SIZE, pool_size

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub, StubReply

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def restore_pool() -> Iterator[None]:
    yield
    configure_pool(DEFAULT_POOL_SIZE)


def test_one_client_for_all_providers(openai_stub: LLMStub, anthropic_stub: LLMStub) -> None:
    seen: list[str] = []
    client = shared_client()
    client.event_hooks["request"].append(lambda request: seen.append(str(request.url)))
    try:
        a = get_provider({"provider": "openai", "model": "m"}, env=openai_stub.env())
        b = get_provider({"provider": "anthropic", "model": "m"}, env=anthropic_stub.env())
        a.chat(USER)
        b.chat(USER)
    finally:
        client.event_hooks["request"].pop()
    assert shared_client() is client
    assert seen == [f"{openai_stub.url}/chat/completions", f"{anthropic_stub.url}/v1/messages"]


def test_sequential_calls_reuse_one_connection(openai_stub: LLMStub) -> None:
    provider = get_provider({"provider": "openai", "model": "m"}, env=openai_stub.env())
    for _ in range(10):
        provider.chat(USER)
    assert len({r.client_port for r in openai_stub.requests}) == 1


def test_pool_size_bounds_concurrent_connections(openai_stub: LLMStub, restore_pool) -> None:
    configure_pool(2)
    assert pool_size() == 2
    provider = get_provider(
        {"provider": "openai", "model": "m"}, env={**openai_stub.env(), **FAST_RETRY_ENV}
    )
    openai_stub.enqueue(*[StubReply(text="slow", delay=0.05) for _ in range(8)])
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(provider.chat(USER).text)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["slow"] * 8
    assert len({r.client_port for r in openai_stub.requests}) <= 2


def test_configure_pool_replaces_the_client_only_when_the_size_changes(restore_pool) -> None:
    configure_pool(5)
    client = shared_client()
    configure_pool(5)
    assert shared_client() is client
    configure_pool(6)
    assert shared_client() is not client
    with pytest.raises(ValueError):
        configure_pool(0)
