"""Compaction through the model: one chat call summarises the old turns of a session.

The request is a system message with :data:`INSTRUCTIONS` and one user message
holding the earlier summary (if any) and the transcript of the turns to
summarise. The transcript is bounded to half the model's context window (4
characters per token): each message is clipped to at most 1,000 characters (less
when there are many turns, never below 80), and when even that does not fit, the
earliest turns are left out and the transcript says how many. The reply's text
up to a line ``Durable facts:`` is the summary; the ``-`` lines after it are the
facts (``- none`` for none). A reply without that line is all summary, and its
facts come from the local extractor. An empty summary counts as a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from neam.agents.compaction import durable_facts
from neam.providers import ProviderError
from neam.text import clip

INSTRUCTIONS = (
    "You compact the conversation below between a user and an assistant so it can "
    "continue without it. Write a concise summary that keeps names, decisions, "
    "commitments, open questions and anything the user asked to be remembered; if an "
    "earlier summary is given, fold it in. Then write a line 'Durable facts:' followed "
    "by one '- ' line per lasting fact about the user or their preferences "
    "('- none' if there is none)."
)
MAX_TOKENS = 1024  # the summary replaces most of the history: keep it short
MAX_SUMMARY_CHARS = 6000
MAX_FACTS = 50
MESSAGE_CHARS = (80, 1000)  # each transcript message is clipped into this range
_FACTS_HEADER = re.compile(r"^\W*durable facts\W*:?\W*$", re.IGNORECASE)
_SUMMARY_LABEL = re.compile(r"^\W*summary\W*:\s*", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


class SummaryError(Exception):
    """The model gave no usable summary."""


@dataclass(frozen=True)
class ModelSummary:
    summary: str
    facts: list[str]
    cost: Decimal


def _one_line(text: Any, limit: int) -> str:
    return clip(" ".join(str(text).split()), limit)


def transcript(turns: list[dict[str, Any]], budget_chars: int) -> str:
    """The turns as numbered ``User:`` / ``Assistant:`` lines within ``budget_chars``."""
    low, high = MESSAGE_CHARS
    per_message = max(low, min(high, budget_chars // max(1, 2 * len(turns))))
    lines = [
        f"[{n}] User: {_one_line(t.get('user', ''), per_message)}\n"
        f"[{n}] Assistant: {_one_line(t.get('assistant', ''), per_message)}"
        for n, t in enumerate(turns, 1)
    ]
    shown, used = [], 0
    for line in reversed(lines):
        if used + len(line) > budget_chars and shown:
            break
        shown.append(line)
        used += len(line) + 1
    omitted = len(lines) - len(shown)
    head = [f"({omitted} earlier turns left out: too long to show)"] if omitted else []
    return "\n".join(head + shown[::-1])


def request(previous: str | None, turns: list[dict[str, Any]], context_window: int) -> list:
    """The chat messages asking the model for the summary."""
    budget = max(4000, context_window * 2)  # half the window, at four characters a token
    parts = [f"Earlier summary:\n{previous}\n"] if previous else []
    parts.append(f"Conversation ({len(turns)} turns):\n{transcript(turns, budget)}")
    return [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": "\n".join(parts)},
    ]


def parse(text: str, turns: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The summary and the durable facts in the model's reply."""
    lines = text.strip().splitlines()
    header = next((i for i, line in enumerate(lines) if _FACTS_HEADER.match(line)), None)
    body = lines if header is None else lines[:header]
    summary = _SUMMARY_LABEL.sub("", "\n".join(body).strip(), count=1).strip()
    if header is None:
        return clip(summary, MAX_SUMMARY_CHARS), durable_facts(turns)
    facts = []
    for line in lines[header + 1 :]:
        fact = _one_line(_BULLET.sub("", line), 300)
        if fact and fact.lower().rstrip(".") not in ("none", "(none)") and fact not in facts:
            facts.append(fact)
    return clip(summary, MAX_SUMMARY_CHARS), facts[:MAX_FACTS]


def summarize(provider: Any, previous: str | None, turns: list[dict[str, Any]]) -> ModelSummary:
    """One model call; raises :class:`SummaryError` (with the reason) when it fails."""
    try:
        response = provider.chat(
            request(previous, turns, provider.context_window), max_tokens=MAX_TOKENS
        )
    except ProviderError as exc:
        raise SummaryError(f"the model call failed: {exc}") from exc
    summary, facts = parse(response.text or "", turns)
    if not summary:
        raise SummaryError("the model returned an empty summary")
    return ModelSummary(summary, facts, response.cost)
