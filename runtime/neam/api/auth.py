"""Bearer-key authentication (chapter 28.4).

* ``/health``, ``/ready`` and ``/startup`` are always open (probes).
* With ``NEAM_API_KEY`` set, every other request needs ``Authorization: Bearer
  <key>`` with one of its comma-separated keys (401 otherwise). An admin key is
  accepted wherever an API key is.
* Admin endpoints (``/api/v1/admin/*`` and ``/api/v1/confirm``) need a key from
  ``NEAM_ADMIN_KEY``: 401 without credentials, 403 with a valid non-admin key
  (or when no admin key is configured on a server that has API keys).
* Without ``NEAM_API_KEY`` the server runs in development mode: open, except
  that admin endpoints still demand the admin key when one is configured.

Keys are compared with :func:`hmac.compare_digest` against every configured key
so the time taken does not depend on which key (if any) matched.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from neam.api.errors import send_error

OPEN_PATHS = frozenset({"/health", "/ready", "/startup"})


def is_admin_path(path: str) -> bool:
    return path.startswith("/api/v1/admin/") or path == "/api/v1/confirm"


def key_id(key: str) -> str:
    """A short, non-reversible fingerprint of a key for the audit log."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _matches(candidate: bytes, keys: tuple[bytes, ...]) -> bool:
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key)
    return found


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip()
            return None
    return None


class AuthMiddleware:
    """Pure ASGI middleware: rejects a request before it reaches routing."""

    def __init__(self, app: ASGIApp, *, api_keys: tuple[str, ...], admin_keys: tuple[str, ...]):
        self.app = app
        self.api_keys = tuple(k.encode() for k in api_keys)
        self.admin_keys = tuple(k.encode() for k in admin_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is not None:  # audited for refused requests too: who tried
            scope.setdefault("state", {})["principal"] = key_id(token.decode("latin-1"))
        admin = is_admin_path(scope["path"])
        status, message = self._decide(token, admin)
        if status:
            challenge = [(b"www-authenticate", b'Bearer realm="neam-api"')] if status == 401 else []
            await send_error(send, status, message, challenge)
            return
        await self.app(scope, receive, send)

    def _decide(self, token: bytes | None, admin: bool) -> tuple[int, str]:
        """Returns ``(0, "")`` to let the request through, else a status and message."""
        needs_auth = bool(self.api_keys) or (admin and bool(self.admin_keys))
        if not needs_auth:
            return 0, ""
        if token is None:
            return 401, "missing or malformed Authorization: Bearer header"
        is_admin = _matches(token, self.admin_keys)
        if admin:
            if is_admin:
                return 0, ""
            if _matches(token, self.api_keys):
                return 403, "admin endpoints need the admin key (NEAM_ADMIN_KEY)"
            return 401, "invalid API key"
        if is_admin or _matches(token, self.api_keys):
            return 0, ""
        return 401, "invalid API key"
