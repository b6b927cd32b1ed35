"""The boundary between the language and the agent runtime.

The interpreter evaluates Neam code; everything that needs an LLM (``agent.ask``,
``agent.run``, ``spawn``, ``dag_execute``) or runtime state (``memory_search``,
``session_history``) is delegated to an :class:`AgentHost`. The agent runtime
provides the real implementation; without one, :class:`NoAgentHost` makes every
such call fail with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

NodeCallback = Callable[[str, str, Any], None]
"""``on_node(node_id, phase, value)``: ``running`` (None), ``succeeded`` (the result)
or ``failed`` (the error), called on the thread that called ``dag_execute``."""


class AgentHost(Protocol):
    """What the interpreter needs from the agent runtime."""

    def ask(self, agent: str, message: str, session_key: str | None = None) -> str:
        """One turn with a plain or claw agent; returns the reply text."""

    def run(self, agent: str) -> dict[str, Any]:
        """Runs a forge agent's loop; returns the outcome map."""

    def spawn(self, agent: str, task: str) -> Any:
        """Single-turn call resolved claw -> forge -> plain agent."""

    def dag_execute(
        self, nodes: list[dict[str, Any]], on_node: NodeCallback | None = None
    ) -> dict[str, Any]:
        """Runs DAG nodes in dependency order; returns ``{id: result}``."""

    def memory_search(self, agent: str, query: str, limit: int = 5) -> list[dict[str, Any]]:
        """Semantic-memory search over an agent's workspace."""

    def session_history(self, agent: str, session_key: str) -> list[dict[str, Any]]:
        """The turns of one claw session."""


class AgentUnavailableError(Exception):
    """Raised when Neam code calls an agent but no runtime is attached."""


class NoAgentHost:
    """Host used when only the language is available (``neam run`` without providers)."""

    def _fail(self, what: str) -> Any:
        raise AgentUnavailableError(
            f"{what} needs the agent runtime, but no LLM provider is configured for this run"
        )

    def ask(self, agent: str, message: str, session_key: str | None = None) -> str:
        return self._fail(f"{agent}.ask()")

    def run(self, agent: str) -> dict[str, Any]:
        return self._fail(f"{agent}.run()")

    def spawn(self, agent: str, task: str) -> Any:
        return self._fail(f"spawn {agent}(...)")

    def dag_execute(
        self, nodes: list[dict[str, Any]], on_node: NodeCallback | None = None
    ) -> dict[str, Any]:
        return self._fail("dag_execute()")

    def memory_search(self, agent: str, query: str, limit: int = 5) -> list[dict[str, Any]]:
        return self._fail("memory_search()")

    def session_history(self, agent: str, session_key: str) -> list[dict[str, Any]]:
        return self._fail("session_history()")
