"""JSON Lines files: crash-tolerant appends and reads.

Every record is serialised with :func:`json.dumps` (so any text, including
newlines, quotes, control characters and lone surrogates, is escaped) and written
with a single ``write`` call on a file opened in append mode, so concurrent
writers in one process never interleave within a line. Readers skip a torn last
line (a crash mid-write) and any other line that is not a JSON object.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO


def dumps_line(record: dict[str, Any]) -> bytes:
    """One record as a newline-terminated UTF-8 line (ASCII-only JSON)."""
    return (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def append(path: Path, record: dict[str, Any]) -> None:
    """Appends one record. A torn previous line is terminated first so it stays isolated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dumps_line(record)
    with open(path, "ab+") as fh:
        if fh.seek(0, os.SEEK_END) > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                data = b"\n" + data
        fh.write(data)


def parse_line(line: bytes | str) -> dict[str, Any] | None:
    """The record on one line, or None when it is blank, torn or not a JSON object."""
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def read_all(path: Path) -> list[dict[str, Any]]:
    """Every valid record of the file (empty when it does not exist)."""
    return list(iter_records(path))


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with open(path, "rb") as fh:
            for line in fh:
                record = parse_line(line)
                if record is not None:
                    yield record
    except FileNotFoundError:
        return


def read_first(path: Path) -> dict[str, Any] | None:
    """The first line's record, reading only that line."""
    try:
        with open(path, "rb") as fh:
            return parse_line(fh.readline())
    except FileNotFoundError:
        return None


def read_tail(path: Path, count: int, block: int = 65536) -> list[dict[str, Any]]:
    """The last ``count`` valid records, reading the file backwards in blocks.

    Cost is proportional to the size of those records, not to the file's length.
    """
    if count <= 0:
        return []
    try:
        with open(path, "rb") as fh:
            return _tail(fh, count, block)
    except FileNotFoundError:
        return []


def _tail(fh: BinaryIO, count: int, block: int) -> list[dict[str, Any]]:
    end = fh.seek(0, os.SEEK_END)
    buf = b""
    pos = end
    records: list[dict[str, Any]] = []
    while pos > 0 and len(records) < count:
        step = min(block, pos)
        pos -= step
        fh.seek(pos)
        buf = fh.read(step) + buf
        lines = buf.split(b"\n")
        # The first piece may be a partial line unless we reached the start.
        buf = lines[0] if pos > 0 else b""
        complete = lines[1:] if pos > 0 else lines
        for line in reversed(complete):
            record = parse_line(line) if line.strip() else None
            if record is not None:
                records.append(record)
                if len(records) == count:
                    break
    records.reverse()
    return records


def count_lines(path: Path, block: int = 1 << 20) -> int:
    """Number of complete lines, counted on raw bytes (no JSON parsing)."""
    try:
        with open(path, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(block), b""))
    except FileNotFoundError:
        return 0


def write_atomic(path: Path, records: list[dict[str, Any]]) -> None:
    """Replaces the file with ``records`` via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        for record in records:
            fh.write(dumps_line(record))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
