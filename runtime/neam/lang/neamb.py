"""The compiled form ``.neamb``: a checked :class:`Program` as versioned JSON (no pickle).

Layout (see docs/neamb-format.md)::

    {"format": "neamb", "version": 1, "source_file": "...", "source_hash": "<sha256>",
     "program": {"_t": "Program", ...}}

Every dataclass (program declarations and AST nodes) is an object with its class
name under ``"_t"`` and its fields by name; AST positions are packed into
``"@": [line, column, end_line, end_column]``. Loading rebuilds the same objects
without parsing.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from neam.lang import ast, program
from neam.lang.program import Program, source_hash

FORMAT = "neamb"
FORMAT_VERSION = 1

_POSITION_FIELDS = ("line", "column", "end_line", "end_column")
_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for module in (ast, program)
    for cls in vars(module).values()
    if isinstance(cls, type) and is_dataclass(cls) and cls.__module__ == module.__name__
}


class NeambError(ValueError):
    """A ``.neamb`` file is not a compiled Neam program this version can read."""


def _encode(value: Any) -> Any:
    if isinstance(value, ast.Node):
        out: dict[str, Any] = {"_t": type(value).__name__}
        for f in fields(value):
            if f.name not in _POSITION_FIELDS:
                out[f.name] = _encode(getattr(value, f.name))
        out["@"] = [value.line, value.column, value.end_line, value.end_column]
        return out
    if is_dataclass(value) and not isinstance(value, type):
        out = {"_t": type(value).__name__}
        for f in fields(value):
            out[f.name] = _encode(getattr(value, f.name))
        return out
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get("_t")
    if tag is None:
        return {k: _decode(v) for k, v in value.items()}
    cls = _CLASSES.get(tag)
    if cls is None:
        raise NeambError(f"unknown object type {tag!r} in compiled program")
    kwargs = {k: _decode(v) for k, v in value.items() if k not in ("_t", "@")}
    if "@" in value:
        kwargs.update(zip(_POSITION_FIELDS, value["@"], strict=True))
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise NeambError(f"malformed {tag} in compiled program: {err}") from None


def dumps(prog: Program) -> str:
    """The ``.neamb`` text of a checked program."""
    try:
        encoded = _encode(prog)
    except RecursionError:
        raise NeambError("program is nested too deeply to serialise") from None
    doc = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "source_file": prog.filename,
        "source_hash": prog.source_hash,
        "program": encoded,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Program:
    """Rebuilds a :class:`Program` from ``.neamb`` text; raises :class:`NeambError`."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise NeambError("not a compiled Neam program (JSON nested too deeply)") from None
    except ValueError as err:  # invalid JSON, or an integer too long to convert
        raise NeambError(f"not a compiled Neam program (invalid JSON: {err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise NeambError('not a compiled Neam program (missing "format": "neamb")')
    version = doc.get("version")
    if version != FORMAT_VERSION:
        raise NeambError(
            f"compiled program has format version {version!r}; this runtime reads version "
            f"{FORMAT_VERSION} (recompile it with neamc)"
        )
    try:
        prog = _decode(doc.get("program"))
    except RecursionError:
        raise NeambError("compiled program is nested too deeply") from None
    if not isinstance(prog, Program):
        raise NeambError("compiled program has no Program object")
    if prog.source_hash != doc.get("source_hash"):
        raise NeambError("compiled program is inconsistent: source hashes differ")
    return prog


def write_neamb(prog: Program, path: str | Path) -> None:
    Path(path).write_text(dumps(prog), encoding="utf-8")


def read_neamb(path: str | Path) -> Program:
    return loads(Path(path).read_text(encoding="utf-8"))


def is_current(prog: Program, source_path: str | Path) -> bool:
    """Whether ``prog`` was compiled from the current contents of ``source_path``."""
    return prog.source_hash == source_hash(Path(source_path).read_text(encoding="utf-8"))
