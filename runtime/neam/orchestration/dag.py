"""``dag_execute``: run agent nodes in dependency order (Kahn's algorithm).

Nodes are ``{"id", "agent", "task"?, "depends_on"?}``. The whole graph is
validated before anything runs: ids unique and non-empty, agents known,
dependencies known, no cycle. Independent nodes run concurrently on at most
``parallelism`` threads; each node's task is followed by its dependencies'
results. The first failing node stops new nodes from starting; running ones
finish, then :class:`DagError` names the failed node.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol


class DagError(ValueError):
    """An invalid graph (unknown ids or agents, cycles) or a failed node."""


class SpawnRuntime(Protocol):
    def decl(self, name: str, kind: str | None = None) -> Any: ...

    def spawn(self, agent: str, task: str) -> Any: ...


@dataclass(frozen=True)
class Node:
    id: str
    agent: str
    task: str
    depends_on: tuple[str, ...]


def parse_nodes(raw: list[Any]) -> list[Node]:
    if not isinstance(raw, list):
        raise DagError("dag_execute expects a list of node maps")
    nodes: list[Node] = []
    seen: set[str] = set()
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            raise DagError(f"node #{position} is not a map")
        node_id, agent = item.get("id"), item.get("agent")
        if not isinstance(node_id, str) or not node_id:
            raise DagError(f"node #{position} has no id")
        if node_id in seen:
            raise DagError(f"duplicate node id {node_id!r}")
        if not isinstance(agent, str) or not agent:
            raise DagError(f"node {node_id!r} has no agent")
        deps = item.get("depends_on") or []
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise DagError(f"node {node_id!r}: depends_on must be a list of ids")
        seen.add(node_id)
        nodes.append(Node(node_id, agent, str(item.get("task") or ""), tuple(dict.fromkeys(deps))))
    return nodes


def topological_levels(nodes: list[Node]) -> list[list[str]]:
    """Kahn's algorithm by levels; raises on unknown dependencies and cycles."""
    ids = {n.id for n in nodes}
    for node in nodes:
        unknown = [d for d in node.depends_on if d not in ids]
        if unknown:
            raise DagError(f"node {node.id!r} depends on unknown id(s): {', '.join(unknown)}")
    indegree = {n.id: len(n.depends_on) for n in nodes}
    dependents: dict[str, list[str]] = {n.id: [] for n in nodes}
    for node in nodes:
        for dep in node.depends_on:
            dependents[dep].append(node.id)
    level = [n.id for n in nodes if indegree[n.id] == 0]
    levels: list[list[str]] = []
    while level:
        levels.append(level)
        following = []
        for node_id in level:
            for child in dependents[node_id]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    following.append(child)
        level = following
    stuck = [n.id for n in nodes if indegree[n.id] > 0]
    if stuck:
        raise DagError(f"cycle detected among nodes: {', '.join(stuck)}")
    return levels


def result_text(result: Any) -> str:
    """A result as text: strings as they are, anything else (a forge outcome map) as JSON."""
    return result if isinstance(result, str) else json.dumps(result, default=str)


def node_task(node: Node, results: dict[str, Any]) -> str:
    """The node's task followed by the results of its dependencies."""
    if not node.depends_on:
        return node.task
    parts = [node.task, "", "Results of the steps this one depends on:"]
    parts += [f"[{dep}]\n{result_text(results[dep])}" for dep in node.depends_on]
    return "\n".join(parts).strip()


def dag_execute(
    runtime: SpawnRuntime,
    raw_nodes: list[Any],
    *,
    parallelism: int = 4,
    on_node: Callable[[str, str, Any], None] | None = None,
) -> dict[str, Any]:
    """Runs the graph; returns ``{id: result}``. ``on_node(id, phase, result)`` is told
    ``"running"``, ``"succeeded"`` (with the result) or ``"failed"`` (with the error)."""
    nodes = parse_nodes(raw_nodes)
    topological_levels(nodes)
    for node in nodes:
        try:
            runtime.decl(node.agent)
        except LookupError as exc:
            raise DagError(f"node {node.id!r}: {exc}") from None
    by_id = {n.id: n for n in nodes}
    waiting = {n.id: set(n.depends_on) for n in nodes}
    results: dict[str, Any] = {}
    notify = on_node or (lambda _id, _phase, _value: None)
    failure: tuple[str, BaseException] | None = None
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="dag") as pool:
        running: dict[Future[Any], str] = {}

        def start_ready() -> None:
            for node_id in [i for i, deps in waiting.items() if not deps]:
                del waiting[node_id]
                node = by_id[node_id]
                notify(node_id, "running", None)
                running[pool.submit(runtime.spawn, node.agent, node_task(node, results))] = node_id

        start_ready()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                node_id = running.pop(future)
                error = future.exception()
                if error is not None:
                    notify(node_id, "failed", error)
                    failure = failure or (node_id, error)
                    continue
                results[node_id] = future.result()
                notify(node_id, "succeeded", results[node_id])
                for deps in waiting.values():
                    deps.discard(node_id)
            if failure is None:
                start_ready()
    if failure is not None:
        node_id, error = failure
        raise DagError(f"node {node_id!r} failed: {error}") from error
    return {n.id: results[n.id] for n in nodes}
