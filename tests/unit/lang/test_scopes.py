"""Name resolution: the first use of every name that nothing in scope declares is an
error at that use; everything the interpreter can find resolves."""

from __future__ import annotations

import pytest
from neam.lang import compile_source

from tests.unit.lang.helpers import run

DECLS = """skill s { description: "d" params: { q: string } impl(q) { return q; } }
claw agent c { provider: "p" model: "m" }
runner R { entry_agent: c }
"""  # 3 lines; test sources start at line 4


def unknown(src: str) -> list[tuple[int, int, str, str]]:
    result = compile_source(DECLS + src, "t.neam")
    return [
        (d.line - 3, d.column, d.code, d.message)
        for d in result.diagnostics
        if d.code in ("unknown-name", "unknown-agent")
    ]


def test_the_issue_example() -> None:
    assert unknown("fun f() {\n  return undefined_thing + 1;\n}") == [
        (
            2,
            10,
            "unknown-name",
            "'undefined_thing' is not defined here (no variable, parameter, function, native "
            "or declaration of that name is in scope)",
        )
    ]


@pytest.mark.parametrize(
    "src",
    [
        "fun f(a, b) { let c = a + b; for (i in [c]) { emit i; } return c; }",
        "fun f() { return g() + LIMIT + n; } fun g() { return 1; } let n = 2; const LIMIT = 3;",
        "emit K; const K = 1;",
        "let xs = [1]; for (i, x in xs) { emit i + x; } while (len(xs) > 5) { let y = 1; }",
        'fun f() { return len(str(json_parse("1"))) + range(3)[0]; }',
        'emit VerifyResult.Retry("x"); emit s("q"); emit c.ask("hi"); emit R;',
        "emit assert_eq(1, 1); emit now();",
        "import a.b as lib; use std.io; emit lib; emit io;",
        "let fact = fn(n) { if n < 2 { return 1; } return n * fact(n - 1); };",
        "let get = fn() { return later; }; let later = 1; emit get();",
        "fun f(v) { return match v { 0 => 1, x => x + 1 }; }",
        "fun f(v) { return match v { Some(y) => y, LoopOutcome.Completed => 0, _ => nil }; }",
        "fun f(v) { match v { y => { emit y; } } }",
        'fun f(p) { emit p(x: 1, y: 2); return {key: 1, "k": 2}; }',
        "let n = 0; fun bump() { n = n + 1; n += 1; } bump();",
        'skill t { description: "d" impl(q) { return q; } }',
        "guard g { on_observation(text) { return text; } }",
        'forge agent b { provider: "p" model: "m" verify: fun(ctx) { return ctx.iteration; } }',
        'trait T { fn name(self); fn greet(self) { return "hi " + self.name(); } }',
        'test "adds" { let a = 1; emit a; }',
        "{ let a = 1; emit a; } let a = 2; emit a;",
    ],
)
def test_names_in_scope_resolve(src: str) -> None:
    result = compile_source(DECLS + src, "t.neam")
    assert result.ok, result.format()
    assert unknown(src) == []


@pytest.mark.parametrize(
    ("src", "line", "column", "name"),
    [
        ("fun f() { if true { let a = 1; } return a; }", 1, 41, "a"),
        ("fun f() { emit b; let b = 1; }", 1, 16, "b"),
        ("fun f() { for (i in [1]) { } return i; }", 1, 37, "i"),
        ("emit later;\nlet later = 1;", 1, 6, "later"),
        ("fun f(v) { match v { x => 1 } return x; }", 1, 38, "x"),
        ('skill t { description: "d" impl(q) { return qq; } }', 1, 45, "qq"),
        ("fun f() { let g = fn(a) { return a + zz; }; }", 1, 38, "zz"),
        ("fun f() { return [1, {k: nope}]; }", 1, 26, "nope"),
        ('test "t" { emit unknown_in_test; }', 1, 17, "unknown_in_test"),
    ],
)
def test_unknown_reads_are_errors_at_the_use(src: str, line: int, column: int, name: str) -> None:
    found = unknown(src)
    assert [(f[0], f[1], f[2]) for f in found] == [(line, column, "unknown-name")], found
    assert f"'{name}' is not defined here" in found[0][3]


def test_calls_assignments_and_lone_words_have_their_own_messages() -> None:
    assert unknown("emit lenn([1]);\nfun f() { y = 1; }\nclow;") == [
        (
            1,
            6,
            "unknown-name",
            "'lenn' is not a declared function, a native or a variable in scope",
        ),
        (2, 11, "unknown-name", "assignment to undeclared variable 'y' (declare it with let)"),
        (3, 1, "unknown-name", "'clow' is not a keyword, declaration or variable"),
    ]


def test_each_unknown_name_is_reported_once_at_its_first_use() -> None:
    found = unknown("fun f() { return zz; }\nfun g() { return zz + zz; }")
    assert [(line, column) for line, column, _, _ in found] == [(1, 18)]


def test_an_unknown_agent_in_ask_is_reported_once_as_unknown_agent() -> None:
    assert unknown('emit Asistant.ask("q"); fun f(x) { return x.run(); }') == [
        (1, 6, "unknown-agent", "unknown agent 'Asistant' in Asistant.ask()"),
    ]


def test_the_checked_program_runs() -> None:
    assert run("let n = 0;\nfun bump() { n += 1; return n; }\nemit bump() + bump();") == [3]
