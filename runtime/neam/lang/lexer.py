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

_SKIP = r"(?:[ \t\r\n\f\ufeff]+|//[^\n]*|/\*[\s\S]*?\*/)*"
# Longest operators first; each is classified by the grammar's terminal table.
_OPERATOR = r"->|=>|==|!=|<=|>=|&&|\|\||[-+*/]=|[-+*/%<>=!(){}\[\],;:.?]"
_SKIP_ONLY = re.compile(_SKIP)
_TRAILING = re.compile(f"{_SKIP}\\Z")
_GROUP_TYPE = {1: "STRING", 2: "NUMBER", 3: "NAME", 5: "FSTRING"}
_GROUP_INDEX = {"s": 1, "n": 2, "i": 3, "o": 4, "f": 5}
# Soft keywords, decided by what follows: `word Name {` starts a declaration of
# the wider Neam language (DECL_WORD) and `extern skill` an external skill.
_DECL_AHEAD = re.compile(f"{_SKIP}[A-Za-z_][A-Za-z0-9_]*{_SKIP}\\{{")
_EXTERN_AHEAD = re.compile(f"{_SKIP}skill\\b")
_WORD_AHEAD = re.compile(f"{_SKIP}[A-Za-z_]")
_STRING_AHEAD = re.compile(f"{_SKIP}[\"']")
_NAME_RX = "[A-Za-z_][A-Za-z0-9_]*"
# A declaration head (`skill name {`, `claw agent`, `impl T for`, ...) at the start
# of a line where the parser cannot start a declaration almost always means a
# '}' is missing above it: the lexer hands it over as MISPLACED_DECL, a type
# no rule accepts, so the syntax error points at it instead of at the end of
# the file (the liberal `key value` syntax would otherwise swallow it).
_BLOCK_AHEAD = re.compile(f"{_SKIP}{_NAME_RX}{_SKIP}\\{{")
_DECL_HEADS: dict[str, re.Pattern[str] | None] = {
    "agent": _BLOCK_AHEAD,
    "skill": _BLOCK_AHEAD,
    "guard": _BLOCK_AHEAD,
    "channel": _BLOCK_AHEAD,
    "struct": _BLOCK_AHEAD,
    "trait": _BLOCK_AHEAD,
    "guardchain": re.compile(f"{_SKIP}{_NAME_RX}{_SKIP}="),
    "claw": re.compile(f"{_SKIP}agent\\b"),
    "forge": re.compile(f"{_SKIP}agent\\b"),
    "impl": re.compile(f"{_SKIP}{_NAME_RX}{_SKIP}for\\b"),
    "fun": None,  # see _FUN_AHEAD
    "fn": None,
}
# `fun name(` directly inside a code block (one opened after `)`: a function,
# handler, if or while body), where lambdas have no name: the block above
# misses its '}'. (Inside impl, trait and declaration bodies it is legal.)
_FUN_AHEAD = re.compile(f"{_SKIP}{_NAME_RX}{_SKIP}\\(")
# `match subject {`: `match` followed by an operand (not `(`, `.`, `=`, ...).
_MATCH_AHEAD = re.compile(f"{_SKIP}(?=[A-Za-z_0-9\"'\\[!-])")
_MODULE_WORDS = {"use": "USE", "import": "USE", "module": "USE", "pub": "PUB"}


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
            f"{_SKIP}(?:(?P<s>{by_name['STRING']})|(?P<f>{by_name['FSTRING']})"
            f"|(?P<n>{by_name['NUMBER']})|(?P<i>{by_name['NAME']})|(?P<o>{_OPERATOR}))"
        )

    def _types_for(self, group: int, text: str) -> tuple[str, ...]:
        """Terminal types ``text`` may be, preferred first (literals before patterns)."""
        key = (group, text)
        found = self._candidates.get(key)
        if found is None:
            types = list(self._literals.get(text, ()))
            if group in _GROUP_TYPE:
                types.append(_GROUP_TYPE[group])
            types += [name for rx, name in self._patterns if rx.fullmatch(text)]
            found = self._candidates[key] = tuple(types) or (text,)
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
        while pos < end:
            m = match(text, pos, end)
            if m is None:
                trailing = _TRAILING.match(text, pos, end)
                if trailing is not None:
                    return
                skipped = _SKIP_ONLY.match(text, pos, end)
                bad = skipped.end() if skipped else pos
                line += text.count("\n", pos, bad)
                if "\n" in text[pos:bad]:
                    line_start = text.rindex("\n", pos, bad) + 1
                raise UnexpectedCharacters(text, bad, line, bad - line_start + 1)
            name = m.lastgroup
            group = _GROUP_INDEX[name]  # type: ignore[index]
            start = m.start(name)
            if text.count("\n", pos, start):
                line += text.count("\n", pos, start)
                line_start = text.rindex("\n", pos, start) + 1
            value = m.group(name)
            stop = m.end()
            column = start - line_start + 1
            if group == 4 and value == "/" and text.startswith("/*", start):
                raise UnexpectedCharacters(text, start, line, column)  # unterminated comment
            types = self._types_for(group, value)
            kind = types[0] if len(types) == 1 else _choose(types, states[parser_state.position])
            if group == 4:
                if value == "{":
                    braces.append(prev == ")")
                elif value == "}" and braces:
                    braces.pop()
            elif (
                kind == "NAME"
                and value == "match"
                and "MATCH" in states[parser_state.position]
                and text[stop : stop + 1].isspace()
                and _MATCH_AHEAD.match(text, stop, end)
            ):
                kind = "MATCH"
            elif kind == "NAME" and not braces:
                if parser_state.position in decl_states:
                    if value == "extern" and _EXTERN_AHEAD.match(text, stop, end):
                        kind = "EXTERN"
                    elif value in _MODULE_WORDS and _WORD_AHEAD.match(text, stop, end):
                        kind = _MODULE_WORDS[value]
                    elif value == "test" and _STRING_AHEAD.match(text, stop, end):
                        kind = "TEST"
                    elif _DECL_AHEAD.match(text, stop, end):
                        kind = "DECL_WORD"
            elif (
                braces
                and value in _DECL_HEADS
                and (start == line_start or text[line_start:start].isspace())
                and (
                    _DECL_HEADS[value].match(text, stop, end)
                    if value not in ("fun", "fn")
                    else braces[-1] and _FUN_AHEAD.match(text, stop, end)
                )
            ):
                kind = "MISPLACED_DECL"
            prev = value
            if group in (1, 5) and "\n" in value:  # multi-line string
                end_line = line + value.count("\n")
                end_column = stop - (text.rindex("\n", start, stop) + 1) + 1
                yield Token(kind, value, start, line, column, end_line, end_column, stop)
                line, line_start = end_line, text.rindex("\n", start, stop) + 1
            else:
                yield Token(kind, value, start, line, column, line, column + len(value), stop)
            pos = stop
