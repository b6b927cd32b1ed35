"""Top-level values for the runtime's interpreters.

Skills, guards and verify functions run in interpreters the runtime creates,
which never run the program's top-level code (it may call agents). ``const``
values are defined by the interpreter itself (and kept); this module adds the
top-level ``let`` statements whose value is *pure* — literals, names, lists, maps,
operators, indexing, no calls and no ``spawn`` — so a skill can use
``let greeting = "Hello";`` as it would under ``neam run``. Each interpreter gets
its own copy; changes made later by top-level code are not seen.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from neam.lang import ast


def is_pure(node: Any) -> bool:
    """True when evaluating ``node`` cannot call anything."""
    if isinstance(node, ast.Call | ast.Spawn):
        return False
    if isinstance(node, ast.Node):
        return all(is_pure(getattr(node, f.name)) for f in dataclasses.fields(node))
    if isinstance(node, list):
        return all(is_pure(item) for item in node)
    return True


def prelude_program(program: Any) -> Any:
    """``program`` with its top level reduced to the ``const`` statements (which the
    interpreter evaluates anyway) and the pure ``let`` statements."""
    pure = [
        stmt
        for stmt in program.toplevel
        if isinstance(stmt, ast.Let) and (stmt.const or is_pure(stmt.value))
    ]
    return dataclasses.replace(program, toplevel=pure)
