"""Stub LLM servers on 127.0.0.1 that speak the real wire formats.

``LLMStub(kind)`` serves one of:

- ``openai``: ``POST /v1/chat/completions`` (also ``/chat/completions``) with
  ``tool_calls`` and ``usage``; ``GET /v1/models``.
- ``anthropic``: ``POST /v1/messages`` with ``tool_use`` blocks and
  ``usage.input_tokens/output_tokens``.
- ``ollama``: ``POST /api/chat`` with ``message.tool_calls`` and
  ``prompt_eval_count/eval_count``; ``GET /api/tags``.

Replies come from a queue (:meth:`LLMStub.reply`, :meth:`LLMStub.fail`,
:meth:`LLMStub.enqueue`); when it is empty the stub sends its ``default`` reply (a
fixed one, or one chosen by a function of the request body, for clients whose calls
interleave), or else echoes the last user message (``echo: <text>``). Every request is
recorded with its headers and JSON body (:attr:`LLMStub.requests`). Zero
latency unless a reply asks for a delay, or names a ``gate``: then it is held
until the test calls :meth:`LLMStub.release` with that name, so a test can act
while a client is inside a given call.

Control endpoints, for a stub running as its own process:
``POST /_stub/replies`` (a JSON list of reply objects), ``GET /_stub/requests``,
``POST /_stub/reset``.

Standalone: ``python -m tests.support.llm_stubs --port 8000 --kind openai``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

KINDS = ("openai", "anthropic", "ollama")
# Provider environment for tests: no backoff sleeps between retries, three retries.
FAST_RETRY_ENV = {"NEAM_LLM_BACKOFF_BASE": "0", "NEAM_LLM_MAX_RETRIES": "3"}
AUTO = "auto"
_CONTROL = "/_stub/"
# A gated reply is released by the test, or by this bound on a hung test.
GATE_TIMEOUT = 300.0


@dataclass
class StubReply:
    """One queued answer.

    ``usage``: ``"auto"`` (counts from text length), a dict
    ``{"input_tokens", "output_tokens"}``, or ``None`` to omit usage.
    ``status`` other than 200 sends an error body in the provider's format
    (or ``body`` verbatim when given), with ``retry_after`` as a header.
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] | str | None = AUTO
    status: int = 200
    retry_after: float | None = None
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    model: str | None = None
    delay: float = 0.0
    gate: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | str) -> StubReply:
        if isinstance(raw, str):
            return cls(text=raw)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass
class RecordedRequest:
    """A request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    client_port: int

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _last_user_text(kind: str, body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if kind == "anthropic" and isinstance(content, list):
            texts = [b.get("text", "") for b in content if b.get("type") == "text"]
            if texts:
                return "".join(texts)
    return ""


def _validate(kind: str, body: Any) -> str | None:
    """A reason the real API would reject the request, or None."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not body.get("model"):
        return "model is required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    if kind == "anthropic":
        if not isinstance(body.get("max_tokens"), int):
            return "max_tokens is required"
        roles = [m.get("role") for m in messages]
        if roles[0] != "user" or any(a == b for a, b in itertools.pairwise(roles)):
            return "messages must alternate user/assistant, starting with user"
        if any(r not in ("user", "assistant") for r in roles):
            return "roles must be user or assistant"
        for m in messages:
            blocks = m["content"] if isinstance(m.get("content"), list) else []
            if any(b.get("type") == "text" and not str(b.get("text", "")).strip() for b in blocks):
                return "text content blocks must contain non-whitespace text"
    else:
        for m in messages:
            if m.get("role") == "tool" and kind == "openai" and not m.get("tool_call_id"):
                return "tool messages need tool_call_id"
    return None


