"""JSON errors: every failure leaves the server as ``{"error": "<message>", ...}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import Send

from neam.agents.names import InvalidNameError
from neam.providers import MissingAPIKeyError, ProviderConfigError, ProviderError

log = logging.getLogger("neam.api")


class ApiError(Exception):
    """An error with an HTTP status, a human message and optional extra JSON fields."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


async def send_error(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Sends a JSON error straight from ASGI middleware (before routing)."""
    body = json.dumps({"error": message}, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def agent_not_found(agent: str, kind: str) -> ApiError:
    return ApiError(404, f"no {kind} agent named '{agent}'", agent=agent)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, **exc.extra)

    @app.exception_handler(MissingAPIKeyError)
    async def _missing_key(_: Request, exc: MissingAPIKeyError) -> JSONResponse:
        return error_response(503, str(exc), provider=exc.provider, env_var=exc.env_var)

    @app.exception_handler(ProviderConfigError)
    async def _provider_config(_: Request, exc: ProviderConfigError) -> JSONResponse:
        return error_response(503, f"agent misconfigured: {exc}", provider=exc.provider)

    @app.exception_handler(ProviderError)
    async def _provider(_: Request, exc: ProviderError) -> JSONResponse:
        return error_response(
            502, f"LLM provider failed: {exc}", provider=exc.provider, upstream_status=exc.status
        )

    @app.exception_handler(InvalidNameError)
    async def _invalid_name(_: Request, exc: InvalidNameError) -> JSONResponse:
        return error_response(400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"no route for {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        response = error_response(exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}")
