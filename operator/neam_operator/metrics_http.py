"""``GET /metrics``: the operator's Prometheus registry over HTTP.

Served by aiohttp on the operator's event loop, so a scrape reads the bookkeeping
between two handler steps, never in the middle of one.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


async def serve(registry: CollectorRegistry, host: str, port: int) -> web.AppRunner:
    """Listen on ``host:port``; the caller stops it with ``await runner.cleanup()``."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
