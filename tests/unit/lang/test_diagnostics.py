"""Diagnostics echo a bounded piece of the source around the caret."""

from __future__ import annotations

from pathlib import Path

from neam.cli import neam_run
from neam.lang import compile_source
from neam.lang.diagnostics import SNIPPET_WIDTH, caret_snippet


def snippet_of(source: str) -> tuple[str, str, str]:
    """The head line, the echoed source line and the caret line of the first diagnostic."""
    result = compile_source(source, "t.neam")
    head, shown, carets = result.format().split("\n")[:3]
    return head, shown, carets


def caret_target(shown: str, carets: str) -> str:
    start = carets.index("^")
    return shown[start : start + carets.count("^")]


def test_a_long_line_is_cut_around_the_caret() -> None:
    source = "let a = [" + "1, " * 5000 + "oops oops, " + "2, " * 5000 + "];"
    head, shown, carets = snippet_of(source)
    assert head.startswith("t.neam:1:15015: error: unexpected 'oops', expected ')', ']', ','")
    assert len(shown) <= SNIPPET_WIDTH + 3  # a space and two "…"
    assert shown.startswith(" …") and shown.endswith("…")
    assert caret_target(shown, carets) == "oops"


def test_ends_of_a_long_line_are_cut_on_one_side_only() -> None:
    shown, carets = caret_snippet("x" * 10 + "y" * 500, 3, 2).split("\n")
    assert shown == " " + "x" * 10 + "y" * (SNIPPET_WIDTH - 10) + "…"
    assert carets == "   ^^"
    shown, carets = caret_snippet("y" * 500 + "z", 501).split("\n")
    assert shown == " …" + "y" * (SNIPPET_WIDTH - 1) + "z"
    assert caret_target(shown, carets) == "z"


def test_a_short_line_is_shown_whole_and_the_caret_stays_under_its_column() -> None:
    head, shown, carets = snippet_of('let\ta = "\x1b[31m" + ;')
    assert head.startswith("t.neam:1:19: error: unexpected ';'")
    assert shown == ' let a = " [31m" + ;'  # tab and ESC shown as one space each
    assert caret_target(shown, carets) == ";"


def test_only_newlines_end_lines() -> None:
    # A form feed is whitespace, not a line break: the echoed line is line 2.
    head, shown, _ = snippet_of("let a = 1;\f\r\nlet b = ;")
    assert head.startswith("t.neam:2:9:")
    assert shown == " let b = ;"


def test_a_huge_token_is_clipped_in_the_message() -> None:
    prompt = '"' + "word " * 10_000 + '"'
    head, _, _ = snippet_of(f"let p = ({prompt} {prompt});")
    assert len(head) < 200
    assert "unexpected '\"word word" in head and "…'" in head


def test_runtime_errors_of_neam_run_are_cut_too(tmp_path: Path, capsys) -> None:
    program = tmp_path / "long.neam"
    program.write_text("let xs = [" + "1, " * 3000 + "]; emit xs[9999];\n")
    assert neam_run.main(["run", str(program)]) == 1
    err = capsys.readouterr().err
    assert "index 9999 out of range" in err
    shown, carets = err.splitlines()[-2:]
    assert len(shown) <= SNIPPET_WIDTH + 3
    assert caret_target(shown, carets) == "x"
