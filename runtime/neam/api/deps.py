"""Small accessors shared by the route modules."""

from __future__ import annotations

from fastapi import Request

from neam.api.state import ServerState


def server(request: Request) -> ServerState:
    return request.app.state.neam


def note_agent(request: Request, agent: str | None) -> None:
    """Names the agent an admin request acted on, for the audit log."""
    request.state.audit_agent = agent
