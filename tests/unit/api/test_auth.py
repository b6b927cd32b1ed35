"""The bearer-key middleware on its own, driven as ASGI: which request passes, which
gets 401 or 403 and with what body and challenge, for every mode (API keys, admin keys,
both, none). No server, no network: the middleware is a pure function of its scope."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from neam.api.auth import AuthMiddleware, is_admin_path, key_id

API, OTHER, ADMIN = "sk-app", "sk-other", "sk-admin"
PASSED = (200, None, None)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def call(
    path: str,
    authorization: bytes | None = None,
    *,
    api: tuple[str, ...] = (API, OTHER),
    admin: tuple[str, ...] = (ADMIN,),
    kind: str = "http",
) -> tuple[int, str | None, bytes | None]:
    """``(status, error, www-authenticate)`` of one request."""
    headers = [(b"accept", b"*/*")]
    if authorization is not None:
        headers.append((b"authorization", authorization))
    scope = {"type": kind, "path": path, "headers": headers}
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = AuthMiddleware(_app, api_keys=api, admin_keys=admin)
    asyncio.run(middleware(scope, None, send))
    start, body = sent
    found = dict(start["headers"])
    error = json.loads(body["body"])["error"] if body["body"] else None
    return start["status"], error, found.get(b"www-authenticate")


def bearer(key: str) -> bytes:
    return f"Bearer {key}".encode()


MISSING = (401, "missing or malformed Authorization: Bearer header", b'Bearer realm="neam-api"')
INVALID = (401, "invalid API key", b'Bearer realm="neam-api"')
FORBIDDEN = (403, "admin endpoints need the admin key (NEAM_ADMIN_KEY)", None)


@pytest.mark.parametrize(
    ("path", "authorization", "expected"),
    [
        ("/api/v1/agents", None, MISSING),
        ("/api/v1/agents", bearer(API), PASSED),
        ("/api/v1/agents", bearer(OTHER), PASSED),  # any of the keys, not only the first
        ("/api/v1/agents", bearer(ADMIN), PASSED),
        ("/api/v1/agents", bearer("sk-ap"), INVALID),
        ("/api/v1/agents", b"bearer " + API.encode(), PASSED),  # the scheme is any case
        ("/api/v1/agents", b"BEARER  " + API.encode() + b" ", PASSED),
        ("/api/v1/agents", API.encode(), MISSING),  # no scheme
        ("/api/v1/agents", b"Basic " + API.encode(), MISSING),
        ("/api/v1/agents", b"Bearer ", MISSING),
        ("/api/v1/agents", b"Bearer    ", MISSING),
        ("/api/v1/admin/status", None, MISSING),
        ("/api/v1/admin/status", bearer(ADMIN), PASSED),
        ("/api/v1/admin/status", bearer(API), FORBIDDEN),
        ("/api/v1/admin/status", bearer(OTHER), FORBIDDEN),
        ("/api/v1/admin/status", bearer("sk-guess"), INVALID),
        ("/api/v1/confirm", bearer(API), FORBIDDEN),
        ("/api/v1/confirm", bearer(ADMIN), PASSED),
        ("/health", None, PASSED),
        ("/ready", None, PASSED),
        ("/startup", None, PASSED),
        ("/healthz", None, MISSING),
    ],
)
def test_with_api_and_admin_keys(path, authorization, expected) -> None:
    assert call(path, authorization) == expected


def test_the_first_authorization_header_decides() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"authorization", b"Basic x"), (b"authorization", bearer(API))]
    scope = {"type": "http", "path": "/api/v1/agents", "headers": headers}
    asyncio.run(AuthMiddleware(_app, api_keys=(API,), admin_keys=())(scope, None, send))
    assert sent[0]["status"] == 401


@pytest.mark.parametrize(
    ("path", "authorization", "expected"),
    [
        ("/api/v1/agents", None, PASSED),
        ("/api/v1/agents", bearer("anything"), PASSED),
        ("/api/v1/admin/status", None, MISSING),
        ("/api/v1/admin/status", bearer(ADMIN), PASSED),
        ("/api/v1/admin/status", bearer("sk-guess"), INVALID),
    ],
)
def test_development_mode_still_guards_admin(path, authorization, expected) -> None:
    assert call(path, authorization, api=()) == expected


@pytest.mark.parametrize(
    ("path", "authorization", "expected"),
    [
        ("/api/v1/agents", bearer(API), PASSED),
        ("/api/v1/admin/status", bearer(API), FORBIDDEN),  # no admin key: nobody is admin
        ("/api/v1/admin/status", None, MISSING),
    ],
)
def test_api_keys_without_an_admin_key(path, authorization, expected) -> None:
    assert call(path, authorization, admin=()) == expected


def test_no_keys_at_all_is_open() -> None:
    assert call("/api/v1/admin/status", None, api=(), admin=()) == PASSED


def test_non_http_scopes_pass_untouched() -> None:
    assert call("/api/v1/agents", None, kind="websocket") == PASSED


def test_the_principal_is_a_fingerprint_even_when_refused() -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "path": "/api/v1/agents",
        "headers": [(b"authorization", bearer("sk-guess"))],
    }

    async def send(message: dict[str, Any]) -> None:
        return None

    asyncio.run(AuthMiddleware(_app, api_keys=(API,), admin_keys=())(scope, None, send))
    assert scope["state"]["principal"] == key_id("sk-guess")
    assert key_id("sk-guess").startswith("key:") and len(key_id("sk-guess")) == 14
    assert "sk-guess" not in key_id("sk-guess")


def test_admin_paths() -> None:
    assert is_admin_path("/api/v1/admin/status")
    assert is_admin_path("/api/v1/confirm")
    assert not is_admin_path("/api/v1/admin")
    assert not is_admin_path("/api/v1/confirmations")
    assert not is_admin_path("/x/api/v1/admin/status")
