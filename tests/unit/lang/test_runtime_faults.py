"""Every runtime fault is a NeamRuntimeError at a Neam position: built-in methods,
arithmetic, conversions, value sizes, time limits and cancellation."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from neam.lang import Interpreter, NeamRuntimeError
from neam.lang.values import MAX_INT_DIGITS, MAX_ITEMS, MAX_STRING_LENGTH, MAX_VALUE_DEPTH

from tests.unit.lang.helpers import RecordingHost, program, run
from tests.unit.lang.test_properties import SETTINGS


def fault(code: str) -> NeamRuntimeError:
    """The runtime error of ``code`` (the second line of a program)."""
    with pytest.raises(NeamRuntimeError) as info:
        run("let pad = 0;\n" + code)
    assert info.value.file == "t.neam" and info.value.line >= 2
    return info.value


@pytest.mark.parametrize(
    ("code", "column", "needle"),
    [
        ('emit "a,b".split("");', 6, "split() separator must not be empty"),
        ('emit "a,b".split(1);', 6, "split() separator must be a string, not number"),
        ('emit {"a": 1}.has([1]);', 6, "map keys are strings, not list"),
        ('emit {"a": 1}.get({});', 6, "map keys are strings, not map"),
        ('emit "abc".replace(1, "x");', 6, "replace() argument must be a string"),
        ("emit floor(1e308 * 10);", 6, "floor() needs a finite number, not inf"),
        ('emit json_parse("[" * 200 + "]" * 200);', 6, f"nested more than {MAX_VALUE_DEPTH}"),
        ('emit json_parse("NaN");', 6, "NaN is not a JSON number"),
        ('emit json_parse("1" * 5000);', 6, f"more than {MAX_INT_DIGITS} digits"),
        ('emit json_parse("1e999");', 6, "is too large"),
        ("emit json_stringify([1], 2.5);", 6, "indent must be an integer from 0 to 16"),
        ('emit num("9" * 5000);', 6, f"num(): integer has more than {MAX_INT_DIGITS} digits"),
    ],
)
def test_builtin_failures_are_neam_errors(code: str, column: int, needle: str) -> None:
    err = fault(code)
    assert needle in err.message
    assert (err.line, err.column) == (2, column)


def test_integers_stay_printable() -> None:
    err = fault("let x = 10;\nwhile true { x = x * x; }")
    assert f"integer result has more than {MAX_INT_DIGITS} digits" in err.message
    assert (err.line, err.column) == (3, 18)
    assert "too large for a float" in fault("emit 10 * 1" + "0" * 400 + " / 3;").message
    assert "too large for a float" in fault("emit 1" + "0" * 400 + " + 0.5;").message
    assert run("emit len(str(" + "9" * MAX_INT_DIGITS + " + 0));") == [MAX_INT_DIGITS]


def test_values_that_contain_themselves() -> None:
    err = fault("let xs = [];\nxs.push(xs);\nemit str(xs);")
    assert "containing itself" in err.message and err.line == 4
    assert "values nested too deeply" in fault("let a = [];\na.push(a);\nemit a == a;").message


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        ("emit range(0, 200000000);", "list of 200,000,000 items is larger than the limit"),
        ("emit range(1" + "0" * 30 + ");", "range() is larger than the limit"),
        ('emit len("x" * -1' + "0" * 30 + ");", None),
        ('let s = "ab";\nwhile true { s = s + s; }', "longer than the limit"),
        ('emit "x" * 1000000000;', "string of 1,000,000,000 characters"),
        ('emit "a".replace("", "x" * 20);', None),
        (f"let xs = range({MAX_ITEMS});\nxs.push(1);", f"larger than the limit ({MAX_ITEMS:,}"),
        (f"emit range({MAX_ITEMS}) + [1];", "larger than the limit"),
        (f'let s = "y" * {MAX_STRING_LENGTH};\nemit s + "!";', "longer than the limit"),
        (f'let s = "y" * {MAX_STRING_LENGTH // 2};\nemit [s, s, s].join("");', "longer"),
        (f'let s = "y" * {MAX_STRING_LENGTH};\nemit str([s]);', "too large to convert to text"),
        (f'let s = "a," * {MAX_STRING_LENGTH // 2};\nemit s.split(",");', "larger than"),
        (f'emit enumerate("z" * {MAX_ITEMS + 1});', "larger than the limit"),
        (
            f"let m = {{}};\nfor (k in range({MAX_ITEMS})) {{ m[str(k)] = 1; }}\nm.extra = 1;",
            "map of",
        ),
    ],
)
def test_values_have_bounded_sizes(code: str, needle: str | None) -> None:
    if needle is None:  # small enough: fine
        run(code)
        return
    assert needle in fault(code).message


def test_a_call_has_a_time_limit_checked_at_loops_and_calls() -> None:
    interp = Interpreter(program("fun spin() {\n  while true { }\n}"))
    with pytest.raises(NeamRuntimeError) as info:
        interp.call_function("spin", [], timeout=0.05)
    assert info.value.message == "time limit exceeded: this call ran Neam code for over 0.05 s"
    assert (info.value.line, info.value.column) == (2, 9)  # the loop (at its condition)
    with pytest.raises(NeamRuntimeError, match="time limit exceeded"):
        Interpreter(
            program("for (i in range(1000000)) { let x = i; }"), timeout=0.01
        ).run_toplevel()


def test_time_spent_waiting_for_the_host_does_not_count() -> None:
    class SlowHost(RecordingHost):
        def ask(self, agent: str, message: str, session_key: str | None = None) -> str:
            time.sleep(0.3)
            return "late"

    src = 'agent a { provider: "p" model: "m" }\nfun f() { return a.ask("q") + a.ask("q"); }'
    interp = Interpreter(program(src), host=SlowHost())
    assert interp.call_function("f", [], timeout=0.2) == "latelate"


def test_cancel_ends_a_running_call() -> None:
    cancel, started = threading.Event(), threading.Event()
    src = 'fun spin() { emit "spinning"; while true { } }'
    interp = Interpreter(program(src), emit=lambda _: started.set(), cancel=cancel)
    errors: list[NeamRuntimeError] = []

    def call() -> None:
        try:
            interp.call_function("spin", [])
        except NeamRuntimeError as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    assert started.wait(60)  # inside the loop
    cancel.set()
    worker.join(60)
    assert not worker.is_alive()
    assert errors and errors[0].message == "cancelled: the runtime is shutting down"


def test_entry_points_return_plain_data_or_a_positioned_error() -> None:
    src = (
        'agent bot { provider: "p" model: "m" }\n'
        "fun loop() { let xs = []; xs.push(xs); return xs; }\n"
        "fun me() { return [bot, me]; }"
    )
    interp = Interpreter(program(src))
    assert interp.call_function("me", []) == ["bot", "<function me>"]
    with pytest.raises(NeamRuntimeError) as info:
        interp.call_function("loop", [])
    assert "containing itself" in info.value.message and info.value.line == 2


# ------------------------------------------------------------------ fuzzing

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
METHODS = ["len", "upper", "lower", "trim", "split", "contains", "starts_with", "ends_with"]
METHODS += ["replace", "push", "append", "pop", "join", "keys", "values", "has", "get", "nope"]
OPERATORS = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "in", "&&", "||"]


@SETTINGS
@given(VALUES, st.sampled_from(METHODS), st.lists(VALUES, max_size=3))
def test_any_method_on_any_value_is_a_result_or_a_neam_error(
    value: Any, method: str, args: list[Any]
) -> None:
    interp = Interpreter(program("fun call(v, m, a) { return 0; }"))
    ex = interp._exec("<fuzz>", None)
    from neam.lang import ast

    node = ast.Call(ast.Attribute(ast.Name("v"), method), [], line=1, column=1)
    try:
        ex.call_method(node, value, method, list(args))
    except NeamRuntimeError as err:
        assert err.line == 1


@SETTINGS
@given(VALUES, st.sampled_from(OPERATORS), VALUES)
def test_any_operator_on_any_values_is_a_result_or_a_neam_error(
    left: Any, op: str, right: Any
) -> None:
    from neam.lang import ast
    from neam.lang.values import binary

    ex = Interpreter(program("let x = 1;"))._exec("<fuzz>", None)
    try:
        ex.guarded(ast.Node(line=1, column=1), binary, op, left, right)
    except NeamRuntimeError as err:
        assert err.line == 1
