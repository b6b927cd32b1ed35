"""Lexing is linear in the input: proved on the patterns' structure, never by timing.

Python's ``re`` backtracks. A pattern can only take more than linear time when
the engine backtracks into an unbounded repetition: ``(?:[ \\t]+|//.*)*``
splits one run of blanks in exponentially many ways before it gives up.
Every pattern the lexer (and the grammar's token definitions) uses must therefore:

1. make each unbounded repetition possessive (``*+``, ``++``, ``{n,}+``), so a
   match never gives characters back to it, and
2. repeat only pieces of bounded width (no unbounded repetition inside another),
   so one step of a repetition costs a bounded amount of work.

With both, the only choices the engine can revisit are bounded ones
(alternatives, optional parts, bounded repeats), a pattern-dependent constant
number of them per match, and each is tried by scanning forward once: a match
is linear in the text it scans. The lexer matches each position a bounded
number of times (one token match, plus lookaheads that reach at most two
tokens ahead) and skips comments with ``str.find``, so lexing is linear too.
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse
from typing import Any

import pytest
from neam.lang import ast, compile_source, lexer
from neam.lang.lexer import NeamLexer
from neam.lang.parser import _LARK, _RESYNC, parse

UNBOUNDED = sre.MAXREPEAT
REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


def _module_patterns() -> dict[str, re.Pattern[str]]:
    """Every compiled pattern in neam.lang.lexer, also inside tuples and dicts."""
    found: dict[str, re.Pattern[str]] = {}
    stack: list[tuple[str, Any]] = list(vars(lexer).items())
    while stack:
        name, value = stack.pop()
        if isinstance(value, re.Pattern):
            found[f"lexer.{name}"] = value
        elif isinstance(value, tuple | list):
            stack.extend((f"{name}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((f"{name}[{key!r}]", item) for key, item in value.items())
    return found


def token_patterns() -> dict[str, re.Pattern[str]]:
    """The lexer's own patterns, its combined token pattern and the grammar's terminals."""
    instance = NeamLexer(_LARK.lexer_conf)
    patterns = _module_patterns()
    patterns["NeamLexer._token"] = instance._token
    patterns.update({f"terminal {name}": rx for rx, name in instance._patterns})
    for term in _LARK.terminals:
        if term.pattern.type == "re":
            patterns[f"grammar {term.name}"] = re.compile(term.pattern.to_regexp())
    patterns["parser._RESYNC"] = _RESYNC
    return patterns


def backtracking_hazards(pattern: re.Pattern[str]) -> list[str]:
    """What in ``pattern`` could make a match take more than linear time (empty: nothing)."""
    problems: list[str] = []

    def walk(items: Any) -> None:
        for op, arg in items:
            if op in REPEATS:
                low, high, body = arg
                if high == UNBOUNDED:
                    if op is not sre.POSSESSIVE_REPEAT:
                        problems.append(f"backtracking unbounded repetition {op} {{{low},}}")
                    if body.getwidth()[1] >= UNBOUNDED:
                        problems.append("unbounded repetition nested in an unbounded repetition")
                walk(body)
            elif op is sre.SUBPATTERN:
                walk(arg[-1])
            elif op is sre.BRANCH:
                for branch in arg[1]:
                    walk(branch)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                walk(arg[1])
            elif op is sre.ATOMIC_GROUP:
                walk(arg)

    walk(sre_parse.parse(pattern.pattern, pattern.flags))
    return problems


def test_the_patterns_are_collected() -> None:
    names = token_patterns()
    assert {"NeamLexer._token", "grammar STRING", "grammar NAME", "grammar NUMBER"} <= set(names)
    assert any(name.startswith("lexer._DECL_HEADS") for name in names)


@pytest.mark.parametrize("name", sorted(token_patterns()))
def test_no_token_pattern_can_backtrack_into_an_unbounded_repetition(name: str) -> None:
    pattern = token_patterns()[name]
    assert backtracking_hazards(pattern) == [], pattern.pattern


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?:[ \t]+|//[^\n]*)*x",  # the old skip pattern: nested and greedy
        r"\d+(\.\d+)?",  # greedy
        r"(?:a*+b)*+",  # possessive, but nested
        r'"""(?:[^\\]|\\.)*?"""',  # lazy
    ],
)
def test_the_check_finds_hazards(pattern: str) -> None:
    assert backtracking_hazards(re.compile(pattern))


def positions(source: str) -> list[tuple[object, int, int]]:
    """(value, line, column) of each top-level expression statement of ``source``."""
    module, diagnostics = parse(source, "t.neam")
    assert module is not None, diagnostics
    out = []
    for item in module.items:
        assert isinstance(item, ast.ExprStmt)
        expr = item.expr
        value = expr.name if isinstance(expr, ast.Name) else expr.value  # type: ignore[attr-defined]
        out.append((value, expr.line, expr.column))
    return out


def test_comments_between_tokens_keep_positions() -> None:
    source = 'a /* one\ntwo */ b // three\n/**/c\n  /*/ x */ "s" // end'
    assert positions(source) == [("a", 1, 1), ("b", 2, 8), ("c", 3, 5), ("s", 4, 12)]


def test_triple_quoted_strings_end_at_the_first_three_quotes() -> None:
    assert positions('"""a "b" ""c"""') == [('a "b" ""c', 1, 1)]
    assert positions('"""x""" "y"') == [("x", 1, 1), ("y", 1, 9)]


def test_a_comment_before_a_declaration_head_is_code_on_that_line() -> None:
    # `skill x {` first on its line inside an open body is a missing '}' ...
    missing = compile_source("fun f() {\n  skill x { }\n", "t.neam")
    assert [(d.line, d.column) for d in missing.errors][:1] == [(2, 3)]
    assert "missing" in missing.errors[0].message
    # ... and a comment before it, on the same line, does not hide that it is not first.
    after_comment = compile_source("fun f() {\n  /* c */ skill x { }\n}", "t.neam")
    assert "missing" not in " ".join(d.message for d in after_comment.errors)


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("let a = 1; /* open", "unterminated comment", 12),
        (" " * 5000 + "@", "unexpected character '@'", 5001),
        ("/* a */ // b\n" * 3 + "  @", "unexpected character '@'", 3),
        ('let s = "abc\n', "unterminated string", 9),
    ],
)
def test_lexical_errors_are_positioned(source: str, message: str, column: int) -> None:
    result = compile_source(source, "t.neam")
    first = result.errors[0]
    assert first.message == message
    assert first.column == column
