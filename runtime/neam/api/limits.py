"""Request-body size limit: 413 before the body reaches a handler."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neam.api.errors import send_error


class BodyLimitMiddleware:
    """Rejects bodies larger than ``max_bytes``.

    A declared ``Content-Length`` is checked up front (the HTTP server enforces
    that the body matches it). A body without one (chunked) is read here, up to
    the limit, and replayed to the application.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                await self._reject(send)
                return
            await self.app(scope, receive, send)
            return
        if not _is_chunked(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._reject(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        message = f"request body too large (limit {self.max_bytes} bytes)"
        await send_error(send, 413, message, [(b"connection", b"close")])


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_chunked(scope: Scope) -> bool:
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope["headers"]
    )
