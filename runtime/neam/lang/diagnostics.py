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
        head = str(self)
        if source_text is None:
            return head
        lines = source_text.splitlines()
        if not 1 <= self.line <= len(lines):
            return head
        text = lines[self.line - 1].expandtabs(1)
        start = max(self.column, 1)
        if self.end_line == self.line and self.end_column > start:
            width = self.end_column - start
        else:
            width = 1
        width = max(1, min(width, len(text) - start + 1))
        return f"{head}\n {text}\n {' ' * (start - 1)}{'^' * width}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def format_all(diagnostics: Iterable[Diagnostic], source_text: str | None = None) -> str:
    return "\n".join(d.format(source_text) for d in diagnostics)


class NeamCompileError(Exception):
    """Raised by :func:`neam.lang.load_program` when a program has errors."""

    def __init__(self, diagnostics: list[Diagnostic], source_text: str | None = None) -> None:
        self.diagnostics = diagnostics
        self.source_text = source_text
        super().__init__(format_all(diagnostics, source_text))
