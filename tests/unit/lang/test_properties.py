"""Property tests: random and mutated programs only ever produce Neam diagnostics."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neam.lang import CompileResult, compile_source
from neam.lang.neamb import dumps, loads

EXAMPLES = [p.read_text() for p in sorted((Path(__file__).parents[3] / "examples").glob("*.neam"))]

TOKENS = [
    "agent",
    "claw",
    "forge",
    "skill",
    "guard",
    "guardchain",
    "channel",
    "fun",
    "fn",
    "struct",
    "trait",
    "impl",
    "for",
    "in",
    "let",
    "const",
    "if",
    "else",
    "while",
    "break",
    "continue",
    "return",
    "emit",
    "spawn",
    "true",
    "false",
    "nil",
    "self",
    "a",
    "b",
    "provider",
    "model",
    "verify",
    "session",
    "loop",
    "skills",
    "guards",
    "compaction",
    "Monitorable",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    ":",
    ".",
    "=",
    "==",
    "!=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "&&",
    "||",
    "!",
    "->",
    '"s"',
    '"a\\nb"',
    "'q'",
    "1",
    "2.5",
    "-3",
    "//c\n",
    "\n",
    "/* x */",
    '"unterminated',
    "@",
    'f"a{b}c"',
    "in",
    'f"{"',
    "\\",
]

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_only_diagnostics(text: str) -> CompileResult:
    result = compile_source(text, "prop.neam")  # must not raise
    for d in result.diagnostics:
        assert d.severity in ("error", "warning")
        assert d.line >= 1 and d.column >= 1
        assert (d.end_line, d.end_column) >= (d.line, d.column)
        assert d.code and d.message
        assert str(d).startswith(f"prop.neam:{d.line}:{d.column}: {d.severity}: ")
        d.format(text)
    if result.ok:  # whatever checks clean compiles: it serialises and writes as UTF-8
        assert result.program is not None
        text = dumps(result.program)
        text.encode("utf-8")
        assert loads(text) == result.program
    else:
        assert result.program is None
    return result


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_random_token_streams(text: str) -> None:
    assert_only_diagnostics(text)


@SETTINGS
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    assert_only_diagnostics(text)


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 40)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        token = draw(st.sampled_from(TOKENS))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + " " + token + " " + text[i:]
        elif kind == "replace":
            text = text[:i] + token + text[j:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    return text


@SETTINGS
@given(mutated_example())
def test_mutated_examples(text: str) -> None:
    assert_only_diagnostics(text)


# Shapes that made the old backtracking lexer take exponential time: long runs of
# blanks, comments, slashes, stars and quotes before a bad character or the end.
RUNS = [" ", "\t", "\n", "\r\n", "// c\n", "//", "/*", "*/", "/* x */", "*", "/", '"', "'"]
RUNS += ['"""', "\\", 'f"', "{", "}", "a", "1", "skill x {", "fun f(", "@", "é", "\ufeff"]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(RUNS), st.integers(1, 400)), min_size=1, max_size=6))
def test_long_runs_of_blanks_comments_and_quotes(runs: list[tuple[str, int]]) -> None:
    assert_only_diagnostics("".join(piece * count for piece, count in runs))


@SETTINGS
@given(
    st.sampled_from(["idle_reset_minutes", "max_history_turns", "compaction"]),
    st.one_of(
        st.integers(-5, 5).map(str),
        st.floats(-3, 3, allow_nan=False).map(repr),
        st.sampled_from(['"auto"', '"manual"', '"bogus"', "true", "nil", "[1]", "{ x: 1 }"]),
    ),
)
def test_session_fields_valid_or_positioned_error(key: str, value: str) -> None:
    src = f'claw agent a {{ provider: "p" model: "m"\n  session {{ {key}: {value} }} }}'
    result = assert_only_diagnostics(src)
    for d in result.errors:
        assert d.line == 2
        assert d.column == len(f"  session {{ {key}: ") + 1


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    result = compile_source("{" * 3000 + "}" * 3000, "deep.neam")
    assert [(d.code, d.line, d.column) for d in result.errors] == [("too-deep", 1, 201)]


def test_long_operator_chains_nest_one_level_per_operator() -> None:
    from neam.lang import Interpreter

    assert [d.code for d in compile_source("emit " + "1 + " * 5000 + "1;", "t.neam").errors] == [
        "too-deep"
    ]
    result = compile_source("emit " + "1 + " * 190 + "1;", "t.neam")
    assert result.program is not None
    out: list[object] = []
    Interpreter(result.program, emit=out.append).run_toplevel()
    assert out == [191]
