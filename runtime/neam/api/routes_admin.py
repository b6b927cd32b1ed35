"""Admin: kill switch, monitoring status and confirmations of sensitive skills.

All of these need the admin key (enforced by :mod:`neam.api.auth`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field, model_validator

from neam.api import catalog
from neam.api.bodies import Body, parse_body
from neam.api.deps import note_agent, server
from neam.api.errors import ApiError

router = APIRouter()


EVERY_AGENT = "*"


class SwitchBody(Body):
    """``{"agent": "x"}`` acts on one agent, ``{"agent": "*"}`` on every agent: acting
    on all of them is always an explicit choice, never a missing or misspelt field."""

    agent: str = Field(min_length=1)
    reason: str | None = None

    @property
    def target(self) -> str | None:
        """The agent, or None for every agent."""
        return None if self.agent == EVERY_AGENT else self.agent


class ConfirmBody(Body):
    """``{"id": "...", "approved": true}``; ``approve`` or ``decision`` also accepted."""

    id: str
    approved: bool | None = None
    approve: bool | None = None
    decision: str | None = None

    @model_validator(mode="after")
    def _one_decision(self) -> ConfirmBody:
        if self.verdict is None:
            raise ValueError('give "approved": true|false (or "decision": "approve"|"deny")')
        return self

    @property
    def verdict(self) -> bool | None:
        for flag in (self.approved, self.approve):
            if flag is not None:
                return flag
        words = {"approve": True, "approved": True, "deny": False, "denied": False}
        return words.get((self.decision or "").strip().lower())


async def _switch_request(request: Request) -> SwitchBody:
    """The kill-switch body; its agent (unless ``"*"``) must exist."""
    body = await parse_body(request, SwitchBody)
    agent = body.target
    note_agent(request, agent)
    if agent is not None:
        program = server(request).require_runtime().program
        if catalog.kind_of(program, agent) is None:
            raise ApiError(404, f"no agent named '{agent}'", agent=agent)
    return body


@router.post("/api/v1/admin/disable")
async def disable(request: Request) -> dict[str, object]:
    state = server(request)
    body = await _switch_request(request)
    agent = body.target
    state.killswitch.disable(agent, body.reason)
    stopped: list[str] = []
    if state.forge is not None:
        if agent is None:
            stopped = state.forge.stop_all()
        elif state.forge.stop(agent):
            stopped = [agent]
    denied = state.confirmations.deny_all(agent)
    scope = "global" if agent is None else "agent"
    return {
        "status": "disabled",
        "agent": agent,
        "scope": scope,
        "forge_stopped": stopped,
        "confirmations_denied": denied,
    }


@router.post("/api/v1/admin/enable")
async def enable(request: Request) -> dict[str, object]:
    agent = (await _switch_request(request)).target
    server(request).killswitch.enable(agent)
    return {"status": "enabled", "agent": agent, "scope": "global" if agent is None else "agent"}


@router.get("/api/v1/admin/status")
async def admin_status(request: Request) -> dict[str, object]:
    state = server(request)
    agents = []
    if state.loaded:
        runtime = state.runtime
        assert state.forge is not None
        for kind in catalog.KINDS:
            for name in catalog.names(runtime.program, kind):
                entry: dict[str, object] = {
                    "name": name,
                    "kind": kind,
                    "enabled": not state.killswitch.is_disabled(name),
                }
                if kind == "forge":
                    entry["running"] = state.forge.is_running(name)
                if kind == "claw":  # heartbeats and cron schedules (Schedulable)
                    scheduler = state.scheduler
                    entry["schedule"] = None if scheduler is None else scheduler.status(name)
                # baselines were computed when the program loaded: no Neam code runs here
                entry["monitor"] = runtime.monitor.status(name, compute=False)
                agents.append(entry)
    return {
        **state.killswitch.status(),
        "agents": agents,
        "forge_running": state.forge.running_agents() if state.forge else [],
        "pending_confirmations": len(state.confirmations.pending()),
        "loaded": state.loaded,
        "draining": state.draining,
        "uptime_seconds": state.uptime_seconds,
        "requests_in_flight": state.metrics.in_flight,
    }


@router.get("/api/v1/admin/confirmations")
async def confirmations(request: Request) -> dict[str, object]:
    pending = server(request).confirmations.pending()
    return {"confirmations": [item.to_json() for item in pending]}


@router.post("/api/v1/confirm")
async def confirm(request: Request) -> dict[str, object]:
    state = server(request)
    body = await parse_body(request, ConfirmBody)
    approve = bool(body.verdict)
    item = state.confirmations.decide(body.id, approve)
    if item is None:
        raise ApiError(404, f"no pending confirmation with id '{body.id}'", id=body.id)
    note_agent(request, item.agent)
    return {
        "id": item.id,
        "status": "approved" if approve else "denied",
        "agent": item.agent,
        "skill": item.skill,
    }
