"""Session compaction policy: which turns to summarise, the local fallback summary,
durable facts, and the ``MEMORY.md`` flush.

Compaction summarises the oldest two thirds of a session's turns, never touching
the most recent :data:`KEEP_RECENT` (20, or ``max_history_turns`` when that is
smaller). The model writes the summary (:mod:`neam.agents.summarizer`); when that
call fails, the summary is built here, locally and deterministically:

- the summary lists, per old turn, the start of the user's message and of the
  reply, bounded to :data:`MAX_SUMMARY_CHARS`;
- durable facts are the user's sentences that state something lasting about
  them or ask to be remembered ("my name is", "I prefer", "remember", ...).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neam.text import clip

AUTO_THRESHOLD = 0.8
KEEP_RECENT = 20
MAX_SUMMARY_CHARS = 2000
_FACT = re.compile(
    r"\b(my name is|call me|i am|i'm|i prefer|i like|i use|i work|i live|my \w+ is|"
    r"remember|always|never|don't forget|please note)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """A provider-neutral token estimate: about four characters per token."""
    return sum(len(str(m.get("content") or "")) for m in messages) // 4 + 4 * len(messages)


def needs_auto_compaction(
    messages: list[dict[str, Any]], context_window: int, threshold: float = AUTO_THRESHOLD
) -> bool:
    """True when the prompt is estimated at ``threshold`` (default 80%) of the window."""
    return context_window > 0 and estimate_tokens(messages) >= threshold * context_window


def kept_recent(max_history_turns: int) -> int:
    """How many of the most recent turns compaction never summarises."""
    return max(1, min(KEEP_RECENT, max_history_turns))


def summarised_count(turns: int, max_history_turns: int) -> int:
    """How many of the oldest ``turns`` compaction summarises: two thirds of them,
    but never one of the most recent :func:`kept_recent`."""
    return max(0, min(turns * 2 // 3, turns - kept_recent(max_history_turns)))


def _clip(text: str, limit: int) -> str:
    """``text`` on one line (runs of whitespace become one space), clipped."""
    return clip(" ".join(str(text).split()), limit)


def summarize(previous: str | None, turns: list[dict[str, Any]]) -> str:
    """A bounded summary of ``turns``, continuing an earlier summary if any."""
    lines = [f"Earlier summary: {_clip(previous, 600)}"] if previous else []
    lines.append(f"{len(turns)} earlier turns:")
    for turn in turns:
        lines.append(
            f"- user: {_clip(turn.get('user', ''), 80)} / reply: "
            f"{_clip(turn.get('assistant', ''), 80)}"
        )
    text = "\n".join(lines)
    return clip(text, MAX_SUMMARY_CHARS)


def durable_facts(turns: list[dict[str, Any]]) -> list[str]:
    facts: list[str] = []
    for turn in turns:
        for sentence in _SENTENCE.split(str(turn.get("user", ""))):
            sentence = _clip(sentence.strip(), 300)
            if sentence and _FACT.search(sentence) and sentence not in facts:
                facts.append(sentence)
    return facts


def flush_to_memory(
    workspace: Path, key: str, facts: list[str], summary: str, summarizer: str = "local"
) -> Path:
    """Appends a dated section with the facts and the summary to ``MEMORY.md``."""
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / "MEMORY.md"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    by = "summary by the model" if summarizer == "model" else "local summary"
    body = [f"\n## Session {key} (compacted {stamp}, {by})\n"]
    body += [f"- {fact}\n" for fact in facts] or ["- (no durable facts found)\n"]
    body.append("\n" + summary + "\n")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(body))
    return path
