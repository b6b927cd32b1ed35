"""The operator's warnings and errors in a benchmark, counted by kind of message."""

from __future__ import annotations

import re
from collections import Counter

# "2026-01-01 10:00:00,123 WARNING neam_operator.forgerun: message"
LINE = re.compile(r"^\S+ \S+ (?P<level>WARNING|ERROR|CRITICAL) (?P<logger>[^:]+): (?P<msg>.*)$")
# Names and numbers vary per run; what is left groups the messages.
VARYING = re.compile(r"[\w.-]*\d[\w.-]*")


def problems(text: str, width: int = 110) -> Counter[str]:
    """``level logger: message`` (message shortened, names and numbers as ``#``) ->
    how many lines said it."""
    out: Counter[str] = Counter()
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            msg = VARYING.sub("#", m["msg"])[:width]
            out[f"{m['level']} {m['logger']}: {msg}"] += 1
    return out
