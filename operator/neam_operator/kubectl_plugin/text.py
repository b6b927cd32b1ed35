"""Pure formatting and parsing helpers: times, durations, sizes, tables and one-liners."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

NONE = "-"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp from the API (``2026-01-02T03:04:05Z``, fractions allowed)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def now() -> datetime:
    return datetime.now(UTC)


def human_duration(seconds: float) -> str:
    """``42s``, ``3m07s``, ``2h05m``, ``4d03h`` (kubectl's AGE style, two units at most)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h30m`` as seconds; ValueError otherwise."""
    m = _DURATION.match(text.strip())
    if not text.strip() or m is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 5m or 1h30m)")
    hours, minutes, secs = (int(g or 0) for g in m.groups())
    return hours * 3600 + minutes * 60 + secs


def run_duration(status: dict[str, Any], at: datetime) -> str:
    """From ``startTime`` to ``completionTime`` (or to ``at`` while unfinished)."""
    start = parse_time(status.get("startTime"))
    if start is None:
        return NONE
    end = parse_time(status.get("completionTime")) or at
    return human_duration((end - start).total_seconds())


def age(value: str | None, at: datetime) -> str:
    when = parse_time(value)
    return human_duration((at - when).total_seconds()) if when else NONE


def stamp(value: str | None, at: datetime) -> str:
    """``2026-01-02T03:04:05Z (3m07s ago)``."""
    return f"{value} ({age(value, at)} ago)" if value else NONE


def iterations(iteration: Any, maximum: Any) -> str:
    """``2/4``, ``2`` without a maximum, ``-`` before the first report."""
    if iteration is None:
        return NONE
    return f"{iteration}/{maximum}" if maximum else str(iteration)


def size(n: int) -> str:
    """Bytes as ``512B``, ``1.5KiB``, ``3.0MiB``."""
    if n < 1024:
        return f"{n}B"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}GiB"


def one_line(text: Any, limit: int = 0) -> str:
    """Whitespace collapsed to single spaces, cut at ``limit`` characters (0: no limit)."""
    flat = " ".join(str(text).split()) if text is not None else ""
    if limit and len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat or NONE


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by three spaces, as ``kubectl get`` prints them."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def fields(pairs: Sequence[tuple[str, Any]], indent: int = 0) -> str:
    """``Label:  value`` lines with aligned values; pairs whose value is None are left out."""
    shown = [(k, v) for k, v in pairs if v is not None]
    if not shown:
        return ""
    width = max(len(k) for k, _ in shown) + 2
    pad = " " * indent
    return "\n".join(f"{pad}{(k + ':').ljust(width)}{v}" for k, v in shown)


def git_summary(git: dict[str, Any] | None) -> str | None:
    """``branch neam/x, head 0123456789ab, base ...`` of a run's ``status.git``."""
    if not git:
        return None
    parts = [
        f"branch {git['branch']}" if git.get("branch") else None,
        f"head {git['headCommit'][:12]}" if git.get("headCommit") else None,
        f"base {git['baseCommit'][:12]}" if git.get("baseCommit") else None,
        f"push error: {one_line(git['pushError'])}" if git.get("pushError") else None,
    ]
    return ", ".join(p for p in parts if p) or None
