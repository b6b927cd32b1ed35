"""Shared helpers for the language tests."""

from __future__ import annotations

from typing import Any

from neam.lang import Interpreter, Program, compile_source


def program(src: str, filename: str = "t.neam") -> Program:
    result = compile_source(src, filename)
    assert result.program is not None, result.format()
    return result.program


def run(src: str, **kwargs: Any) -> list[Any]:
    """Runs the top-level code of ``src``; returns the emitted values."""
    out: list[Any] = []
    Interpreter(program(src), emit=out.append, **kwargs).run_toplevel()
    return out


class RecordingHost:
    """An AgentHost that records calls and returns canned answers."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def ask(self, agent: str, message: str, session_key: str | None = None) -> str:
        self.calls.append(("ask", agent, message, session_key))
        return f"{agent} says hi"

    def run(self, agent: str) -> dict[str, Any]:
        self.calls.append(("run", agent))
        return {"outcome": "completed", "iterations": 1}

    def spawn(self, agent: str, task: str) -> Any:
        self.calls.append(("spawn", agent, task))
        return f"{agent} did {task}"

    def dag_execute(self, nodes: list[dict[str, Any]], on_node: Any = None) -> dict[str, Any]:
        """Runs the nodes in list order, telling ``on_node`` as the runtime does."""
        self.calls.append(("dag", [n["id"] for n in nodes]))
        results = {}
        for node in nodes:
            if on_node is not None:
                on_node(node["id"], "running", None)
            results[node["id"]] = node["agent"]
            if on_node is not None:
                on_node(node["id"], "succeeded", node["agent"])
        return results

    def memory_search(self, agent: str, query: str, limit: int = 5) -> list[dict[str, Any]]:
        self.calls.append(("memory_search", agent, query, limit))
        return [{"text": query}]

    def session_history(self, agent: str, session_key: str) -> list[dict[str, Any]]:
        self.calls.append(("session_history", agent, session_key))
        return []
