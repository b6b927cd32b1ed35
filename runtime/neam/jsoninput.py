"""Parsing JSON that comes from outside (request bodies, ``json_parse`` in Neam code).

``json.loads`` accepts what later code cannot handle: nesting deep enough to
exhaust the recursion limit of whatever walks the result, integers too long to
print, ``NaN`` and ``Infinity``. :func:`parse` refuses them all with a
:class:`JSONInputError` that says what was wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any

from neam.text import clip


class JSONInputError(ValueError):
    """The text is not JSON, or not JSON within the limits."""


def parse(text: str | bytes, *, max_depth: int, max_int_digits: int) -> Any:
    """The data of ``text``; arrays and objects nest at most ``max_depth`` levels,
    integers have at most ``max_int_digits`` digits, numbers are finite."""

    def integer(digits: str) -> int:
        if len(digits.lstrip("-")) > max_int_digits:
            raise JSONInputError(f"JSON integer has more than {max_int_digits} digits")
        return int(digits)

    def number(digits: str) -> float:
        value = float(digits)
        if not math.isfinite(value):
            raise JSONInputError(f"JSON number {clip(digits, 40)} is too large")
        return value

    def constant(name: str) -> Any:
        raise JSONInputError(f"{name} is not a JSON number")

    try:
        data = json.loads(text, parse_int=integer, parse_float=number, parse_constant=constant)
    except RecursionError:
        raise JSONInputError(_too_deep(max_depth)) from None
    except JSONInputError:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise JSONInputError(f"not valid JSON: {exc}") from None
    _check_depth(data, max_depth)
    return data


def _too_deep(max_depth: int) -> str:
    return f"JSON nested more than {max_depth} levels deep"


def _check_depth(data: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise JSONInputError(_too_deep(max_depth))
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
