"""The ASGI application: routers, middleware and background program loading."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from neam.api import routes_admin, routes_agents, routes_claw, routes_forge, routes_health
from neam.api.audit import AuditLog
from neam.api.auth import AuthMiddleware
from neam.api.confirmations import ConfirmationBroker
from neam.api.errors import install_error_handlers
from neam.api.limits import BodyLimitMiddleware
from neam.api.loader import load_runtime
from neam.api.metrics import Metrics
from neam.api.observe import ObserveMiddleware
from neam.api.pool import WorkerPool
from neam.api.readiness import check_providers
from neam.api.settings import Settings
from neam.api.state import ServerState
from neam.api.version import VERSION

log = logging.getLogger("neam.api")

Loader = Callable[[Settings, ConfirmationBroker], tuple[Any, Path]]


def warm_baselines(runtime: Any) -> None:
    """Calls every Monitorable agent's ``baseline()`` once, before serving, so the
    admin status never runs Neam code on the event loop."""
    program = runtime.program
    for name in (*program.claw_agents, *program.forge_agents, *program.agents):
        runtime.monitor.baseline(name)


def create_app(
    settings: Settings,
    *,
    loader: Loader = load_runtime,
    on_load_failure: Callable[[str], None] | None = None,
) -> FastAPI:
    """Builds the app; the program loads in the background once the server starts.

    ``on_load_failure`` receives the error text when loading fails (the CLI
    uses it to exit with status 1); without it the failure is only logged and
    the server stays not-ready.
    """
    state = ServerState(
        settings=settings,
        metrics=Metrics(),
        audit=AuditLog(settings.audit_sink, settings.audit_log),
        pool=WorkerPool(
            workers=settings.workers,
            pool_size=settings.effective_pool_size,
            timeout_seconds=settings.timeout_seconds,
        ),
        confirmations=ConfirmationBroker(settings.confirm_timeout_seconds),
    )

    async def load() -> None:
        try:
            runtime, path = await asyncio.to_thread(loader, settings, state.confirmations)
            providers = await asyncio.to_thread(check_providers, runtime)
            await asyncio.to_thread(warm_baselines, runtime)
        except Exception as exc:
            message = f"cannot load the program: {exc}"
            state.load_error = message
            log.error("%s", message)
            if on_load_failure is not None:
                on_load_failure(message)
            return
        state.attach(runtime, str(path), providers)
        log.info("program %s loaded; providers: %s", path, providers or "none")
        try:
            scheduler = state.scheduler = state.schedule()
            await asyncio.to_thread(scheduler.start)  # heartbeat_interval(), cron(): Neam code
            if settings.resume_forge and state.forge is not None:
                resumed = await asyncio.to_thread(state.forge.resume_interrupted)
                if resumed:
                    log.info("resumed interrupted forge runs: %s", ", ".join(resumed))
        except Exception:  # the program serves; what failed here is logged
            log.exception("starting the schedules or resuming forge runs failed")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.dev_mode:
            log.warning("NEAM_API_KEY is not set: development mode, no authentication")
        task = asyncio.create_task(load())
        try:
            yield
        finally:
            task.cancel()
            if state.scheduler is not None:
                state.scheduler.stop()
            if state.forge is not None:
                state.forge.stop_all(interrupt=True)  # resumable after the restart
            if state.runtime is not None:
                state.runtime.cancel_calls()  # no stuck Neam call keeps the process alive
            state.confirmations.deny_all()
            state.pool.shutdown()
            state.audit.close()

    app = FastAPI(
        title="neam-api",
        version=VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.neam = state
    install_error_handlers(app)
    modules = (routes_health, routes_agents, routes_claw, routes_forge, routes_admin)
    for module in modules:
        app.include_router(module.router)
    # Added innermost first: requests pass Observe -> Auth -> BodyLimit -> routes.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuthMiddleware, api_keys=settings.api_keys, admin_keys=settings.admin_keys)
    routes = [route for module in modules for route in module.router.routes]
    app.add_middleware(ObserveMiddleware, metrics=state.metrics, audit=state.audit, routes=routes)
    return app
