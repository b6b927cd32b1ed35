"""The process-wide HTTP client and the retrying JSON POST every provider uses.

One :class:`httpx.Client` per process, with a bounded connection pool whose
size comes from :func:`configure_pool` (``neam-api --llm-pool-size``) or the
``NEAM_LLM_POOL_SIZE`` environment variable (default 8). Requests that find
every connection busy wait for a free one.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from .credentials import APIKey, redact
from .errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFoundError,
    ProviderResponseError,
    ProviderUnavailableError,
)

log = logging.getLogger("neam.providers")

DEFAULT_POOL_SIZE = 8
RETRYABLE_STATUS = frozenset({408, 409, 429})

_lock = threading.Lock()
_client: httpx.Client | None = None
_pool_size: int | None = None


def _default_pool_size() -> int:
    raw = os.environ.get("NEAM_LLM_POOL_SIZE", "")
    return int(raw) if raw.strip().isdigit() and int(raw) > 0 else DEFAULT_POOL_SIZE


def configure_pool(size: int) -> None:
    """Sets the pool size; an existing client with another size is closed and replaced.

    Call it at startup, before requests are in flight.
    """
    global _client, _pool_size
    if size < 1:
        raise ValueError("LLM connection pool size must be at least 1")
    with _lock:
        if _client is not None and _pool_size != size:
            _client.close()
            _client = None
        _pool_size = size


def pool_size() -> int:
    """The configured pool size (what the shared client uses or will use)."""
    return _pool_size or _default_pool_size()


def shared_client() -> httpx.Client:
    """The one HTTP client of this process, created on first use."""
    global _client, _pool_size
    with _lock:
        if _client is None:
            _pool_size = _pool_size or _default_pool_size()
            _client = httpx.Client(
                limits=httpx.Limits(
                    max_connections=_pool_size, max_keepalive_connections=_pool_size
                ),
                timeout=httpx.Timeout(120.0, connect=10.0),
                follow_redirects=False,
                trust_env=False,
            )
        return _client


def close_shared_client() -> None:
    """Closes the shared client (tests, shutdown); the next call creates a new one."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
            _client = None


def _number(raw: Any, default: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return default
    return value if value >= 0 else default


@dataclass(frozen=True)
class RequestPolicy:
    """Timeouts and retry behaviour of provider requests (seconds)."""

    timeout: float = 120.0
    connect_timeout: float = 10.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 30.0

    @classmethod
    def from_sources(cls, config: Mapping[str, Any], env: Mapping[str, str]) -> RequestPolicy:
        """Agent config (``timeout_seconds``, ``max_retries``) wins over env ``NEAM_LLM_*``."""
        d = cls()
        timeout = config.get("timeout_seconds", env.get("NEAM_LLM_TIMEOUT"))
        return cls(
            timeout=_number(timeout, d.timeout),
            connect_timeout=_number(env.get("NEAM_LLM_CONNECT_TIMEOUT"), d.connect_timeout),
            max_retries=int(
                _number(config.get("max_retries", env.get("NEAM_LLM_MAX_RETRIES")), d.max_retries)
            ),
            backoff_base=_number(env.get("NEAM_LLM_BACKOFF_BASE"), d.backoff_base),
            backoff_max=_number(env.get("NEAM_LLM_BACKOFF_MAX"), d.backoff_max),
            retry_after_max=_number(env.get("NEAM_LLM_RETRY_AFTER_MAX"), d.retry_after_max),
        )

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number ``attempt`` (0-based)."""
        delay = min(self.backoff_max, self.backoff_base * (2**attempt))
        return delay * (0.5 + random.random() / 2)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Reads ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def safe_url(url: str) -> str:
    """The URL without user info or query string, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _split_credentials(url: str) -> tuple[str, httpx.BasicAuth | None, APIKey | None]:
    """Moves ``user:password@`` out of the URL (httpx logs URLs) into basic auth."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    password = unquote(parts.password or "")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, httpx.BasicAuth(unquote(parts.username), password), APIKey("base_url", password)


def _error_detail(response: httpx.Response) -> str:
    """The provider's own error message from a failed response, shortened."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return response.text[:300].strip()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error)[:300]
    if error:
        return str(error)[:300]
    return json.dumps(body)[:300]


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    provider: str,
    headers: Mapping[str, str] | None = None,
    policy: RequestPolicy = RequestPolicy(),
    keys: Iterable[APIKey | None] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """POSTs ``payload`` as JSON and returns the decoded JSON object.

    Retries on connection errors, timeouts, 408/409/429 and 5xx, waiting for
    ``Retry-After`` when given (capped at ``policy.retry_after_max``) and
    exponential backoff otherwise. ``keys`` are scrubbed from every message.
    """
    url, auth, url_secret = _split_credentials(url)
    keys = [*keys, url_secret]
    where = safe_url(url)
    timeout = httpx.Timeout(policy.timeout, connect=policy.connect_timeout)
    client = shared_client()
    last_problem = ""
    for attempt in range(policy.max_retries + 1):
        delay: float | None = None
        try:
            response = client.post(
                url,
                json=payload,
                headers=dict(headers or {}),
                auth=auth or httpx.USE_CLIENT_DEFAULT,
                timeout=timeout,
            )
        except httpx.TransportError as exc:
            last_problem = f"cannot reach {where}: {type(exc).__name__}: {exc}"
        else:
            status = response.status_code
            if status < 300:
                try:
                    data = response.json()
                except (ValueError, RecursionError):  # not JSON, or nested past any use
                    data = None
                if not isinstance(data, dict):
                    raise ProviderResponseError(
                        f"{provider}: {where} returned a response that is not a JSON object",
                        provider=provider,
                        status=status,
                    )
                return data
            detail = redact(_error_detail(response), keys)
            if status in (401, 403):
                raise ProviderAuthError(
                    f"{provider}: authentication failed at {where} (HTTP {status}): {detail}",
                    provider=provider,
                    status=status,
                )
            if status == 404:
                raise ProviderNotFoundError(
                    f"{provider}: not found at {where} (HTTP 404; check the model name and "
                    f"base URL): {detail}",
                    provider=provider,
                    status=status,
                )
            if status not in RETRYABLE_STATUS and status < 500:
                raise ProviderError(
                    f"{provider}: request rejected by {where} (HTTP {status}): {detail}",
                    provider=provider,
                    status=status,
                )
            last_problem = f"HTTP {status} from {where}: {detail}"
            delay = retry_after_seconds(response.headers)
        last_problem = redact(last_problem, keys)
        if attempt == policy.max_retries:
            break
        wait = policy.backoff(attempt) if delay is None else min(delay, policy.retry_after_max)
        log.warning(
            "%s: %s; retry %d/%d in %.2fs",
            provider,
            last_problem,
            attempt + 1,
            policy.max_retries,
            wait,
        )
        sleep(wait)
    raise ProviderUnavailableError(
        f"{provider}: giving up after {policy.max_retries + 1} attempts: {last_problem}",
        provider=provider,
    )
