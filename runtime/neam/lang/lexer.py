"""A fast contextual lexer for the Neam grammar, plugged into lark's LALR parser.

lark's own contextual lexer tries a regex per terminal set and per ignored
chunk; this one matches a token *and* the whitespace/comments before it with
one precompiled regex, then picks the terminal type from the grammar's own
terminal table. When a lexeme can be several terminals (a keyword or a name,
``=`` as ``EQUAL`` or ``ASSIGN_OP``), it takes the first one the parser accepts
in its current state, which is what makes ``type``, ``impl`` or ``forge`` usable
as field names and variables where no keyword fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lark import Token
from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer
from lark.parsers.lalr_analysis import Shift

# Whitespace between tokens; comments are found by the main loop (a `/` token
# followed by `/` or `*`) and skipped with str.find, so no pattern here nests
# repetitions. Every unbounded repetition is possessive and repeats a piece of
# bounded width: a match never backtracks into one, so each match is linear in
# what it scans, and lexing is linear in the input
# (tests/unit/lang/test_lexer_linear.py checks every pattern for this).
_SPACE = re.compile(r"[ \t\r\n\f\ufeff]*+")
# Longest operators first; each is classified by the grammar's terminal table.
_OPERATOR = r"->|=>|==|!=|<=|>=|&&|\|\||[-+*/]=|[-+*/%<>=!(){}\[\],;:.?]"
_GROUP_TYPE = {1: "STRING", 2: "NUMBER", 3: "NAME", 5: "FSTRING"}
_GROUP_INDEX = {"s": 1, "n": 2, "i": 3, "o": 4, "f": 5}
_NAME_GROUP, _OPERATOR_GROUP = 3, 4
# Names and operators whose terminal types are cached; the cache is cleared when
# it grows past this, so a long-lived process compiling many programs stays bounded.
_CANDIDATE_CACHE_LIMIT = 4096

# Lookaheads: sequences of patterns, each matched after whitespace and comments.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*+")
_BLOCK_AHEAD = (_NAME, re.compile(r"\{"))  # `Name {`
_AGENT_AHEAD = (re.compile(r"agent\b"),)
# Soft keywords, decided by what follows: `word Name {` starts a declaration of
# the wider Neam language (DECL_WORD) and `extern skill` an external skill.
_EXTERN_AHEAD = (re.compile(r"skill\b"),)
_WORD_AHEAD = (re.compile(r"[A-Za-z_]"),)
_STRING_AHEAD = (re.compile(r"[\"']"),)
# A declaration head (`skill name {`, `claw agent`, `impl T for`, ...) at the start
# of a line where the parser cannot start a declaration almost always means a
# '}' is missing above it: the lexer hands it over as MISPLACED_DECL, a type
# no rule accepts, so the syntax error points at it instead of at the end of
# the file (the liberal `key value` syntax would otherwise swallow it).
_DECL_HEADS: dict[str, tuple[re.Pattern[str], ...] | None] = {
    "agent": _BLOCK_AHEAD,
    "skill": _BLOCK_AHEAD,
    "guard": _BLOCK_AHEAD,
    "channel": _BLOCK_AHEAD,
    "struct": _BLOCK_AHEAD,
    "trait": _BLOCK_AHEAD,
    "guardchain": (_NAME, re.compile("=")),
    "claw": _AGENT_AHEAD,
    "forge": _AGENT_AHEAD,
    "impl": (_NAME, re.compile(r"for\b")),
    "fun": None,  # see _FUN_AHEAD
    "fn": None,
}
# `fun name(` directly inside a code block (one opened after `)`: a function,
# handler, if or while body), where lambdas have no name: the block above
# misses its '}'. (Inside impl, trait and declaration bodies it is legal.)
_FUN_AHEAD = (_NAME, re.compile(r"\("))
# `match subject {`: `match` followed by an operand (not `(`, `.`, `=`, ...).
_MATCH_AHEAD = (re.compile(r"[A-Za-z_0-9\"'\[!-]"),)
_MODULE_WORDS = {"use": "USE", "import": "USE", "module": "USE", "pub": "PUB"}


def skip(text: str, pos: int, end: int) -> int:
    """The index of the first character at or after ``pos`` that is neither
    whitespace nor part of a comment (an unterminated ``/*`` counts as code)."""
    while True:
        pos = _SPACE.match(text, pos, end).end()  # type: ignore[union-attr]
        if text.startswith("//", pos, end):
            newline = text.find("\n", pos, end)
            pos = end if newline < 0 else newline
        elif text.startswith("/*", pos, end):
            close = text.find("*/", pos + 2, end)
            if close < 0:
                return pos
            pos = close + 2
        else:
            return pos


def _ahead(text: str, pos: int, end: int, pieces: tuple[re.Pattern[str], ...]) -> bool:
    """Whether ``pieces`` match in turn from ``pos``, skipping whitespace and comments."""
    for piece in pieces:
        found = piece.match(text, skip(text, pos, end), end)
        if found is None:
            return False
        pos = found.end()
    return True


def _choose(types: tuple[str, ...], actions: dict[str, Any]) -> str:
    """The terminal type for an ambiguous lexeme in the parser's current state.

    A type the parser can shift wins over one it could only reduce on: with
    optional semicolons, after ``return`` the state also "accepts" ``skill``
    (a new top-level declaration could follow), but ``return skill`` means
    the variable.
    """
    acceptable = [t for t in types if t in actions]
    for t in acceptable:
        if actions[t][0] is Shift:
            return t
    return acceptable[0] if acceptable else types[0]


class NeamLexer(Lexer):
    """lark custom lexer (interface 2): ``lex(lexer_state, parser_state)``."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: Any) -> None:
        self._literals: dict[str, list[str]] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for term in lexer_conf.terminals:
            if term.name in lexer_conf.ignore:
                continue
            if term.pattern.type == "str":
                self._literals.setdefault(term.pattern.value, []).append(term.name)
            elif term.name not in ("NAME", "NUMBER", "STRING", "FSTRING"):
                self._patterns.append((re.compile(term.pattern.to_regexp()), term.name))
        self._candidates: dict[tuple[int, str], tuple[str, ...]] = {}
        self._decl_states: frozenset[int] | None = None
        by_name = {t.name: t.pattern.to_regexp() for t in lexer_conf.terminals}
        # Token regexes come from the grammar; the named groups tell which one matched.
        self._token = re.compile(
            f"{_SPACE.pattern}(?:(?P<s>{by_name['STRING']})|(?P<f>{by_name['FSTRING']})"
            f"|(?P<n>{by_name['NUMBER']})|(?P<i>{by_name['NAME']})|(?P<o>{_OPERATOR}))"
        )

    def _types_for(self, group: int, text: str) -> tuple[str, ...]:
        """Terminal types ``text`` may be, preferred first (literals before patterns)."""
        if group not in (_NAME_GROUP, _OPERATOR_GROUP):
            return (_GROUP_TYPE[group],)  # a string, f-string or number is nothing else
        key = (group, text)
        found = self._candidates.get(key)
        if found is None:
            types = list(self._literals.get(text, ()))
            if group in _GROUP_TYPE:
                types.append(_GROUP_TYPE[group])
            types += [name for rx, name in self._patterns if rx.fullmatch(text)]
            found = tuple(types) or (text,)
            if len(self._candidates) >= _CANDIDATE_CACHE_LIMIT:
                self._candidates.clear()
            self._candidates[key] = found
        return found

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Token]:
        slice_ = lexer_state.text
        text: str = slice_.text
        pos, end = slice_.start, slice_.end
        states = parser_state.parse_conf.states
        decl_states = self._decl_states
        if decl_states is None:  # the parser states where a declaration may start
            decl_states = self._decl_states = frozenset(
                i for i, actions in states.items() if "DECL_WORD" in actions
            )
        match = self._token.match
        braces: list[bool] = []  # open '{'s: True when opened after ')' (a code block)
        prev = ""
        line, line_start = 1, 0  # line_start: index of the first character of `line`
        counted = pos  # the newlines before `counted` are included in `line`
        code_end = pos  # the end of the last token or comment
        while True:
            m = match(text, pos, end)
            # Without a match, only whitespace is left or no token starts at `start`.
            start = skip(text, pos, end) if m is None else m.start(m.lastgroup)
            newlines = text.count("\n", counted, start)
            if newlines:
                line += newlines
                line_start = text.rindex("\n", counted, start) + 1
            counted = start
            if m is None:
                if start >= end:
                    return
                raise UnexpectedCharacters(text, start, line, start - line_start + 1)
            name = m.lastgroup
            group = _GROUP_INDEX[name]  # type: ignore[index]
            value = m.group(name)
            stop = m.end()
            column = start - line_start + 1
            if group == _OPERATOR_GROUP and value == "/" and text.startswith(("//", "/*"), start):
                pos = code_end = skip(text, start, end)
                if pos == start:  # `/*` without `*/`
                    raise UnexpectedCharacters(text, start, line, column)
                continue
            first_on_line = code_end <= line_start
            code_end = stop
            types = self._types_for(group, value)
            kind = types[0] if len(types) == 1 else _choose(types, states[parser_state.position])
            if group == _OPERATOR_GROUP:
                if value == "{":
                    braces.append(prev == ")")
                elif value == "}" and braces:
                    braces.pop()
            elif (
                kind == "NAME"
                and value == "match"
                and "MATCH" in states[parser_state.position]
                and text[stop : stop + 1].isspace()
                and _ahead(text, stop, end, _MATCH_AHEAD)
            ):
                kind = "MATCH"
            elif kind == "NAME" and not braces:
                if parser_state.position in decl_states:
                    if value == "extern" and _ahead(text, stop, end, _EXTERN_AHEAD):
                        kind = "EXTERN"
                    elif value in _MODULE_WORDS and _ahead(text, stop, end, _WORD_AHEAD):
                        kind = _MODULE_WORDS[value]
                    elif value == "test" and _ahead(text, stop, end, _STRING_AHEAD):
                        kind = "TEST"
                    elif _ahead(text, stop, end, _BLOCK_AHEAD):
                        kind = "DECL_WORD"
            elif (
                braces
                and value in _DECL_HEADS
                and first_on_line
                and (
                    _ahead(text, stop, end, _DECL_HEADS[value])  # type: ignore[arg-type]
                    if value not in ("fun", "fn")
                    else braces[-1] and _ahead(text, stop, end, _FUN_AHEAD)
                )
            ):
                kind = "MISPLACED_DECL"
            prev = value
            if group in (1, 5) and "\n" in value:  # multi-line string
                end_line = line + value.count("\n")
                line_start = text.rindex("\n", start, stop) + 1
                yield Token(kind, value, start, line, column, end_line, stop - line_start + 1, stop)
                line, counted = end_line, stop
            else:
                yield Token(kind, value, start, line, column, line, column + len(value), stop)
            pos = stop
