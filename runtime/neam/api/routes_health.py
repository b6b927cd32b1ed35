"""Probes and metrics: /health, /ready, /startup, /api/v1/health, /api/v1/metrics, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, PlainTextResponse

from neam.api.deps import server
from neam.api.version import VERSION

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> dict[str, object]:
    """Liveness: answers as long as the event loop runs; touches nothing else."""
    return {"status": "ok", "uptime_seconds": server(request).uptime_seconds, "version": VERSION}


@router.get("/startup")
async def startup(request: Request) -> JSONResponse:
    state = server(request)
    if state.load_error is not None:
        return JSONResponse({"status": "failed", "error": state.load_error}, status_code=503)
    if not state.loaded:
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse({"status": "started", "program": state.program_path})


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    state = server(request)
    if not state.loaded:
        reason = state.load_error or "the program is not loaded yet"
        body = {"status": "not_ready", "reason": reason}
        return JSONResponse(body, status_code=503)
    providers = state.providers
    body: dict[str, object] = {"status": "ready", "llm_providers": providers}
    if state.draining:
        body |= {"status": "not_ready", "reason": "draining: the server is shutting down"}
    elif providers and not any(v == "healthy" for v in providers.values()):
        reasons = "; ".join(f"{p}: {v}" for p, v in providers.items())
        body |= {"status": "not_ready", "reason": f"no usable LLM provider ({reasons})"}
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


def _pool_stats(request: Request) -> dict[str, object]:
    state = server(request)
    stats: dict[str, object] = dict(state.pool.stats())
    stats["llm_pool_size"] = state.settings.llm_pool_size
    return stats


@router.get("/api/v1/health")
async def api_health(request: Request) -> dict[str, object]:
    state = server(request)
    body: dict[str, object] = {
        "status": "ok" if state.loaded and not state.draining else "degraded",
        "uptime_seconds": state.uptime_seconds,
        "version": VERSION,
        "program": state.program_path,
        "loaded": state.loaded,
        "draining": state.draining,
        "pool": _pool_stats(request),
    }
    if state.loaded:
        program = state.runtime.program
        body["agents"] = {
            "claw": len(state.claw_agents()),
            "forge": len(program.forge_agents),
            "legacy": len(program.agents),
        }
        body["forge_running"] = state.require_forge().running_agents()
    return body


@router.get("/api/v1/metrics")
async def api_metrics(request: Request) -> dict[str, object]:
    state = server(request)
    return {
        "uptime_seconds": state.uptime_seconds,
        **state.metrics.snapshot(),
        "pool": _pool_stats(request),
    }


@router.get("/metrics")
async def prometheus(request: Request) -> PlainTextResponse:
    state = server(request)
    pool = state.pool.stats()
    forge_running = len(state.forge.running_agents()) if state.forge else 0
    gauges = {
        "neam_api_uptime_seconds": ("Seconds since the server started.", state.uptime_seconds),
        "neam_api_in_flight_requests": ("Requests being served.", state.metrics.in_flight),
        "neam_api_ready": (
            "1 when the program is loaded and not draining.",
            float(state.loaded and not state.draining),
        ),
        "neam_api_pool_busy": ("Worker threads running a runtime call.", pool["busy"]),
        "neam_api_pool_queued": ("Runtime calls waiting for a worker.", pool["queued"]),
        "neam_api_pool_size": ("Runtime slots (--pool-size).", pool["pool_size"]),
        "neam_api_forge_running": ("Forge loops in progress.", forge_running),
        "neam_api_pending_confirmations": (
            "Sensitive skill calls awaiting approval.",
            len(state.confirmations.pending()),
        ),
    }
    return PlainTextResponse(
        state.metrics.prometheus(gauges), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
