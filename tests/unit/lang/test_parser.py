"""Parser: every declaration kind, statements, expressions, liberal syntax, positions."""

from __future__ import annotations

from pathlib import Path

import pytest
from neam.lang import ast, compile_file, compile_source
from neam.lang.parser import decode_string, parse

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.neam"))


def parse_ok(src: str) -> ast.Module:
    module, diags = parse(src, "t.neam")
    assert diags == [], [str(d) for d in diags]
    assert module is not None
    return module


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_checks_clean(path: Path) -> None:
    result = compile_file(path)
    assert result.ok, result.format()
    assert result.warnings == [], result.format()


def test_examples_include_the_seed_programs() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"agents.neam", "dag_research.neam", "assistant.neam"} <= names


def test_agent_kinds_and_positions() -> None:
    m = parse_ok('agent A { provider: "p" }\nclaw agent B {}\n  forge agent C {}\n')
    kinds = [(i.kind, i.name, i.line, i.column) for i in m.items]
    assert kinds == [("agent", "A", 1, 7), ("claw", "B", 2, 12), ("forge", "C", 3, 15)]


def test_declaration_kinds() -> None:
    src = """
    skill s { description: "d" params: { q: string } sensitive: true impl(q) { return q; } }
    guard g { description: "g" on_observation(t) { return t; } on_result(r) { return r; } }
    guardchain gc = [g, g2,];
    channel c { type: "http" }
    fun f(a, b: int) -> string { return a; }
    fn h() { }
    struct P { x: number, y: number }
    trait T { fn need(self); fn dflt(self) { return 1; } }
    impl T for P { fn need(self) { return 2; } }
    const K = 3;
    """
    m = parse_ok(src)
    types = [type(i).__name__ for i in m.items]
    assert types == [
        "DeclNode",
        "DeclNode",
        "GuardChainNode",
        "DeclNode",
        "FunDecl",
        "FunDecl",
        "DeclNode",
        "TraitNode",
        "ImplNode",
        "Let",
    ]
    trait = m.items[7]
    assert isinstance(trait, ast.TraitNode)
    assert [mm.body is None for mm in trait.methods] == [True, False]
    impl = m.items[8]
    assert isinstance(impl, ast.ImplNode)
    assert (impl.trait, impl.target, impl.target_line) == ("T", "P", 10)
    assert isinstance(m.items[9], ast.Let) and m.items[9].const


@pytest.mark.parametrize(
    "body",
    [
        "session: { idle_reset_minutes: 30, max_history_turns: 5 }",
        "session { idle_reset_minutes 30 max_history_turns 5 }",
        "session: { idle_reset_minutes: 30; max_history_turns: 5; }",
    ],
)
def test_nested_blocks_accept_colon_and_bare_forms(body: str) -> None:
    src = f'claw agent a {{ provider: "p", model: "m", {body} }}'
    result = compile_source(src)
    assert result.ok, result.format()
    assert result.program is not None
    cfg = result.program.claw_agents["a"].config
    assert cfg["session"] == {"idle_reset_minutes": 30, "max_history_turns": 5}


def test_comments_and_doc_comments() -> None:
    m = parse_ok("/// doc\n// line\n/* block\n */ let x = 1; // trailing\n")
    assert isinstance(m.items[0], ast.Let)
    assert m.items[0].line == 4


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (r'"a\nb"', "a\nb"),
        (r'"tab\there"', "tab\there"),
        (r'"q\"q"', 'q"q'),
        (r'"back\\slash"', "back\\slash"),
        (r'"\u00e9\u{1F600}"', "\u00e9\U0001f600"),
        (r'"\d+"', r"\d+"),
        ("'single'", "single"),
        ('"""multi\nline"""', "multi\nline"),
    ],
)
def test_string_escapes(raw: str, value: str) -> None:
    assert decode_string(raw) == value
    m = parse_ok(f"let s = {raw};")
    let = m.items[0]
    assert isinstance(let, ast.Let) and isinstance(let.value, ast.Literal)
    assert let.value.value == value


def test_operator_precedence() -> None:
    m = parse_ok("let x = a || b && c == 1 + 2 * 3 % 4;")
    e = m.items[0].value
    assert isinstance(e, ast.Binary) and e.op == "||"
    assert isinstance(e.right, ast.Binary) and e.right.op == "&&"
    eq = e.right.right
    assert eq.op == "==" and eq.right.op == "+"
    assert eq.right.right.op == "%" and eq.right.right.left.op == "*"


