"""``spawn``: a single-turn call to any agent, resolved claw -> forge -> plain agent.

A claw or plain agent returns the reply text; a forge agent returns an outcome
map (``outcome``, ``iterations``, ``total_cost``, ``message``) for that one
turn. Neither a session nor the forge loop is involved. An unknown name raises
``AgentNotFoundError("Agent not found: <name>")``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol


class SingleTurnRuntime(Protocol):
    def single_turn(self, agent: str, task: str) -> tuple[Any, str, Any]: ...


def spawn(runtime: SingleTurnRuntime, agent: str, task: str) -> Any:
    return spawn_with_cost(runtime, agent, task)[0]


def spawn_with_cost(runtime: SingleTurnRuntime, agent: str, task: str) -> tuple[Any, Decimal]:
    """``spawn``'s result and what the call cost (a DAG node reports both)."""
    decl, text, cost = runtime.single_turn(agent, str(task))
    if decl.kind == "forge":
        outcome = {"outcome": "completed", "iterations": 1, "total_cost": float(cost)}
        return {**outcome, "message": text}, cost
    return text, cost
