"""Interpreter semantics: values, operators, control flow, calls, errors, host delegation."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from neam.lang import Interpreter, NeamRuntimeError

from .helpers import RecordingHost, program, run


def emitted(code: str) -> list[Any]:
    return run("{\n" + code + "\n}")


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ('"a" + "b"', "ab"),
        ('"n=" + 3', "n=3"),
        ('2.5 + "x"', "2.5x"),
        ('"v: " + nil + true', "v: niltrue"),
        ("1 + 2 * 3", 7),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("7 / 2", 3.5),
        ("8 / 2", 4),
        ("(1 + 2) * 3", 9),
        ("1 < 2 && 2 <= 2", True),
        ('"a" < "b"', True),
        ("1 == 1.0", True),
        ("1 == true", False),
        ("[1, 2] == [1, 2]", True),
        ('{"a": 1} != {"a": 2}', True),
        ("!nil", True),
        ("!0", True),
        ('!""', True),
        ("![]", True),
        ("!{}", True),
        ('!"x"', False),
        ("-(3)", -3),
        ("[1, 2] + [3]", [1, 2, 3]),
        ('nil || "d"', "d"),
        ("0 && 1 / 0", 0),
        ("1 || 1 / 0", 1),
        ('str([1, "a", nil])', '[1, "a", null]'),
        ('len("héllo") + len([1]) + len({})', 6),
        ('json_parse("{\\"a\\": [1, 2]}")["a"][1]', 2),
        ('json_stringify({"k": [true, nil]})', '{"k": [true, null]}'),
        ('"a,b".split(",")', ["a", "b"]),
        ('[1, 2].join("-")', "1-2"),
        ('{"a": 1}.keys()', ["a"]),
        ("[10, 20, 30][-1]", 30),
        ('{"a": 1}["missing"]', None),
        ('{"a": {"b": 2}}.a.b', 2),
        ("range(3)", [0, 1, 2]),
    ],
)
def test_expressions(expr: str, value: Any) -> None:
    assert emitted(f"emit {expr};") == [value]


def test_truthiness_in_conditions() -> None:
    code = """
    let out = [];
    for v in [nil, false, 0, 0.0, "", [], {}, true, 1, "x", [0], {"a": nil}] {
      if (v) { out.push(1); } else { out.push(0); }
    }
    emit out;
    """
    assert emitted(code) == [[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]]


def test_loops_break_continue_and_scopes() -> None:
    code = """
    let total = 0;
    for (x in [1, 2, 3, 4, 5, 6]) {
      if x % 2 == 0 { continue; }
      if x > 4 { break; }
      total += x;
    }
    let i = 0;
    while (true) { i = i + 1; if (i >= 3) { break; } }
    let keys = [];
    for k in {"b": 1, "a": 2} { keys.push(k); }
    let chars = "";
    for c in "abc" { chars = c + chars; }
    emit [total, i, keys, chars];
    """
    assert emitted(code) == [[4, 3, ["b", "a"], "cba"]]


def test_functions_recursion_and_return() -> None:
    src = """
    fun fact(n) { if (n <= 1) { return 1; } return n * fact(n - 1); }
    fn first_even(xs) { for x in xs { if x % 2 == 0 { return x; } } return nil; }
    fun noreturn() { let a = 1; }
    const LIMIT = 3;
    fun limit() { return LIMIT; }
    emit fact(10);
    emit first_even([1, 3, 4, 6]);
    emit first_even([1]);
    emit noreturn();
    emit limit();
    """
    assert run(src) == [3628800, 4, None, None, 3]


def test_maps_and_lists_are_mutable_values() -> None:
    code = """
    let m = {"n": 1};
    m["n"] += 1;
    m.list = [1];
    m.list[0] = 5;
    m.list.push(6);
    emit m;
    """
    assert emitted(code) == [{"n": 2, "list": [5, 6]}]


def test_call_function_skill_guard_and_impl() -> None:
    src = """
    skill greet { description: "d" params: { who: string, punct: string }
      impl(who, punct) { return "hi " + who + punct; } }
    guard upper { description: "g" on_observation(t) { return t + "!"; } }
    guard quiet { description: "q" on_result(r) { return r; } }
    guardchain both = [upper, quiet, upper];
    fun verify(ctx) { if ctx["iteration"] > 2 { return true; } return "retry: more"; }
    agent bot { provider: "p" model: "m" }
    impl Monitorable for bot {
      fn baseline(self) { return {"who": self + ""}; }
      fn on_anomaly(self, event) { return "alert " + event; }
    }
    """
    interp = Interpreter(program(src))
    assert interp.call_skill("greet", {"punct": "?", "who": "bob"}) == "hi bob?"
    assert interp.call_function("verify", [{"iteration": 1}]) == "retry: more"
    assert interp.call_function("verify", [{"iteration": 3}]) is True
    assert interp.call_guard("upper", "on_observation", "x") == "x!"
    assert interp.call_guard("upper", "on_tool_input", "x") == "x"
    assert interp.call_guard("both", "on_observation", "x") == "x!!"
    assert interp.call_impl("bot", "Monitorable", "baseline", []) == {"who": "bot"}
    assert interp.call_impl("bot", "Monitorable", "on_anomaly", ["slow"]) == "alert slow"


def test_agent_calls_go_to_the_host() -> None:
    src = """
    claw agent helper { provider: "p" model: "m" }
    forge agent builder { provider: "p" model: "m" verify: ok }
    fun ok(ctx) { return true; }
    let name = "helper";
    emit helper.ask("q");
    emit helper.ask("q", "user-1");
    emit builder.run();
    emit spawn helper("t1");
    emit spawn(name, "t2");
    emit dag_execute([{"id": "a", "agent": "helper", "task": "x", "depends_on": []}]);
    emit memory_search("helper", "notes", 2);
    emit session_history("helper", "user-1");
    """
    host = RecordingHost()
    out: list[Any] = []
    Interpreter(program(src), host=host, emit=out.append).run_toplevel()
    assert out == [
        "helper says hi",
        "helper says hi",
        {"outcome": "completed", "iterations": 1},
        "helper did t1",
        "helper did t2",
        {"a": "helper"},
        [{"text": "notes"}],
        [],
    ]
    assert host.calls[:3] == [
        ("ask", "helper", "q", None),
        ("ask", "helper", "q", "user-1"),
        ("run", "builder"),
    ]


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        ('emit a.ask("q");', "a.ask() needs the agent runtime"),
        ("emit f.run();", "f.run() needs the agent runtime"),
        ('emit spawn a("t");', "spawn a(...) needs the agent runtime"),
        ('emit dag_execute([{"id": "x", "agent": "a"}]);', "dag_execute() needs the agent runtime"),
    ],
)
def test_without_a_host_agent_calls_fail_clearly(code: str, needle: str) -> None:
    src = (
        'agent a { provider: "p" model: "m" }\n'
        'fun ok(ctx) { return true; } forge agent f { provider: "p" model: "m" verify: ok }\n'
        f"{code}"
    )
    with pytest.raises(NeamRuntimeError) as info:
        run(src)
    assert needle in info.value.message
    assert (info.value.line, info.value.column) == (3, 6)


@pytest.mark.parametrize(
    ("code", "line", "column", "needle"),
    [
        ("emit 1 / 0;", 2, 6, "division by zero"),
        ("emit 1 % 0;", 2, 6, "modulo by zero"),
        ('emit 1 - "a";', 2, 6, "cannot apply '-' to number and string"),
        ("emit [1][3];", 2, 6, "index 3 out of range"),
        # The checker sees globals in functions; they exist only once their `let` ran.
        ("fun f() { return nope; } emit f(); let nope = 1;", 2, 18, "undefined name 'nope'"),
        ("fun g() { x = 1; } g(); let x = 0;", 2, 11, "undeclared variable 'x'"),
        ("emit len(3);", 2, 6, "len() needs a string, list or map"),
        ("emit len();", 2, 6, "len() takes 1 argument(s), got 0"),
        ('emit json_parse("{");', 2, 6, "not valid JSON"),
        ("emit 1 < nil;", 2, 6, "cannot compare number and nil"),
        ("emit 3();", 2, 6, "number is not callable"),
    ],
)
def test_runtime_errors_have_positions(code: str, line: int, column: int, needle: str) -> None:
    with pytest.raises(NeamRuntimeError) as info:
        run("let pad = 0;\n" + code, workspace=".")
    err = info.value
    assert needle in err.message
    assert (err.file, err.line, err.column) == ("t.neam", line, column)
    assert str(err).startswith(f"t.neam:{line}:{column}: runtime error: ")


def test_runtime_error_traceback_names_each_frame() -> None:
    src = (
        "fun inner(x) {\n  return x + missing;\n}\n"
        "fun outer() {\n  return inner(1);\n}\nemit outer();\nlet missing = 1;\n"
    )
    with pytest.raises(NeamRuntimeError) as info:
        run(src)
    frames = [(f.function, f.line, f.column) for f in info.value.traceback]
    assert frames == [("<toplevel>", 7, 6), ("outer", 5, 10), ("inner", 2, 14)]
    text = info.value.format()
    assert "Neam traceback (most recent call last):" in text
    assert "t.neam:2:14 in inner" in text


def test_deep_recursion_is_a_neam_error() -> None:
    with pytest.raises(NeamRuntimeError) as info:
        run("fun f(n) { return f(n + 1); }\nemit f(0);")
    assert "call depth" in info.value.message or "recursion" in info.value.message


def test_input_and_print(capsys: pytest.CaptureFixture[str]) -> None:
    src = 'let q = input();\nprint("got", q);\nemit q + "!";'
    out: list[Any] = []
    Interpreter(program(src), emit=out.append, input_fn=lambda: "hello").run_toplevel()
    assert out == ["hello!"]
    assert capsys.readouterr().out == "got hello\n"


def test_clock_is_seconds() -> None:
    (value,) = emitted("emit clock();")
    assert isinstance(value, float) and value > 1_600_000_000


def test_concurrent_calls_do_not_share_frames() -> None:
    src = """
    fun count(n) { let acc = []; let i = 0; while i < n { acc.push(i); i += 1; } return len(acc); }
    """
    interp = Interpreter(program(src))
    results: dict[int, int] = {}

    def worker(n: int) -> None:
        for _ in range(20):
            results[n] = interp.call_function("count", [n])

    threads = [threading.Thread(target=worker, args=(n,)) for n in (50, 100, 150, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {50: 50, 100: 100, 150: 150, 200: 200}


def test_workspace_natives(tmp_path: Path) -> None:
    src = """
    fun go() {
      let before = workspace_read("notes/a.txt");
      workspace_write("notes/a.txt", "one");
      workspace_append("notes/a.txt", "+two");
      return [before, workspace_read("notes/a.txt")];
    }
    """
    interp = Interpreter(program(src), workspace=tmp_path)
    assert interp.call_function("go", []) == [None, "one+two"]
    assert (tmp_path / "notes" / "a.txt").read_text() == "one+two"


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        ('workspace_read("../secret")', "contains '..'"),
        ('workspace_write("a/../../x", "x")', "contains '..'"),
        ('workspace_read("/etc/passwd")', "absolute path"),
        ('workspace_append("link/x.txt", "x")', "leaves the workspace through a symlink"),
        ('workspace_read("filelink")', "leaves the workspace through a symlink"),
    ],
)
def test_workspace_confinement(tmp_path: Path, call: str, needle: str) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    (ws / "link").symlink_to(outside)
    (ws / "filelink").symlink_to(outside / "secret.txt")
    interp = Interpreter(program(f"fun go() {{ return {call}; }}"), workspace=ws)
    with pytest.raises(NeamRuntimeError) as info:
        interp.call_function("go", [])
    assert needle in info.value.message
    assert info.value.message.startswith("workspace_")
    assert not (outside / "x.txt").exists()


def test_workspace_is_settable(tmp_path: Path) -> None:
    interp = Interpreter(program('fun go() { return workspace_read("f"); }'))
    (tmp_path / "f").write_text("content")
    interp.workspace = tmp_path
    assert interp.workspace == tmp_path
    assert interp.call_function("go", []) == "content"


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ('f"{1 + 2} items"', "3 items"),
        ('f"name={\\"bob\\"}, list={[1, nil]}, {{braces}}"', "name=bob, list=[1, null], {braces}"),
        ("f'tab\\t{true}'", "tab\ttrue"),
        ('f"plain"', "plain"),
        ("3 in [1, 2, 3]", True),
        ('"x" in ["a"]', False),
        ('"ell" in "hello"', True),
        ('"k" in {"k": 0}', True),
        ("1 + 1 in [2] && true", True),
    ],
)
def test_fstrings_and_in(expr: str, value: Any) -> None:
    assert emitted(f"emit {expr};") == [value]


def test_in_type_error_has_position() -> None:
    with pytest.raises(NeamRuntimeError) as info:
        run("emit 1 in 5;")
    assert (info.value.line, info.value.column) == (1, 6)
    assert "cannot test membership of number in number" in info.value.message


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("[1, 2, 3, 4][1:3]", [2, 3]),
        ("[1, 2, 3][:2]", [1, 2]),
        ('"hello"[1:]', "ello"),
        ("[1, 2, 3][-2:]", [2, 3]),
        ("[1, 2][5:9]", []),
    ],
)
def test_slices(expr: str, value: Any) -> None:
    assert emitted(f"emit {expr};") == [value]


def test_lambdas_close_over_their_scope() -> None:
    src = """
    fun make_adder(n) { return fn(x) { return x + n; }; }
    fun apply(f, v) { return f(v); }
    let add2 = make_adder(2);
    let double = fun(x) { return x * 2; };
    emit [add2(1), apply(double, 5), apply(make_adder(10), 1)];
    """
    assert run(src) == [[3, 10, 11]]


def test_slice_errors_have_positions() -> None:
    with pytest.raises(NeamRuntimeError) as info:
        run("emit 5[1:2];\n")
    assert (info.value.line, info.value.column, info.value.message) == (
        1,
        6,
        "cannot slice number",
    )


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ('1 < 2 ? "yes" : "no"', "yes"),
        ('nil ? "yes" : "no"', "no"),
        ("false ? 1 : true ? 2 : 3", 2),  # right-associative
        ('{"k": 1 > 0 ? "a" : "b"}', {"k": "a"}),
        ("[10, 20, 30][1 > 0 ? 2 : 0]", 30),
        ("(nil || 0) ? 1 : 0 + 5", 5),
    ],
)
def test_conditional_expression(expr: str, value: Any) -> None:
    assert emitted(f"emit {expr};") == [value]


def test_for_with_two_variables() -> None:
    src = """
    let out = [];
    for (k, v in {"a": 1, "b": 2}) { out = out + [k + str(v)]; }
    for (i, x in ["p", "q"]) { out = out + [str(i) + x]; }
    for n, word in [[1, "one"], [2, "two"]] { out = out + [str(n) + word]; }
    emit out;
    """
    assert run(src) == [["a1", "b2", "0p", "1q", "1one", "2two"]]


def test_expression_statements_may_use_operators() -> None:
    src = """
    let seen = [];
    fun note(x) { seen = seen + [x]; return x; }
    note(1) + note(2) * 3;
    emit seen;
    for (i, ch in enumerate("ab")) { emit str(i) + ch; }
    """
    assert run(src) == [[1, 2], "0a", "1b"]


def test_match_expressions_and_statements() -> None:
    src = """
    fun classify(o) {
      return match o.outcome {
        "completed" => "ok",
        "aborted" => { return "stopped"; }
        other => "unknown: " + other
      };
    }
    emit [classify({"outcome": "completed"}), classify({"outcome": "aborted"}),
          classify({"outcome": "odd"})];
    let res = {"outcome": "iteration_limit", "message": "hit 10"};
    match res {
      LoopOutcome.Completed(s) => emit "done " + s,
      LoopOutcome.MaxIterations(n) => emit "limit: " + n,
      LoopOutcome.BudgetExhausted => emit "budget"
    }
    match "cost_limit" { LoopOutcome.BudgetExhausted => emit "budget", _ => emit "no" }
    let match = 3;
    emit match(1) ;
    """
    with pytest.raises(NeamRuntimeError):
        run(src)
    assert run(src.replace("emit match(1) ;", "emit match;")) == [
        ["ok", "stopped", "unknown: odd"],
        "limit: hit 10",
        "budget",
        3,
    ]


def test_verify_result_constructors_map_to_forge_verdicts() -> None:
    src = """
    emit [VerifyResult.Done("ok"), VerifyResult.Retry("tests fail"), VerifyResult.Abort("stuck"),
          Done(), Retry(), Abort("x")];
    """
    assert run(src) == [[True, "retry: tests fail", "abort: stuck", True, "retry", "abort: x"]]