def test_statements() -> None:
    src = """
    fun f(xs) {
      let total = 0
      for (x in xs) { if x % 2 == 0 { continue; } total += x; }
      for let y in xs { break }
      while (total > 10) { total = total - 1; }
      if (!ok) { return; } else if (-total < 0) { emit "neg"; } else { emit "pos"; }
      m["k"] = [1, 2][0];
      m.field = {"a": 1, b: 2};
      return total;
    }
    """
    fn = parse_ok(src).items[0]
    kinds = [type(s).__name__ for s in fn.body.body]
    assert kinds == ["Let", "ForIn", "ForIn", "While", "If", "Assign", "Assign", "Return"]
    mp = fn.body.body[6].value
    assert isinstance(mp, ast.MapExpr) and [e.key for e in mp.entries] == ["a", "b"]


def test_spawn_forms_and_method_calls() -> None:
    m = parse_ok('let a = spawn researcher("t");\nlet b = spawn(name, "t");\nemit x.ask(q, k);')
    kw, fn = m.items[0].value, m.items[1].value
    assert isinstance(kw, ast.Spawn) and kw.keyword_form and kw.agent.value == "researcher"
    assert (kw.agent.line, kw.agent.column) == (1, 15)
    assert isinstance(fn, ast.Spawn) and not fn.keyword_form and isinstance(fn.agent, ast.Name)
    call = m.items[2].value
    assert isinstance(call, ast.Call) and isinstance(call.callee, ast.Attribute)
    assert call.callee.name == "ask" and len(call.args) == 2


def test_toplevel_block_from_chapter_20() -> None:
    m = parse_ok("{\nlet query = input();\nemit Assistant.ask(query);\n}")
    assert isinstance(m.items[0], ast.Block) and len(m.items[0].body) == 2


@pytest.mark.parametrize(
    ("src", "line", "column", "fragment"),
    [
        ("let x = ;", 1, 9, "unexpected ';'"),
        ("agent A {\n  provider: \n}", 3, 1, "unexpected '}'"),
        ("fun f() {\n  return 1\n", 3, 1, "unexpected end of file"),
        ("let x = 1 $ 2;", 1, 11, "unexpected character '$'"),
        ("fun f() { f() = 2; }", 1, 11, "cannot assign to this expression"),
        # A declaration after an unclosed body is reported where it starts.
        ('claw agent a {\n  model: "m"\n\nskill s {\n  impl(q) { }\n}\n', 4, 1, "'skill' here"),
        ("fun f(x) {\n  return x;\n\nfun g(y) {\n  return y;\n}\n", 4, 1, "'fun' here"),
        ("fun f(x) {\n  if (x) {\n    return x;\n}\nforge agent b {\n}\n", 5, 1, "'forge' here"),
        (
            "impl T for a {\n  fn one(self) {\n    return 1;\n  fn two(self) { }\n}",
            4,
            3,
            "'fn' here",
        ),
        (
            "guard g {\n  on_observation(t) { return t; }\nguardchain c = [g];\n",
            3,
            1,
            "'guardchain'",
        ),
        ("agent a {\n  x: 1\nimpl Monitorable for a {\n}\n", 3, 1, "'impl' here"),
    ],
)
def test_syntax_errors_have_positions(src: str, line: int, column: int, fragment: str) -> None:
    module, diags = parse(src, "bad.neam")
    assert module is None
    (d,) = diags
    assert (d.line, d.column, d.severity) == (line, column, "error")
    assert fragment in d.message
    assert str(d).startswith(f"bad.neam:{line}:{column}: error: ")


def test_declaration_words_inside_bodies_are_not_misread() -> None:
    """Handlers, impl/trait methods and `impl(...)` stay legal inside their bodies."""
    src = (
        "trait T {\n  fn one(self);\n  fn two(self) { return 2; }\n}\n"
        'skill s {\n  description: "d"\n  impl(q) {\n    return q;\n  }\n}\n'
        "guard g {\n  fun on_observation(t) {\n    return t;\n  }\n"
        "  on_result(r) { return r; }\n}\n"
        "impl T for X {\n  fn one(self) {\n    return 1;\n  }\n  fn two(self) { return 2; }\n}\n"
        "fun f(agent) {\n  let skill = agent;\n  return fun (x) { return x; };\n}\n"
    )
    module, diags = parse(src, "ok.neam")
    assert diags == [] and module is not None


