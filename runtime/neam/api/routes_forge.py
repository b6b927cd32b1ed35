"""Forge agents: list, start, stop, status (chapter 28.3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from neam.agents.forge_lock import ForgeBusyError
from neam.api import catalog
from neam.api.bodies import Body, parse_body
from neam.api.deps import server
from neam.api.errors import ApiError
from neam.api.forge_jobs import ForgeAlreadyRunningError, ForgeCompletedError

router = APIRouter(prefix="/api/v1/forge")


class StartBody(Body):
    max_iterations: int | None = Field(default=None, ge=1)
    max_cost: float | None = Field(default=None, gt=0)


def _limits(spec: Any) -> dict[str, Any]:
    """The effective limits of a forge spec, as JSON numbers."""
    cost = None if spec.max_cost is None else float(spec.max_cost)
    return {"max_iterations": spec.max_iterations, "max_cost": cost}


@router.get("")
async def list_forge(request: Request) -> dict[str, object]:
    state = server(request)
    runtime = state.require_runtime()
    jobs = state.require_forge()
    agents = []
    for decl in runtime.program.forge_agents.values():
        run = jobs.state(decl.name)  # this process's run, else the one its workspace saved
        agents.append(
            {
                **catalog.basics(decl),
                **_limits(runtime.forge_spec(decl.name)),
                "running": run.running,
                "last_outcome": run.last_outcome,
                "iteration": run.iteration,
                "total_cost": float(run.total_cost),
                "interrupted": run.interrupted,
            }
        )
    return {"forge_agents": agents}


@router.post("/{agent}/start")
async def start(request: Request, agent: str) -> dict[str, object]:
    state = server(request)
    runtime = state.require_runtime()
    catalog.find(runtime.program, "forge", agent)
    state.killswitch.check(agent)
    if state.draining:
        raise ApiError(503, "the server is draining; no new forge loops start", agent=agent)
    body = await parse_body(request, StartBody)
    jobs = state.require_forge()
    # an interrupted run resumes with the limits it was started with, unless overridden
    saved = jobs.resume_limits(agent) or {}
    limits = _limits(
        runtime.forge_spec(
            agent,
            max_iterations=(
                body.max_iterations
                if body.max_iterations is not None
                else saved.get("max_iterations")
            ),
            max_cost=body.max_cost if body.max_cost is not None else saved.get("max_cost"),
        )
    )
    try:
        jobs.start(agent, **limits)
    except ForgeAlreadyRunningError:
        raise ApiError(
            409,
            f"a forge loop is already running for '{agent}'; stop it first",
            agent=agent,
            reason="running",
        ) from None
    except ForgeBusyError as exc:
        raise ApiError(409, str(exc), agent=agent, reason="workspace_locked") from None
    except ForgeCompletedError as exc:
        done = exc.result
        raise ApiError(
            409,
            f"the forge run of '{agent}' already completed ({done.iterations} iterations, "
            f"${done.total_cost}): {done.message}; there is nothing to start",
            agent=agent,
            reason="completed",
        ) from None
    except (ValueError, OSError) as exc:  # an unusable workspace, a corrupt state file
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ApiError(409, message, agent=agent, reason="workspace") from None
    return {"status": "started", "agent": agent, **limits}


@router.post("/{agent}/stop")
async def stop(request: Request, agent: str) -> dict[str, object]:
    state = server(request)
    catalog.find(state.require_runtime().program, "forge", agent)
    if not state.require_forge().stop(agent):
        raise ApiError(409, f"no forge loop is running for '{agent}'", agent=agent)
    return {"status": "stopping", "agent": agent}


@router.get("/{agent}/status")
async def status(request: Request, agent: str) -> dict[str, object]:
    state = server(request)
    catalog.find(state.require_runtime().program, "forge", agent)
    return state.require_forge().state(agent).to_json()