class _QuietServer(ThreadingHTTPServer):
    """Client disconnects (a timed-out request, a closed pool) are normal here."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LLMStub:
    """A threaded HTTP server on an ephemeral 127.0.0.1 port; use as a context manager."""

    def __init__(
        self,
        kind: str = "openai",
        *,
        port: int = 0,
        api_key: str | None = None,
        model: str = "stub-model",
        default: StubReply | Callable[[dict[str, Any]], StubReply] | None = None,
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.kind = kind
        self.api_key = api_key
        self.model = model
        self.default = default
        self._port = port
        self._queue: deque[StubReply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0
        self._gates: dict[str, threading.Event] = {}

    # lifecycle -----------------------------------------------------------
    def start(self) -> LLMStub:
        self._server = _QuietServer(("127.0.0.1", self._port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._lock:
            for gate in self._gates.values():
                gate.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._server = None

    def __enter__(self) -> LLMStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "stub not started"
        return self._server.server_address[1]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The base URL a provider is configured with (``.../v1`` for OpenAI)."""
        return f"{self.root}/v1" if self.kind == "openai" else self.root

    def env(self, key: str | None = None) -> dict[str, str]:
        """Environment variables pointing the matching provider at this stub."""
        key = key if key is not None else (self.api_key or "sk-stub-key")
        if self.kind == "openai":
            return {"OPENAI_BASE_URL": self.url, "OPENAI_API_KEY": key}
        if self.kind == "anthropic":
            return {"ANTHROPIC_BASE_URL": self.url, "ANTHROPIC_API_KEY": key}
        return {"OLLAMA_HOST": self.url}

    # scripting -------------------------------------------------------------
    def enqueue(self, *replies: StubReply | dict[str, Any] | str) -> None:
        with self._lock:
            for reply in replies:
                self._queue.append(
                    reply if isinstance(reply, StubReply) else StubReply.from_dict(reply)
                )

    def reply(
        self,
        text: str = "",
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        usage: dict[str, int] | str | None = AUTO,
        **extra: Any,
    ) -> None:
        """Queues a successful reply; tool calls are ``{"name", "arguments", "id"?}``."""
        self.enqueue(StubReply(text=text, tool_calls=list(tool_calls or []), usage=usage, **extra))

    def fail(self, status: int, *, retry_after: float | None = None, message: str = "") -> None:
        """Queues an error response (401, 404, 429, 500, ...)."""
        self.enqueue(StubReply(status=status, retry_after=retry_after, message=message))

    def gate(self, name: str) -> threading.Event:
        """The event a reply with ``gate=name`` waits for."""
        with self._lock:
            return self._gates.setdefault(name, threading.Event())

    def release(self, name: str) -> None:
        """Let the replies held at gate ``name`` (and later ones) be sent."""
        self.gate(name).set()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Chat requests received so far (control and GET requests excluded)."""
        with self._lock:
            return [r for r in self._requests if r.method == "POST"]

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    # serving ----------------------------------------------------------------
    def _next(self, body: dict[str, Any]) -> tuple[StubReply, int]:
        """The queued reply (or an echo) and this call's sequence number."""
        with self._lock:
            self._counter += 1
            if self._queue:
                return self._queue.popleft(), self._counter
            n = self._counter
        if callable(self.default):
            return self.default(body), n
        if self.default is not None:
            return self.default, n
        return StubReply(text=f"echo: {_last_user_text(self.kind, body)}"), n

    def _authorised(self, headers: dict[str, str]) -> bool:
        if self.api_key is None:
            return True
        if self.kind == "anthropic":
            return headers.get("x-api-key") == self.api_key
        return headers.get("authorization") == f"Bearer {self.api_key}"

    def error_body(self, status: int, message: str) -> Any:
        kinds = {401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error"}
        err_type = kinds.get(status, "api_error" if status >= 500 else "invalid_request_error")
        message = message or f"stub error {status}"
        if self.kind == "anthropic":
            return {"type": "error", "error": {"type": err_type, "message": message}}
        if self.kind == "ollama":
            return {"error": message}
        return {"error": {"message": message, "type": err_type, "code": status}}

    def success_body(self, reply: StubReply, body: dict[str, Any], n: int) -> dict[str, Any]:
        model = reply.model or body.get("model") or self.model
        calls = [
            {
                "id": c.get("id") or f"call_{n}_{i}",
                "name": c["name"],
                "arguments": c.get("arguments", {}),
            }
            for i, c in enumerate(reply.tool_calls)
        ]
        if reply.usage == AUTO:
            usage: dict[str, int] | None = {
                "input_tokens": _tokens(json.dumps(body.get("messages"))),
                "output_tokens": _tokens(reply.text + json.dumps([c["arguments"] for c in calls])),
            }
        else:
            usage = reply.usage  # type: ignore[assignment]
        if self.kind == "anthropic":
            return _anthropic_body(n, model, reply.text, calls, usage)
        if self.kind == "ollama":
            return _ollama_body(model, reply.text, calls, usage)
        return _openai_body(n, model, reply.text, calls, usage)


def _openai_body(n, model, text, calls, usage) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for c in calls
        ]
    body: dict[str, Any] = {
        "id": f"chatcmpl-stub{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["input_tokens"] + usage["output_tokens"],
        }
    return body


