"""The report of a compaction request (``rt.compact``, ``POST /api/v1/claw/{agent}/compact``)."""

from __future__ import annotations

from typing import Any

from neam.agents.claw import COMPACTED, DISABLED, NOTHING_TO_COMPACT, Compaction

MAX_REASONS = 5


def report(agent: str, done: list[Compaction], keep: int) -> dict[str, Any]:
    """Counts summed over the sessions in ``done``, and what happened to them.

    ``status`` is ``compacted`` when at least one session was, else ``disabled``
    (the agent's ``session.compaction``) or ``nothing_to_compact``, with a
    ``message`` saying why. ``summarizer`` is ``model``, ``local`` (the model call
    failed: ``fallback_reason`` says why) or ``mixed``. ``keep`` is the number of
    recent turns compaction never summarises.
    """
    compacted = [c for c in done if c.status == COMPACTED]
    result: dict[str, Any] = {
        "status": COMPACTED if compacted else NOTHING_TO_COMPACT,
        "turns_before": sum(c.turns_before for c in done),
        "turns_after": sum(c.turns_after for c in done),
        "summary_length": sum(c.summary_length for c in done),
        "sessions_compacted": len(compacted),
    }
    if compacted:
        kinds = {c.summarizer for c in compacted}
        result["summarizer"] = kinds.pop() if len(kinds) == 1 else "mixed"
        failed = [c for c in compacted if c.error]
        if failed:
            reasons = [f"session '{c.session_key}': {c.error}" for c in failed[:MAX_REASONS]]
            if len(failed) > MAX_REASONS:
                reasons.append(f"{len(failed) - MAX_REASONS} more sessions")
            result["fallback_reason"] = "; ".join(reasons)
    elif any(c.status == DISABLED for c in done):
        result["status"] = DISABLED
        result["message"] = f"compaction is disabled for '{agent}' (session.compaction)"
    elif not done:
        result["message"] = f"nothing to compact: '{agent}' has no sessions"
    elif len(done) == 1:
        result["message"] = (
            f"nothing to compact: session '{done[0].session_key}' has "
            f"{done[0].turns_before} turns and compaction keeps the most recent {keep}"
        )
    else:
        result["message"] = (
            f"nothing to compact: none of the {len(done)} sessions has more turns than "
            f"compaction keeps (the most recent {keep})"
        )
    return result
