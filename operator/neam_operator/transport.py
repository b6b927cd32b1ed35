"""lightkube's HTTP exchanges sent with aiohttp: an httpx2 transport.

lightkube builds each request (auth, including exec plugins, paths, bodies) and decodes
each answer; this transport only moves the bytes, with a session of its own of aiohttp,
the HTTP library kopf already runs on. httpx2's default transport (httpcore2 on anyio)
took about twice the operator's CPU per API request, and CPU is what limits a burst.

Answers are read whole before they are returned: fit for requests, not for watches
(the operator's client never watches; kopf does, with its own session).
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import httpx2


def _timeout(request: httpx2.Request) -> aiohttp.ClientTimeout:
    """httpx2's per-request timeouts: connect, and each read (``None``: no limit)."""
    timeout: dict[str, Any] = request.extensions.get("timeout") or {}
    return aiohttp.ClientTimeout(
        total=None, sock_connect=timeout.get("connect"), sock_read=timeout.get("read")
    )


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """Sends httpx2 requests over one aiohttp session of at most ``limit`` connections."""

    def __init__(self, verify: ssl.SSLContext, limit: int) -> None:
        self._verify = verify
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:  # made in the running loop, at the first request
            connector = aiohttp.TCPConnector(limit=self._limit, ssl=self._verify)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        try:
            async with self._open().request(
                request.method,
                str(request.url),
                data=body or None,
                headers=request.headers.multi_items(),
                timeout=_timeout(request),
                allow_redirects=False,
            ) as resp:
                content = await resp.read()
        except TimeoutError as e:  # aiohttp's timeouts are TimeoutErrors
            raise httpx2.ReadTimeout(str(e) or "timed out", request=request) from e
        except aiohttp.ClientConnectorError as e:
            raise httpx2.ConnectError(str(e), request=request) from e
        except aiohttp.ClientError as e:
            raise httpx2.ReadError(str(e) or type(e).__name__, request=request) from e
        # The body is passed on as sent (auto_decompress=False): httpx2 decodes it.
        return httpx2.Response(resp.status, headers=resp.raw_headers, content=content)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
