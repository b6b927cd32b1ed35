"""The ``Orchestrable`` trait: which agent's hooks see a ``spawn`` or a DAG node.

``on_spawn(self, child)`` runs before every ``spawn`` (keyword and function
form) and before every ``dag_execute`` node, ``on_delegate(self, result)``
after it with the result. The hooks are those of the *calling agent*, the agent
whose code makes the call (its skill, guard, verify function or trait method).
Code that runs for no agent (top-level statements and the functions they call)
has no calling agent: there the spawned agent's own impl is told, as the
receiving end of the delegation (``self`` is that agent, ``child`` its name).
Both methods are optional; a missing one is skipped.
"""

from __future__ import annotations

from typing import Any

ORCHESTRABLE = "Orchestrable"
ON_SPAWN = "on_spawn"
ON_DELEGATE = "on_delegate"


def orchestrator_of(program: Any, caller: str | None, spawned: str) -> str | None:
    """The agent whose Orchestrable hooks see ``caller`` spawn ``spawned``, or None."""
    agent = caller if caller is not None else spawned
    return agent if program.impl_for(agent, ORCHESTRABLE) is not None else None


def hook_method(program: Any, agent: str, method: str) -> Any:
    """The ``FunDecl`` of ``agent``'s Orchestrable ``method``, or None."""
    impl = program.impl_for(agent, ORCHESTRABLE)
    return None if impl is None else impl.methods.get(method)
