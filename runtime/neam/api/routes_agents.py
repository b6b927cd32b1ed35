"""Legacy (plain) agents: ``GET /api/v1/agents`` and ``POST /api/v1/agent/ask`` (chapter 20)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field

from neam.api import catalog
from neam.api.bodies import Body, parse_body
from neam.api.deps import note_agent, server

router = APIRouter(prefix="/api/v1")


class AskBody(Body):
    agent_id: str = Field(min_length=1)
    query: str = Field(min_length=1)


@router.get("/agents")
async def list_agents(request: Request) -> dict[str, object]:
    program = server(request).require_runtime().program
    return {"agents": [catalog.basics(d) for d in program.agents.values()]}


@router.post("/agent/ask")
async def ask(request: Request) -> dict[str, object]:
    state = server(request)
    runtime = state.require_runtime()
    body = await parse_body(request, AskBody)
    note_agent(request, body.agent_id)
    catalog.find(runtime.program, "legacy", body.agent_id)
    state.killswitch.check(body.agent_id)
    reply = await state.pool.run(runtime.ask_agent, body.agent_id, body.query)
    return {"agent_id": body.agent_id, "response": reply}
