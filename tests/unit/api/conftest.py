"""Fixtures that run the real neam-api app under uvicorn on 127.0.0.1 (ephemeral port)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from neam.api.app import Loader, create_app
from neam.api.loader import load_runtime
from neam.api.settings import Settings

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

WAIT_SECONDS = 30.0


class ApiServer:
    """uvicorn serving ``create_app(settings)`` in a thread; ``client`` talks to it."""

    def __init__(self, settings: Settings, loader: Loader) -> None:
        self.app = create_app(settings, loader=loader)
        self.state = self.app.state.neam
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self.client = httpx.Client(base_url=self.url, timeout=WAIT_SECONDS)

    def start(self) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def wait_loaded(self) -> ApiServer:
        """Polls /startup until the program is loaded."""
        deadline = time.monotonic() + WAIT_SECONDS
        while self.client.get("/startup").status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("program did not load")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.client.close()
        self._server.should_exit = True
        self._thread.join(WAIT_SECONDS)


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[Callable[..., ApiServer]]:
    """``api_server(program=..., loader=..., **settings)`` starts a server; all stop at the end."""
    started: list[ApiServer] = []

    def start(loader: Loader = load_runtime, **overrides: Any) -> ApiServer:
        fields: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "sessions_dir": tmp_path / "sessions",
            "workspace_dir": tmp_path / "workspace",
            "audit_sink": "file",
            "audit_log": tmp_path / "audit.jsonl",
            "env": {},
        }
        fields.update(overrides)
        server = ApiServer(Settings(**fields), loader).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "api" / "agents.neam"


@pytest.fixture
def llm() -> Iterator[LLMStub]:
    """A zero-latency OpenAI-compatible stub; it echoes the last user message by default."""
    with LLMStub("openai") as stub:
        yield stub


@pytest.fixture
def demo(api_server, llm) -> Callable[..., ApiServer]:
    """``demo(**settings)``: the example program served against the stub, already loaded."""

    def start(**overrides: Any) -> ApiServer:
        env = {**llm.env(), **FAST_RETRY_ENV, **overrides.pop("env", {})}
        overrides.setdefault("program", EXAMPLE)
        return api_server(env=env, **overrides).wait_loaded()

    return start
