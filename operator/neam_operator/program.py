"""Compile a Neam source as the runtime would, and pick the agents a resource runs."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

from neam.lang import compile_source
from neam.lang.neamb import dumps
from neam.lang.program import Program
from neam.orchestration.dag import DagError, parse_nodes, topological_levels

from neam_operator.models import DagNode


@dataclass(frozen=True)
class Compiled:
    """A ForgeRun's program: the selected forge agent and the ``.neamb`` snapshot."""

    agent: str
    neamb: str
    program_hash: str
    max_iterations: int | None


@dataclass(frozen=True)
class CompiledClaw:
    """A ClawAgent's program: the claw agents it serves and the ``.neamb`` snapshot."""

    agents: tuple[str, ...]
    neamb: str
    program_hash: str


@dataclass(frozen=True)
class Rejected:
    reason: str  # "CompileError" | "AgentNotFound"
    message: str


def _max_iterations(config: Any) -> int | None:
    """``loop.max_iterations`` (or a top-level ``max_iterations``) of a forge agent."""
    if not isinstance(config, dict):
        return None
    loop = config.get("loop")
    value = loop.get("max_iterations") if isinstance(loop, dict) else None
    value = value if value is not None else config.get("max_iterations")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@functools.lru_cache(maxsize=32)
def _compile(text: str, filename: str) -> tuple[Program, str, str] | Rejected:
    """``(program, neamb, hash)`` of a source that compiles; the hash names the snapshot.
    Remembered for the last few sources: a burst of runs of one program compiles it once
    (the result is only read, never changed)."""
    res = compile_source(text, filename)
    if not res.ok or res.program is None:
        errors = [str(d) for d in res.errors] or [f"{filename}: compilation failed"]
        return Rejected("CompileError", "\n".join(errors))
    raw = dumps(res.program)
    neamb = raw if isinstance(raw, str) else raw.decode()
    return res.program, neamb, hashlib.sha256(neamb.encode()).hexdigest()[:16]


def compile_forge(text: str, filename: str, agent: str | None) -> Compiled | Rejected:
    """Compile ``text``; select ``agent`` (or the first forge agent)."""
    result = _compile(text, filename)
    if isinstance(result, Rejected):
        return result
    program, neamb, digest = result
    forge = program.forge_agents
    if not forge:
        return Rejected("AgentNotFound", f"{filename}: no forge agent declared")
    name = agent or next(iter(forge))
    if name not in forge:
        known = ", ".join(sorted(forge))
        return Rejected("AgentNotFound", f"{filename}: no forge agent {name!r} (have: {known})")
    return Compiled(name, neamb, digest, _max_iterations(forge[name].config))


def compile_claw(text: str, filename: str, agents: list[str] | None) -> CompiledClaw | Rejected:
    """Compile ``text``; serve ``agents`` (each must be a claw agent), or every claw agent."""
    result = _compile(text, filename)
    if isinstance(result, Rejected):
        return result
    program, neamb, digest = result
    claw = program.claw_agents
    if not claw:
        return Rejected("AgentNotFound", f"{filename}: no claw agent declared")
    missing = [a for a in agents or [] if a not in claw]
    if missing:
        known = ", ".join(sorted(claw))
        names = ", ".join(repr(a) for a in missing)
        return Rejected("AgentNotFound", f"{filename}: no claw agent {names} (have: {known})")
    return CompiledClaw(tuple(dict.fromkeys(agents or claw)), neamb, digest)


@dataclass(frozen=True)
class CompiledDag:
    """An AgentDAG's program: every node's agent exists and the graph has no cycle."""

    neamb: str
    program_hash: str


def compile_dag(text: str, filename: str, nodes: list[DagNode]) -> CompiledDag | Rejected:
    """Compile ``text`` and check the graph against it before anything starts: every
    node's agent is declared (a ``run`` node's is a forge agent), no cycle."""
    result = _compile(text, filename)
    if isinstance(result, Rejected):
        return result
    program, neamb, digest = result
    for node in nodes:
        if program.agent(node.agent) is None:
            message = f"node {node.id}: no agent {node.agent!r} in {filename}"
            return Rejected("AgentNotFound", message)
        if node.run and node.agent not in program.forge_agents:
            return Rejected(
                "AgentNotFound",
                f"node {node.id}: run: true needs a forge agent; {node.agent!r} is not one",
            )
    raw = [{"id": n.id, "agent": n.agent, "depends_on": list(n.depends_on or [])} for n in nodes]
    try:
        topological_levels(parse_nodes(raw))
    except DagError as e:
        return Rejected("InvalidGraph", str(e))
    return CompiledDag(neamb, digest)
