"""Per-request bookkeeping: in-flight count (for drain), metrics and audit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neam.api.audit import UNAUDITED_PATHS, AuditLog
from neam.api.metrics import Metrics


class ObserveMiddleware:
    """Outermost middleware, so it also sees requests that auth or limits reject.

    A request refused before routing (401, 403, 413) has no route yet; its
    endpoint template (and agent, session) are found by matching ``routes``, so
    the security-relevant records name what was attempted.
    """

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, audit: AuditLog, routes: Sequence[APIRoute]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.audit = audit
        self.routes = routes

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
            template, params = self._route_of(scope)
            self.metrics.observe(scope["method"], template, status, elapsed)
            if scope["path"] not in UNAUDITED_PATHS:
                self.audit.record(_entry(scope, template, params, status, elapsed))

    def _route_of(self, scope: Scope) -> tuple[str, dict[str, Any]]:
        """The route template and path parameters of the request ("unmatched": none)."""
        route = scope.get("route")
        if route is not None:
            return route.path, scope.get("path_params") or {}
        partial: tuple[str, dict[str, Any]] | None = None
        for candidate in self.routes:
            match, child = candidate.matches(scope)
            if match is Match.FULL:
                return candidate.path, child.get("path_params", {})
            if match is Match.PARTIAL and partial is None:  # the path, another method
                partial = (candidate.path, child.get("path_params", {}))
        return partial or ("unmatched", {})


def _entry(
    scope: Scope, template: str, params: dict[str, Any], status: int, elapsed: float
) -> dict[str, Any]:
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
