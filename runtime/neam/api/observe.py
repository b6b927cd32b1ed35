"""Per-request bookkeeping: in-flight count (for drain), metrics and audit."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neam.api.audit import UNAUDITED_PATHS, AuditLog
from neam.api.metrics import Metrics


class ObserveMiddleware:
    """Outermost middleware, so it also sees requests that auth or limits reject."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, audit: AuditLog) -> None:
        self.app = app
        self.metrics = metrics
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight += 1
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight -= 1
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, elapsed)
            if scope["path"] not in UNAUDITED_PATHS:
                self.audit.record(_entry(scope, template, status, elapsed))


def _entry(scope: Scope, template: str, status: int, elapsed: float) -> dict[str, Any]:
    params = scope.get("path_params") or {}
    state = scope.get("state") or {}
    client = scope.get("client")
    return {
        "principal": state.get("principal", "anonymous"),
        "client": client[0] if client else None,
        "method": scope["method"],
        "endpoint": template,
        "agent": params.get("agent") or state.get("audit_agent"),
        "session": params.get("key"),
        "status": status,
        "latency_ms": round(elapsed * 1000.0, 3),
    }
