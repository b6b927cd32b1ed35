"""Neam runtime values and their semantics: truthiness, stringification, operators.

Neam values are plain Python data: nil=None, bool, int/float, str, list and
dict with string keys. Two reference kinds exist only inside the interpreter:
:class:`AgentRef` (an agent named in code, e.g. ``support_bot.ask(q)``) and
:class:`Callable` values (functions, natives, skills).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Bounds on every value Neam code builds, so that no call can exhaust memory
# with one value (each is a NeamValueError, hence a positioned runtime error):
# integers stay below 10**MAX_INT_DIGITS (Python refuses to turn larger ones into
# text), strings hold at most MAX_STRING_LENGTH characters, lists and maps at most
# MAX_ITEMS items, and a value converted to text or JSON nests at most
# MAX_VALUE_DEPTH levels (a list that contains itself nests without end).
MAX_INT_DIGITS = 4000
MAX_STRING_LENGTH = 16 * 1024 * 1024
MAX_ITEMS = 1_000_000
MAX_VALUE_DEPTH = 100
_INT_LIMIT = 10**MAX_INT_DIGITS


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
        return json_text(value)
    return str(value)


def json_text(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON text (``json_stringify``, and ``str()`` of lists and maps)."""
    data = to_json_data(value, indent or 0)
    return bounded_text(json.dumps(data, ensure_ascii=False, indent=indent))


def bounded_text(text: str) -> str:
    """``text``, or a NeamValueError when it is longer than a string may be."""
    check_length(len(text))
    return text


def check_length(length: int) -> None:
    """A NeamValueError when a string of ``length`` characters would be too long."""
    if length > MAX_STRING_LENGTH:
        raise NeamValueError(
            f"string of {length:,} characters is longer than the limit "
            f"({MAX_STRING_LENGTH:,} characters)"
        )


def to_json_data(value: Any, indent: int = 0) -> Any:
    """Plain JSON data for ``value``: agents and functions become their text.

    Raises NeamValueError for a value nested more than MAX_VALUE_DEPTH levels
    (or containing itself) and for one whose JSON text (with ``indent``) would
    be longer than MAX_STRING_LENGTH, before building that text.
    """
    budget = [MAX_STRING_LENGTH]

    def convert(item: Any, depth: int) -> Any:
        if isinstance(item, list | dict):
            if depth >= MAX_VALUE_DEPTH:
                raise NeamValueError(
                    f"value nested more than {MAX_VALUE_DEPTH} levels deep (or containing "
                    "itself) cannot be converted to text"
                )
            budget[0] -= 2 + len(item) * (2 + indent * (depth + 1))
            if isinstance(item, list):
                converted: Any = [convert(v, depth + 1) for v in item]
            else:
                converted = {str(k): convert(v, depth + 1) for k, v in item.items()}
                budget[0] -= sum(len(k) + 4 for k in converted)
        elif item is None or isinstance(item, bool | float):
            converted = item
            budget[0] -= 24
        elif isinstance(item, int):
            converted = item
            budget[0] -= item.bit_length() * 30103 // 100_000 + 2  # its decimal digits
        else:
            converted = item if isinstance(item, str) else str(item)
            budget[0] -= len(converted) + 2
        if budget[0] < 0:
            raise NeamValueError(
                f"value is too large to convert to text (over {MAX_STRING_LENGTH:,} characters)"
            )
        return converted

    return convert(value, 0)


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


def bounded_int(value: Any) -> Any:
    """``value``, or a NeamValueError for an integer of more than MAX_INT_DIGITS digits."""
    if type(value) is int and not -_INT_LIMIT < value < _INT_LIMIT:
        raise NeamValueError(f"integer result has more than {MAX_INT_DIGITS} digits")
    return value


def check_items(count: int, kind: str = "list") -> None:
    """A NeamValueError when a list or map would hold more than MAX_ITEMS items."""
    if count > MAX_ITEMS:
        raise NeamValueError(
            f"{kind} of {count:,} items is larger than the limit ({MAX_ITEMS:,} items)"
        )


def concat(a: str, b: str) -> str:
    check_length(len(a) + len(b))
    return a + b


def _numbers(op: str, a: int | float, b: int | float) -> Any:
    """``a op b`` for two numbers (the hot path of ``binary``)."""
    try:
        if op == "+":
            return bounded_int(a + b)
        if op == "-":
            return bounded_int(a - b)
        if op == "*":
            return bounded_int(a * b)
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op not in ("/", "%"):
            return contains(b, a)  # `in`: an error for numbers
        if b == 0:
            raise NeamValueError("division by zero" if op == "/" else "modulo by zero")
        if op == "%":
            return a % b
        if type(a) is int and type(b) is int and a % b == 0:
            return a // b
        return a / b
    except OverflowError:
        raise NeamValueError(f"result of '{op}' is too large for a float") from None


def binary(op: str, a: Any, b: Any) -> Any:
    """Arithmetic and comparison operators (``&&``/``||`` short-circuit in the interpreter)."""
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return _numbers(op, a, b)
    if op == "+":
        if isinstance(a, str) or isinstance(b, str):
            return concat(stringify(a), stringify(b))
        if isinstance(a, list) and isinstance(b, list):
            check_items(len(a) + len(b))
            return a + b
        if isinstance(a, dict) and isinstance(b, dict):
            merged = {**a, **b}
            check_items(len(merged), "map")
            return merged
    elif op == "==":
        return equal(a, b)
    elif op == "in":
        return contains(b, a)
    elif op == "!=":
        return not equal(a, b)
    elif op in ("<", "<=", ">", ">="):
        if (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return _numbers(op, a, b)  # the same comparison for two strings
        raise NeamValueError(f"cannot compare {type_name(a)} and {type_name(b)} with '{op}'")
    elif op == "*" and isinstance(a, str) and isinstance(b, int) and not isinstance(b, bool):
        check_length(len(a) * b)
        return a * max(b, 0)
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
        if key not in obj:
            check_items(len(obj) + 1, "map")
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


def iterate(value: Any) -> Iterable[Any]:
    """What ``for x in value`` visits: list items and map keys (as they were when the
    loop started), string characters."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return list(value.keys())
    if isinstance(value, str):
        return value
    raise NeamValueError(f"cannot iterate over {type_name(value)}")
