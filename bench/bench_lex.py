"""Lexing benchmark: whitespace- and comment-heavy sources scale linearly.

Run with ``python -m bench lex``. Each input is generated at 1x, 10x and 100x
its base size (about 10,000 characters) and parsed with ``neam.lang.parser.parse``;
almost every character of these inputs is whitespace or comment, so the time is
the lexer's. Linear lexing shows as the same CPU milliseconds per 10,000
characters at every size (DESIGN.md: no backtracking blow-up).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from neam.lang.parser import parse

BASE_CHARS = 10_000
SIZES = (1, 10, 100)

_BLANK_UNIT = "fun f{i}(x) {{\n" + "\n" * 12 + "        \t  return x;\n" + "    \n" * 12 + "}}\n"
_COMMENT_UNIT = (
    "/// f{i} doubles its argument.\n"
    "/// It is documented at length here.\n"
    "/* a block comment\n   over three lines\n   before the code */\n"
    "fun f{i}(x) {{ // trailing comment\n  return x * 2; /* inline */\n}}\n"
)


def _repeat(unit: str, chars: int) -> str:
    parts, size, i = [], 0, 0
    while size < chars:
        part = unit.format(i=i)
        parts.append(part)
        size += len(part)
        i += 1
    return "".join(parts)


INPUTS: dict[str, Callable[[int], str]] = {
    "blank lines and indentation": lambda chars: _repeat(_BLANK_UNIT, chars),
    "line and block comments": lambda chars: _repeat(_COMMENT_UNIT, chars),
    "valid file ending in newlines": lambda chars: "let x = 1;" + "\n" * chars,
    "blanks before a bad character": lambda chars: " \t\n" * (chars // 3) + "@",
    "comments before a bad character": lambda chars: "/* c */ // d\n" * (chars // 13) + "@",
}


def _best_seconds(text: str, repeat: int) -> float:
    """The least CPU time of ``repeat`` calls of ``parse(text)``: CPU rather than wall
    time and the best run rather than the median, so other work on the machine blurs
    the scaling as little as possible. Garbage collection is off while timing (as
    timeit does), so the collector's passes over a growing heap do not blur it either."""
    parse(text, "bench.neam")  # warm-up
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            parse(text, "bench.neam")
            times.append(time.process_time() - start)
        finally:
            gc.enable()
    return min(times)


def main() -> None:
    header = " | ".join(f"{size}x" for size in SIZES)
    print(f"CPU ms per 10,000 characters (best of 7; 1x = {BASE_CHARS:,} characters): {header}")
    for label, make in INPUTS.items():
        per_10k = []
        for size in SIZES:
            text = make(BASE_CHARS * size)
            seconds = _best_seconds(text, 7)
            per_10k.append(seconds * 1000 * 10_000 / len(text))
        cells = " | ".join(f"{ms:.3f}" for ms in per_10k)
        print(f"  {label}: {cells} (100x/1x = {per_10k[-1] / per_10k[0]:.2f})")
