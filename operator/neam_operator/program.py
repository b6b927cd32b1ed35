"""Compile a Neam source and pick its forge agent, as the runtime would."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from neam.lang import compile_source
from neam.lang.neamb import dumps


@dataclass(frozen=True)
class Compiled:
    agent: str
    neamb: str
    program_hash: str
    max_iterations: int | None


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


def compile_forge(text: str, filename: str, agent: str | None) -> Compiled | Rejected:
    """Compile ``text``; select ``agent`` (or the first forge agent)."""
    res = compile_source(text, filename)
    if not res.ok or res.program is None:
        errors = [str(d) for d in res.errors] or [f"{filename}: compilation failed"]
        return Rejected("CompileError", "\n".join(errors))
    forge = res.program.forge_agents
    if not forge:
        return Rejected("AgentNotFound", f"{filename}: no forge agent declared")
    name = agent or next(iter(forge))
    if name not in forge:
        known = ", ".join(sorted(forge))
        return Rejected("AgentNotFound", f"{filename}: no forge agent {name!r} (have: {known})")
    raw = dumps(res.program)
    neamb = raw if isinstance(raw, str) else raw.decode()
    digest = hashlib.sha256(neamb.encode()).hexdigest()[:16]
    return Compiled(name, neamb, digest, _max_iterations(forge[name].config))
