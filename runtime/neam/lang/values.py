"""Neam runtime values and their semantics: truthiness, stringification, operators.

Neam values are plain Python data: nil=None, bool, int/float, str, list and
dict with string keys. Two reference kinds exist only inside the interpreter:
:class:`AgentRef` (an agent named in code, e.g. ``support_bot.ask(q)``) and
:class:`Callable` values (functions, natives, skills).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

# Integers stay below 10**MAX_INT_DIGITS: Python refuses to turn larger ones
# into text (4,300 digits), and they would only grow from here.
MAX_INT_DIGITS = 4000


class NeamValueError(Exception):
    """An operation got values it cannot handle; the interpreter adds the position."""


@dataclass(frozen=True)
class AgentRef:
    """An agent used as a value; ``str()`` is its name (so ``"x: " + self`` works)."""

    name: str

    def __str__(self) -> str:
        return self.name


def type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, AgentRef):
        return "agent"
    return "function"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def truthy(value: Any) -> bool:
    """nil, false, 0, "" and empty lists/maps are false; everything else is true."""
    if value is None or value is False:
        return False
    if is_number(value):
        return value != 0
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _number_text(value: float | int) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if math.isnan(value):
            return "nan"
    return repr(value)


def stringify(value: Any) -> str:
    """The text of a value as ``str()``, ``emit`` and ``+`` show it."""
    if isinstance(value, str):
        return value
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if is_number(value):
        return _number_text(value)
    if isinstance(value, list | dict):
        return json.dumps(to_json_data(value), ensure_ascii=False)
    return str(value)


def to_json_data(value: Any) -> Any:
    """Converts interpreter-only values (agents, functions) to strings for JSON."""
    if isinstance(value, list):
        return [to_json_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_data(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def equal(a: Any, b: Any) -> bool:
    """Structural equality where booleans never equal numbers (``1 == true`` is false)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if is_number(a) and is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def binary(op: str, a: Any, b: Any) -> Any:
    """Arithmetic and comparison operators (``&&``/``||`` short-circuit in the interpreter)."""
    if op == "+":
        if isinstance(a, str) or isinstance(b, str):
            return stringify(a) + stringify(b)
        if is_number(a) and is_number(b):
            return a + b
        if isinstance(a, list) and isinstance(b, list):
            return a + b
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **b}
    elif op == "==":
        return equal(a, b)
    elif op == "in":
        return contains(b, a)
    elif op == "!=":
        return not equal(a, b)
    elif op in ("<", "<=", ">", ">="):
        if (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            if op == "<":
                return a < b
            if op == "<=":
                return a <= b
            if op == ">":
                return a > b
            return a >= b
        raise NeamValueError(f"cannot compare {type_name(a)} and {type_name(b)} with '{op}'")
    elif is_number(a) and is_number(b):
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op in ("/", "%") and b == 0:
            raise NeamValueError("division by zero" if op == "/" else "modulo by zero")
        if op == "/":
            if isinstance(a, int) and isinstance(b, int) and a % b == 0:
                return a // b
            return a / b
        if op == "%":
            return a % b
    elif op == "*" and isinstance(a, str) and isinstance(b, int) and not isinstance(b, bool):
        return a * b
    raise NeamValueError(f"cannot apply '{op}' to {type_name(a)} and {type_name(b)}")


def contains(container: Any, item: Any) -> bool:
    """``item in container``: list membership, substring, or map key."""
    if isinstance(container, list):
        return any(equal(x, item) for x in container)
    if isinstance(container, str) and isinstance(item, str):
        return item in container
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    raise NeamValueError(f"cannot test membership of {type_name(item)} in {type_name(container)}")


def unary(op: str, value: Any) -> Any:
    if op == "!":
        return not truthy(value)
    if is_number(value):
        return -value
    raise NeamValueError(f"cannot negate {type_name(value)}")


def index(obj: Any, key: Any) -> Any:
    if isinstance(obj, dict):
        if not isinstance(key, str):
            raise NeamValueError(f"map keys are strings, not {type_name(key)}")
        return obj.get(key)
    if isinstance(obj, list | str):
        if not isinstance(key, int) or isinstance(key, bool):
            raise NeamValueError(f"{type_name(obj)} index must be an integer, not {type_name(key)}")
        if not -len(obj) <= key < len(obj):
            raise NeamValueError(
                f"index {key} out of range for {type_name(obj)} of length {len(obj)}"
            )
        return obj[key]
    raise NeamValueError(f"cannot index {type_name(obj)}")


def slice_of(obj: Any, start: Any, stop: Any) -> Any:
    """``obj[start:stop]`` for lists and strings; bounds may be nil or negative, and clamp."""
    if not isinstance(obj, list | str):
        raise NeamValueError(f"cannot slice {type_name(obj)}")
    for bound in (start, stop):
        if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
            raise NeamValueError(f"slice bounds must be integers, not {type_name(bound)}")
    return obj[start:stop]


def set_index(obj: Any, key: Any, value: Any) -> None:
    if isinstance(obj, dict):
        if not isinstance(key, str):
            raise NeamValueError(f"map keys are strings, not {type_name(key)}")
        obj[key] = value
        return
    if isinstance(obj, list):
        if not isinstance(key, int) or isinstance(key, bool):
            raise NeamValueError(f"list index must be an integer, not {type_name(key)}")
        if not -len(obj) <= key < len(obj):
            raise NeamValueError(f"index {key} out of range for list of length {len(obj)}")
        obj[key] = value
        return
    raise NeamValueError(f"cannot assign into {type_name(obj)}")


def iterate(value: Any) -> list[Any]:
    """What ``for x in value`` visits: list items, map keys, string characters."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return list(value.keys())
    if isinstance(value, str):
        return list(value)
    raise NeamValueError(f"cannot iterate over {type_name(value)}")
