"""Malformed literals and deep nesting end in positioned diagnostics, and whatever
checks clean also compiles (the compiled form serialises and loads back)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from neam.lang import compile_source
from neam.lang.checker import MAX_NESTING
from neam.lang.neamb import dumps, loads
from neam.lang.values import MAX_INT_DIGITS

from tests.unit.lang.helpers import run
from tests.unit.lang.test_properties import SETTINGS, assert_only_diagnostics


def errors(source: str) -> list[tuple[str, int, int, str]]:
    result = compile_source(source, "t.neam")
    return [(d.code, d.line, d.column, d.message) for d in result.errors]


def test_an_integer_literal_too_long_for_the_runtime() -> None:
    digits = "9" * (MAX_INT_DIGITS + 1)
    assert errors(f"let x = {digits};") == [
        ("invalid-literal", 1, 9, f"integer literal has {MAX_INT_DIGITS + 1} digits; at most "
         f"{MAX_INT_DIGITS} are allowed"),
    ]  # fmt: skip
    assert run(f"emit len(str({'9' * MAX_INT_DIGITS}));") == [MAX_INT_DIGITS]


def test_number_literals_in_declarations_too() -> None:
    source = 'forge agent b {\n  provider: "p" model: "m" verify: v\n  loop { max_cost: 1e999 }\n}'
    assert errors(source + "\nfun v() { return true; }")[0][:3] == ("invalid-literal", 3, 20)
    assert errors(f'agent a {{ provider: "p" model: "m" x: -{"1" * 5000} }}')[0][:2] == (
        "invalid-literal",
        1,
    )


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        (r'"\u{110000}"', "invalid escape: U+110000 is beyond U+10FFFF"),
        (r'"\u{FFFFFFFFFFFF}"', r"invalid escape: \u{...} takes 1 to 6 hex digits and '}'"),
        (r'"\u{}"', r"invalid escape: \u{...} takes 1 to 6 hex digits and '}'"),
        (r'"\u{zz}"', r"invalid escape: \u{...} takes 1 to 6 hex digits and '}'"),
        (r'"\u{41"', r"invalid escape: \u{...} takes 1 to 6 hex digits and '}'"),
        (r'"\uD800"', "invalid escape: U+D800 is half of a UTF-16 surrogate pair"),
        (r'"\u{DFFF}"', "invalid escape: U+DFFF is half of a UTF-16 surrogate pair"),
    ],
)
def test_malformed_unicode_escapes_point_at_the_escape(literal: str, message: str) -> None:
    assert errors(f"let s = 'ok'; let t = {literal};") == [("invalid-literal", 1, 24, message)]


def test_escape_errors_in_every_string_position() -> None:
    bad = r'"\u{110000}"'
    for source, line, column in [
        (f'agent a {{ provider: {bad} model: "m" }}', 1, 22),  # a field value
        (f'agent a {{ {bad}: 1 provider: "p" model: "m" }}', 1, 12),  # a quoted key
        (f"let m = {{ {bad}: 1 }};", 1, 12),  # a map key
        (f"test {bad} {{ }}", 1, 7),  # a test name
        ('let s = """line one\n  two \\u{110000}""";', 2, 7),  # a multi-line string
        ('let s = f"a {1} \\uD800";', 1, 9),  # an f-string: its position
    ]:
        assert errors(source)[0][:3] == ("invalid-literal", line, column), source


def test_valid_unicode_escapes() -> None:
    assert run(r'emit "\u{1F600}" + "\uD83D\uDE00" + "\u00e9" + "\u{41}";') == ["😀😀éA"]
    assert run(r'emit "C:\users\x";') == [r"C:\users\x"]  # \u without hex stays as written


def test_a_lone_surrogate_in_the_source_text_is_positioned() -> None:
    assert errors('let s = "a";\n// \ud800') == [
        ("syntax", 2, 4, "invalid character U+D800 (half of a UTF-16 surrogate pair)")
    ]


def nested_list(depth: int) -> str:
    return "let x = " + "[" * depth + "]" * depth + ";"


def test_nesting_up_to_the_limit_compiles_serialises_and_runs() -> None:
    # `let` is level 1, so MAX_NESTING - 1 brackets are the deepest list.
    source = nested_list(MAX_NESTING - 1) + "\nemit len(x);"
    result = compile_source(source, "t.neam")
    assert result.ok, result.format()
    assert loads(dumps(result.program)) == result.program
    assert run(source) == [1]


@pytest.mark.parametrize(
    ("source", "column"),
    [
        (nested_list(MAX_NESTING), 8 + MAX_NESTING),
        ("emit " + "-" * 300 + "1;", 5 + MAX_NESTING),
        # the function is level 1 and its body level 2
        ("fun f() {" + "{" * 300 + "}" * 300 + "}", 8 + MAX_NESTING),
        # a block and its field are two levels: the 99th inner block's field is too deep
        ('agent a { provider: "p" model: "m" x: ' + "{ a: " * 150 + "1" + "}" * 151, 531),
    ],
)
def test_nesting_past_the_limit_is_a_positioned_error(source: str, column: int) -> None:
    found = errors(source)
    assert [(code, line, col) for code, line, col, _ in found] == [("too-deep", 1, column)]
    assert f"nested more than {MAX_NESTING} levels deep" in found[0][3]


def test_other_declarations_are_still_checked_next_to_a_too_deep_one() -> None:
    source = nested_list(MAX_NESTING + 5) + "\nskill s { impl() { return missing(); } }"
    codes = [d.code for d in compile_source(source, "t.neam").diagnostics]
    assert "too-deep" in codes and "missing-field" in codes


def test_neamc_check_and_compile_agree(tmp_path: Path) -> None:
    deep = tmp_path / "deep.neam"
    deep.write_text(nested_list(MAX_NESTING + 1))
    bad = tmp_path / "bad.neam"
    bad.write_text('let s = "\\u{110000}";')
    for path in (deep, bad):
        for command in ("check", "compile"):
            proc = subprocess.run(
                [sys.executable, "-m", "neam.cli.neamc", command, str(path)],
                capture_output=True,
                text=True,
            )
            assert proc.returncode == 1, proc.stderr
            assert f"{path}:1:" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ fuzzing


HEX = "0123456789abcdefABCDEFxyz"


@SETTINGS
@given(
    st.text(alphabet="0123456789", min_size=1, max_size=MAX_INT_DIGITS + 300),
    st.sampled_from(["", ".5", "e9", "e999", "e-999", ".0e400"]),
)
def test_number_literals(digits: str, suffix: str) -> None:
    assert_only_diagnostics(f"let x = {digits}{suffix};\nagent a {{ provider: \"p\" "
                            f"model: \"m\" n: {digits}{suffix} }}")  # fmt: skip


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=HEX + "{}", max_size=10).map(lambda t: "\\u" + t),
            st.text(alphabet=HEX, max_size=9).map(lambda t: "\\u{" + t + "}"),
            st.sampled_from(["\\", "\\n", "\\\\", '\\"', "a", "é", "\n", "{", "}", "\\\n"]),
        ),
        max_size=12,
    ).map("".join),
    st.sampled_from(['"{}"', 'f"{}"', '"""{}"""', "'{}'"]),
)
def test_string_escapes(body: str, quotes: str) -> None:
    literal = quotes.format(body)
    assert_only_diagnostics(f'let s = {literal};\nagent a {{ provider: {literal} model: "m" }}')


@SETTINGS
@given(st.lists(st.sampled_from(["[", "(", "-", "!", "{a: ", "f(", "if x {"]), max_size=260))
def test_deep_nesting_of_every_kind(openers: list[str]) -> None:
    closers = {"[": "]", "(": ")", "-": "", "!": "", "{a: ": "}", "f(": ")", "if x {": "}"}
    inner = "1"
    for opener in reversed(openers):
        inner = opener + inner + closers[opener]
    assert_only_diagnostics(f"fun f(x) {{ return {inner}; }}")
