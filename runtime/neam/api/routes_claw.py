"""Claw agents: list, message, reset, compact (chapter 28.2)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field

from neam.api import catalog
from neam.api.bodies import Body, parse_body
from neam.api.deps import server
from neam.api.names import check_session_key

router = APIRouter(prefix="/api/v1/claw")


class MessageBody(Body):
    message: str = Field(min_length=1)


class CompactBody(Body):
    session_key: str | None = None


@router.get("")
async def list_claw(request: Request) -> dict[str, object]:
    state = server(request)
    runtime = state.require_runtime()
    decls = list(state.claw_agents().values())
    counts = await state.pool.run(lambda: [runtime.session_count(d.name) for d in decls])
    return {
        "claw_agents": [
            {**catalog.basics(d), "session_count": n, "channels": catalog.channels(d)}
            for d, n in zip(decls, counts, strict=True)
        ]
    }


@router.post("/{agent}/sessions/{key}/message")
async def message(request: Request, agent: str, key: str) -> dict[str, object]:
    state = server(request)
    runtime = state.require_runtime()
    state.claw_agent(agent)
    check_session_key(key)
    state.killswitch.check(agent)
    body = await parse_body(request, MessageBody)
    reply = await state.pool.run(runtime.ask, agent, key, body.message)
    return {"agent": agent, "session_key": key, "response": reply}


@router.post("/{agent}/sessions/{key}/reset")
async def reset(request: Request, agent: str, key: str) -> dict[str, object]:
    state = server(request)
    runtime = state.require_runtime()
    state.claw_agent(agent)
    check_session_key(key)
    await state.pool.run(runtime.reset_session, agent, key)
    return {
        "agent": agent,
        "session_key": key,
        "status": "reset",
        "message": "Session archived and reset",
    }


@router.post("/{agent}/compact")
async def compact(request: Request, agent: str) -> dict[str, object]:
    state = server(request)
    runtime = state.require_runtime()
    state.claw_agent(agent)
    state.killswitch.check(agent)
    body = await parse_body(request, CompactBody)
    if body.session_key is not None:
        check_session_key(body.session_key)
    result = await state.pool.run(runtime.compact, agent, body.session_key)
    return {"agent": agent, **result}
