"""Compile diagnostics: positioned errors and warnings with caret snippets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a source file. Lines and columns are 1-based."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: str  # "error" or "warning"
    code: str  # stable identifier, e.g. "unknown-skill"
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"

    def format(self, source_text: str | None = None) -> str:
        """The one-line form followed by the source line and a caret under the span."""
        if source_text is None:
            return str(self)
        return self._with_snippet(source_lines(source_text))

    def _with_snippet(self, lines: list[str]) -> str:
        head = str(self)
        if not 1 <= self.line <= len(lines):
            return head
        width = self.end_column - self.column if self.end_line == self.line else 1
        return f"{head}\n{caret_snippet(lines[self.line - 1], self.column, width)}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def format_all(diagnostics: Iterable[Diagnostic], source_text: str | None = None) -> str:
    """Every diagnostic formatted, the source split into lines once."""
    if source_text is None:
        return "\n".join(str(d) for d in diagnostics)
    lines = source_lines(source_text)
    return "\n".join(d._with_snippet(lines) for d in diagnostics)


def source_lines(text: str) -> list[str]:
    """``text`` split into the lines diagnostics count (only ``\\n`` ends a line)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


# Characters of a source line echoed under a diagnostic: a long line (minified
# code, a prompt on one line) is cut around the caret.
SNIPPET_WIDTH = 100


def caret_snippet(line: str, column: int, width: int = 1) -> str:
    """Two lines: at most SNIPPET_WIDTH characters of ``line`` around ``column``
    ("…" marks a cut end) and a caret under ``width`` characters from ``column``.
    Tabs and other unprintable characters are shown as one space each, so the
    caret stays under its column."""
    text = "".join(c if c.isprintable() else " " for c in line)
    start = min(max(column, 1), len(text) + 1) - 1
    left = max(0, min(start - SNIPPET_WIDTH // 3, len(text) - SNIPPET_WIDTH))
    right = min(len(text), left + SNIPPET_WIDTH)
    shown = ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")
    carets = max(1, min(width, right - start))
    return f" {shown}\n {' ' * (start - left + (1 if left else 0))}{'^' * carets}"


class NeamCompileError(Exception):
    """Raised by :func:`neam.lang.load_program` when a program has errors."""

    def __init__(self, diagnostics: list[Diagnostic], source_text: str | None = None) -> None:
        self.diagnostics = diagnostics
        self.source_text = source_text
        super().__init__(format_all(diagnostics, source_text))