def test_liberal_forms_check_clean() -> None:
    src = """
    skill search {
      description: "Search"
      params: { query: { type: string, description: "what to look for" }, limit: "int" }
      impl(query, limit) { return query; }
    }
    channel slack_chan { type: "slack", token_env: "SLACK_TOKEN", port: 8080 }
    fun check_it(ctx) { return true; }
    claw agent c {
      provider: "openai", model: "gpt-4o",
      skills: [search], channels: [slack_chan],
      lanes: { main: 1, background: 2 },
    }
    forge agent f { provider: "openai" model: "gpt-4o" verify: "check_it" }
    """
    result = compile_source(src)
    assert result.ok and result.warnings == [], result.format()
    assert result.program is not None
    assert result.program.skills["search"].params == {"query": "string", "limit": "int"}
    assert result.program.forge_agents["f"].config["verify"] == "check_it"


def test_keywords_are_names_where_no_keyword_fits() -> None:
    src = """
    channel c { type: "http", for: "all", agent: "x" }
    fun f(forge, claw) { let skill = forge + claw; return skill; }
    """
    m = parse_ok(src)
    chan = m.items[0]
    assert isinstance(chan, ast.DeclNode)
    assert [f.key for f in chan.body.fields] == ["type", "for", "agent"]
    fn = m.items[1]
    assert isinstance(fn, ast.FunDecl) and [p.name for p in fn.params] == ["forge", "claw"]


def test_positions_after_multiline_string() -> None:
    m = parse_ok('let a = """line1\nline2""";\n  let b = 1;')
    first, second = m.items
    assert isinstance(first, ast.Let) and isinstance(first.value, ast.Literal)
    assert (first.value.line, first.value.end_line, first.value.end_column) == (1, 2, 9)
    assert isinstance(second, ast.Let) and (second.line, second.column) == (3, 3)


@pytest.mark.parametrize(
    ("src", "line", "column", "message"),
    [
        ('let a = 1;\nlet s = "abc;\n', 2, 9, "unterminated string"),
        ("let a = 1; /* never closed\n", 1, 12, "unterminated comment"),
        ("let a = 1;\n\n   #", 3, 4, "unexpected character '#'"),
    ],
)
def test_lexical_errors(src: str, line: int, column: int, message: str) -> None:
    _module, (d,) = parse(src, "lex.neam")
    assert (d.line, d.column, d.message) == (line, column, message)


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ('emit f"{x";', "unclosed '{' in f-string"),
        ('emit f"a } b";', "single '}' in f-string (use '}}')"),
        ('emit f"{}";', "empty expression in f-string"),
        ('emit f"{1 +}";', "invalid expression in f-string: {1 +}"),
    ],
)
def test_fstring_errors_point_at_the_string(src: str, message: str) -> None:
    _module, (d,) = parse(src, "f.neam")
    assert (d.line, d.column, d.message) == (1, 6, message)


def test_spawn_without_arguments_is_a_syntax_error() -> None:
    _module, (d,) = parse("let r = spawn();", "s.neam")
    assert (d.line, d.column, d.code, d.message) == (
        1,
        9,
        "spawn-arguments",
        "spawn(...) needs an agent name and a task",
    )


def test_several_syntax_errors_are_reported_in_one_run() -> None:
    src = (
        "fun f(x) {\n  let y = x +;\n  return y;\n}\n"  # 2:14
        "fun ok() { return 1; }\n"
        'claw agent a {\n  provider: "openai"\n\n'  # unclosed
        "skill s {\n  impl(q) { return q; }\n}\n"  # 9:1
        "guard g {\n  on_observation(t) { return t }\n  description: = \n}\n"  # 14:16
    )
    module, diags = parse(src, "bad.neam")
    assert module is None
    assert [(d.line, d.column) for d in diags] == [(2, 14), (9, 1), (14, 16)]
    assert all(d.severity == "error" and d.code == "syntax" for d in diags)
