"""Classification of what a forge agent's ``verify(ctx)`` returned."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PASS, RETRY, FEEDBACK, ABORT = "pass", "retry", "feedback", "abort"
DEFAULT_RETRY_FEEDBACK = "Verification failed; try again."


@dataclass(frozen=True)
class Verdict:
    kind: str
    feedback: str


def classify(value: Any) -> Verdict:
    """``true`` passes; a string containing ``abort`` aborts; ``"retry..."``, ``false``,
    ``nil`` and other falsy values retry; any other string (or other value, as JSON)
    is feedback for the next iteration."""
    if value is True:
        return Verdict(PASS, "")
    if isinstance(value, str):
        text = value.strip()
        if "abort" in text.lower():
            return Verdict(ABORT, text)
        if not text:
            return Verdict(RETRY, DEFAULT_RETRY_FEEDBACK)
        if text.lower().startswith("retry"):
            detail = text[len("retry") :].strip(" :-—")
            return Verdict(RETRY, detail or DEFAULT_RETRY_FEEDBACK)
        return Verdict(FEEDBACK, text)
    if not value:
        return Verdict(RETRY, DEFAULT_RETRY_FEEDBACK)
    return Verdict(FEEDBACK, json.dumps(value, default=str, ensure_ascii=False))
