"""What the loaded program declares, in the shapes the listing endpoints return."""

from __future__ import annotations

from typing import Any

from neam.api.errors import agent_not_found

KINDS = ("claw", "forge", "legacy")


def _agents(program: Any, kind: str) -> dict[str, Any]:
    attr = {"claw": "claw_agents", "forge": "forge_agents", "legacy": "agents"}[kind]
    return getattr(program, attr)


def find(program: Any, kind: str, name: str) -> Any:
    """The declaration of agent ``name`` of the given kind, or 404."""
    decl = _agents(program, kind).get(name)
    if decl is None:
        raise agent_not_found(name, "legacy" if kind == "legacy" else kind)
    return decl


def names(program: Any, kind: str) -> list[str]:
    return list(_agents(program, kind))


def kind_of(program: Any, name: str) -> str | None:
    for kind in KINDS:
        if name in _agents(program, kind):
            return kind
    return None


def _ref_name(value: Any) -> str:
    return value if isinstance(value, str) else str(getattr(value, "name", value))


def basics(decl: Any) -> dict[str, Any]:
    config = decl.config
    return {"name": decl.name, "provider": config.get("provider"), "model": config.get("model")}


def channels(decl: Any) -> list[str]:
    return [_ref_name(c) for c in decl.config.get("channels") or []]
