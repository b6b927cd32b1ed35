"""Built-in functions callable from Neam code, and methods on strings, lists and maps.

A native receives the per-call :class:`NativeContext` and its evaluated
arguments; it raises :class:`NeamValueError` (or :class:`WorkspaceError`) and
the interpreter turns that into a positioned runtime error.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neam import jsoninput
from neam.lang import workspace as ws
from neam.lang.host import AgentHost
from neam.lang.values import (
    MAX_INT_DIGITS,
    MAX_ITEMS,
    MAX_VALUE_DEPTH,
    NeamValueError,
    bounded_text,
    check_items,
    check_length,
    equal,
    is_number,
    json_text,
    stringify,
    type_name,
)

DagNodeHook = Callable[[dict[str, Any], str, Any], None]
"""``hook(node, phase, value)``: told when a ``dag_execute`` node is ``running`` and
when it ``succeeded`` (with its result)."""


@dataclass
class NativeContext:
    """What natives may touch during one interpreter call."""

    workspace: Path
    host: AgentHost
    input_fn: Callable[[], str] | None
    on_dag_node: DagNodeHook | None = None


@dataclass(frozen=True)
class Native:
    name: str
    fn: Callable[[NativeContext, list[Any]], Any]
    min_args: int
    max_args: int | None  # None: variadic
    waits: bool = False  # waits for the host or the user: not counted in a call's time limit

    def __str__(self) -> str:
        return f"<native {self.name}>"


NATIVES: dict[str, Native] = {}


def _native(
    name: str, min_args: int = 0, max_args: int | None = 0, *, waits: bool = False
) -> Callable[..., Any]:
    def register(fn: Callable[[NativeContext, list[Any]], Any]) -> Callable[..., Any]:
        NATIVES[name] = Native(name, fn, min_args, max_args, waits)
        return fn

    return register


def _str_arg(args: list[Any], i: int, what: str) -> str:
    value = args[i]
    if not isinstance(value, str):
        raise NeamValueError(f"{what} must be a string, not {type_name(value)}")
    return value


# ------------------------------------------------------------------ core


@_native("len", 1, 1)
def _len(ctx: NativeContext, args: list[Any]) -> int:
    value = args[0]
    if isinstance(value, str | list | dict):
        return len(value)
    raise NeamValueError(f"len() needs a string, list or map, not {type_name(value)}")


@_native("str", 1, 1)
def _str(ctx: NativeContext, args: list[Any]) -> str:
    return stringify(args[0])


# Verify results in Neam's constructor style (`return VerifyResult.Retry(err)`),
# mapped onto the values the forge loop classifies: true, "retry: ...", "abort: ...".
@_native("Done", 0, 1)
def _done(ctx: NativeContext, args: list[Any]) -> bool:
    return True


@_native("Retry", 0, 1)
def _retry(ctx: NativeContext, args: list[Any]) -> str:
    return "retry: " + stringify(args[0]) if args else "retry"


@_native("Abort", 0, 1)
def _abort(ctx: NativeContext, args: list[Any]) -> str:
    return "abort: " + stringify(args[0]) if args else "abort"


@_native("print", 0, None)
def _print(ctx: NativeContext, args: list[Any]) -> None:
    print(" ".join(stringify(a) for a in args), flush=True)


@_native("input", 0, 1, waits=True)
def _input(ctx: NativeContext, args: list[Any]) -> str | None:
    if args:
        sys.stdout.write(stringify(args[0]))
        sys.stdout.flush()
    if ctx.input_fn is not None:
        return ctx.input_fn()
    line = sys.stdin.readline()
    return line.rstrip("\r\n") if line else None


@_native("clock")
def _clock(ctx: NativeContext, args: list[Any]) -> float:
    return time.time()


@_native("json_parse", 1, 1)
def _json_parse(ctx: NativeContext, args: list[Any]) -> Any:
    text = _str_arg(args, 0, "json_parse() argument")
    try:
        return jsoninput.parse(text, max_depth=MAX_VALUE_DEPTH, max_int_digits=MAX_INT_DIGITS)
    except jsoninput.JSONInputError as err:
        raise NeamValueError(f"json_parse(): {err}") from None


_MAX_INDENT = 16


@_native("json_stringify", 1, 2)
def _json_stringify(ctx: NativeContext, args: list[Any]) -> str:
    indent = args[1] if len(args) > 1 else None
    if indent is not None and (
        not isinstance(indent, int) or isinstance(indent, bool) or not 0 <= indent <= _MAX_INDENT
    ):
        raise NeamValueError(f"json_stringify() indent must be an integer from 0 to {_MAX_INDENT}")
    return json_text(args[0], indent)


@_native("type", 1, 1)
def _type(ctx: NativeContext, args: list[Any]) -> str:
    return type_name(args[0])


@_native("num", 1, 1)
def _num(ctx: NativeContext, args: list[Any]) -> int | float | None:
    value = args[0]
    if is_number(value):
        return value
    if isinstance(value, str):
        digits = value.strip().lstrip("+-")
        if digits.isdigit() and len(digits) > MAX_INT_DIGITS:
            raise NeamValueError(f"num(): integer has more than {MAX_INT_DIGITS} digits")
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    raise NeamValueError(f"num() needs a string or number, not {type_name(value)}")


@_native("range", 1, 3)
def _range(ctx: NativeContext, args: list[Any]) -> list[int]:
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise NeamValueError("range() needs integers")
    if len(args) == 3 and args[2] == 0:
        raise NeamValueError("range() step must not be zero")
    numbers = range(*args)
    try:
        check_items(len(numbers))
    except OverflowError:  # more items than a machine word counts
        raise NeamValueError(f"range() is larger than the limit ({MAX_ITEMS:,} items)") from None
    return list(numbers)


@_native("enumerate", 1, 1)
def _enumerate(ctx: NativeContext, args: list[Any]) -> list[list[Any]]:
    if not isinstance(args[0], list | str):
        raise NeamValueError(f"enumerate() needs a list or string, not {type_name(args[0])}")
    check_items(len(args[0]))
    return [[i, item] for i, item in enumerate(args[0])]


@_native("keys", 1, 1)
def _keys(ctx: NativeContext, args: list[Any]) -> list[str]:
    if not isinstance(args[0], dict):
        raise NeamValueError(f"keys() needs a map, not {type_name(args[0])}")
    return list(args[0].keys())


@_native("abs", 1, 1)
def _abs(ctx: NativeContext, args: list[Any]) -> float | int:
    if not is_number(args[0]):
        raise NeamValueError(f"abs() needs a number, not {type_name(args[0])}")
    return abs(args[0])


@_native("floor", 1, 1)
def _floor(ctx: NativeContext, args: list[Any]) -> int:
    if not is_number(args[0]):
        raise NeamValueError(f"floor() needs a number, not {type_name(args[0])}")
    if not math.isfinite(args[0]):
        raise NeamValueError(f"floor() needs a finite number, not {stringify(args[0])}")
    return math.floor(args[0])


# ------------------------------------------------------------------ workspace


@_native("workspace_read", 1, 1)
def _workspace_read(ctx: NativeContext, args: list[Any]) -> str | None:
    return ws.read(ctx.workspace, _str_arg(args, 0, "workspace_read() path"))


@_native("workspace_write", 2, 2)
def _workspace_write(ctx: NativeContext, args: list[Any]) -> bool:
    ws.write(ctx.workspace, _str_arg(args, 0, "workspace_write() path"), stringify(args[1]))
    return True


@_native("workspace_append", 2, 2)
def _workspace_append(ctx: NativeContext, args: list[Any]) -> bool:
    path = _str_arg(args, 0, "workspace_append() path")
    ws.write(ctx.workspace, path, stringify(args[1]), append=True)
    return True


# ------------------------------------------------------------------ agent runtime


@_native("dag_execute", 1, 1, waits=True)
def _dag_execute(ctx: NativeContext, args: list[Any]) -> Any:
    if not isinstance(args[0], list) or not all(isinstance(n, dict) for n in args[0]):
        raise NeamValueError("dag_execute() needs a list of node maps")
    nodes: list[dict[str, Any]] = args[0]
    hook = ctx.on_dag_node
    if hook is None:
        return ctx.host.dag_execute(nodes)
    by_id = {node.get("id"): node for node in nodes}
    return ctx.host.dag_execute(
        nodes, on_node=lambda node_id, phase, value: hook(by_id[node_id], phase, value)
    )


@_native("memory_search", 2, 3, waits=True)
def _memory_search(ctx: NativeContext, args: list[Any]) -> Any:
    agent = stringify(args[0])
    query = _str_arg(args, 1, "memory_search() query")
    limit = args[2] if len(args) > 2 else 5
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        raise NeamValueError("memory_search() limit must be a positive integer")
    return ctx.host.memory_search(agent, query, limit)


@_native("session_history", 2, 2, waits=True)
def _session_history(ctx: NativeContext, args: list[Any]) -> Any:
    return ctx.host.session_history(stringify(args[0]), _str_arg(args, 1, "session key"))


# ------------------------------------------------------------------ methods


def _check_arity(name: str, args: list[Any], lo: int, hi: int) -> None:
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise NeamValueError(f".{name}() takes {want} argument(s), got {len(args)}")


def _string_method(s: str, name: str, args: list[Any]) -> Any:
    def split() -> list[str]:
        if not args:
            parts = s.split()
            check_items(len(parts))
            return parts
        sep = _str_arg(args, 0, "split() separator")
        if not sep:
            raise NeamValueError("split() separator must not be empty")
        check_items(s.count(sep) + 1)
        return s.split(sep)

    def replace() -> str:
        old = _str_arg(args, 0, "replace() argument")
        new = _str_arg(args, 1, "replace() argument")
        if len(new) > len(old):
            check_length(len(s) + (s.count(old) if old else len(s) + 1) * (len(new) - len(old)))
        return s.replace(old, new)

    table: dict[str, tuple[int, int, Callable[[], Any]]] = {
        "len": (0, 0, lambda: len(s)),
        "upper": (0, 0, lambda: bounded_text(s.upper())),
        "lower": (0, 0, lambda: bounded_text(s.lower())),
        "trim": (0, 0, s.strip),
        "split": (0, 1, split),
        "contains": (1, 1, lambda: _str_arg(args, 0, "argument") in s),
        "starts_with": (1, 1, lambda: s.startswith(_str_arg(args, 0, "argument"))),
        "ends_with": (1, 1, lambda: s.endswith(_str_arg(args, 0, "argument"))),
        "replace": (2, 2, replace),
    }
    return _dispatch("string", table, name, args)


def _list_method(xs: list[Any], name: str, args: list[Any]) -> Any:
    def push() -> None:
        check_items(len(xs) + 1)
        xs.append(args[0])

    def join() -> str:
        sep = _str_arg(args, 0, "separator") if args else ""
        parts, length = [], -len(sep)
        for x in xs:
            part = stringify(x)
            length += len(sep) + len(part)
            check_length(length)
            parts.append(part)
        return sep.join(parts)

    def pop() -> Any:
        if not xs:
            raise NeamValueError("pop() from an empty list")
        return xs.pop()

    table: dict[str, tuple[int, int, Callable[[], Any]]] = {
        "len": (0, 0, lambda: len(xs)),
        "push": (1, 1, push),
        "append": (1, 1, push),
        "pop": (0, 0, pop),
        "join": (0, 1, join),
        "contains": (1, 1, lambda: any(equal(x, args[0]) for x in xs)),
    }
    return _dispatch("list", table, name, args)


def _map_method(m: dict[str, Any], name: str, args: list[Any]) -> Any:
    def key() -> str:
        if not isinstance(args[0], str):
            raise NeamValueError(f"map keys are strings, not {type_name(args[0])}")
        return args[0]

    table: dict[str, tuple[int, int, Callable[[], Any]]] = {
        "len": (0, 0, lambda: len(m)),
        "keys": (0, 0, lambda: list(m.keys())),
        "values": (0, 0, lambda: list(m.values())),
        "has": (1, 1, lambda: key() in m),
        "get": (1, 2, lambda: m.get(key(), args[1] if len(args) > 1 else None)),
    }
    return _dispatch("map", table, name, args)


def _dispatch(
    kind: str, table: dict[str, tuple[int, int, Callable[[], Any]]], name: str, args: list[Any]
) -> Any:
    entry = table.get(name)
    if entry is None:
        raise NeamValueError(f"{kind} has no method '{name}'")
    lo, hi, fn = entry
    _check_arity(name, args, lo, hi)
    return fn()


def call_method(obj: Any, name: str, args: list[Any]) -> Any:
    """``obj.name(args)`` for strings, lists and maps."""
    if isinstance(obj, str):
        return _string_method(obj, name, args)
    if isinstance(obj, list):
        return _list_method(obj, name, args)
    if isinstance(obj, dict):
        return _map_method(obj, name, args)
    raise NeamValueError(f"{type_name(obj)} has no method '{name}'")


# Namespaces of natives, looked up by name when nothing else defines it.
NAMESPACES: dict[str, dict[str, Native]] = {
    "VerifyResult": {n: NATIVES[n] for n in ("Done", "Retry", "Abort")},
}