def _anthropic_body(n, model, text, calls, usage) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [
        {"type": "tool_use", "id": c["id"].replace("call_", "toolu_"), "name": c["name"],
         "input": c["arguments"]}
        for c in calls
    ]  # fmt: skip
    body: dict[str, Any] = {
        "id": f"msg_stub{n}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
    }
    if usage is not None:
        body["usage"] = {
            "input_tokens": usage["input_tokens"],
            "output_tokens": usage["output_tokens"],
        }
    return body


def _ollama_body(model, text, calls, usage) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls
        ]
    body: dict[str, Any] = {
        "model": model,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "message": message,
        "done": True,
        "done_reason": "stop",
    }
    if usage is not None:
        body["prompt_eval_count"] = usage["input_tokens"]
        body["eval_count"] = usage["output_tokens"]
    return body


_CHAT_PATHS = {
    "openai": ("/v1/chat/completions", "/chat/completions"),
    "anthropic": ("/v1/messages",),
    "ollama": ("/api/chat",),
}


def _handler_for(stub: LLMStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            with stub._lock:
                stub._sockets.add(self.connection)

        def finish(self) -> None:
            with stub._lock:
                stub._sockets.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _record(self, body: Any) -> None:
            with stub._lock:
                stub._requests.append(
                    RecordedRequest(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        json=body,
                        client_port=self.client_address[1],
                    )
                )

        def do_GET(self) -> None:
            self._record(None)
            path = self.path.split("?", 1)[0]
            if path == _CONTROL + "requests":
                self._send(200, [asdict(r) for r in stub.requests])
            elif stub.kind == "openai" and path in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [{"id": stub.model, "object": "model"}]})
            elif stub.kind == "ollama" and path == "/api/tags":
                self._send(200, {"models": [{"name": stub.model, "model": stub.model}]})
            elif path in ("/", "/health"):
                self._send(200, {"status": "ok", "kind": stub.kind})
            else:
                self._send(404, stub.error_body(404, f"no route {path}"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            path = self.path.split("?", 1)[0]
            if path.startswith(_CONTROL):
                self._control(path, body)
                return
            self._record(body)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if path not in _CHAT_PATHS[stub.kind]:
                self._send(404, stub.error_body(404, f"no route {path}"))
            elif not stub._authorised(headers):
                self._send(401, stub.error_body(401, "invalid api key"))
            elif (problem := _validate(stub.kind, body)) is not None:
                self._send(400, stub.error_body(400, problem))
            else:
                self._answer(body, *stub._next(body))

        def _answer(self, request: dict[str, Any], reply: StubReply, n: int) -> None:
            if reply.gate is not None:
                stub.gate(reply.gate).wait(GATE_TIMEOUT)
            if reply.delay:
                time.sleep(reply.delay)
            headers = dict(reply.headers)
            if reply.retry_after is not None:
                headers["Retry-After"] = f"{reply.retry_after:g}"
            if reply.status != 200:
                body = reply.body or stub.error_body(reply.status, reply.message)
                self._send(reply.status, body, headers)
            else:
                body = reply.body or stub.success_body(reply, request, n)
                self._send(200, body, headers)

        def _control(self, path: str, body: Any) -> None:
            if path == _CONTROL + "replies" and isinstance(body, list):
                stub.enqueue(*body)
                self._send(200, {"queued": stub.pending})
            elif path == _CONTROL + "reset":
                stub.reset()
                self._send(200, {"reset": True})
            else:
                self._send(400, {"error": "POST /_stub/replies takes a JSON list"})

    return Handler


def load_replies(path: str) -> list[StubReply]:
    """Replies from a JSON/YAML file: a list, or an object with a ``replies`` list."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    items = doc.get("replies", []) if isinstance(doc, dict) else doc
    return [StubReply.from_dict(item) for item in items or []]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stub LLM server on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--kind", choices=KINDS, default="openai")
    parser.add_argument("--api-key", help="reject requests without this key (401)")
    parser.add_argument("--model", default="stub-model")
    parser.add_argument("--replies", help="JSON/YAML file of replies served in order")
    parser.add_argument("--default-text", help="answer this when the queue is empty (not echo)")
    args = parser.parse_args(argv)
    default = StubReply(text=args.default_text) if args.default_text is not None else None
    stub = LLMStub(
        args.kind, port=args.port, api_key=args.api_key, model=args.model, default=default
    )
    if args.replies:
        stub.enqueue(*load_replies(args.replies))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with stub:
        print(f"llm stub ({args.kind}) listening on {stub.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
