"""session.daily_reset_hour: a session whose last turn came before the most recent
HH:00 UTC starts afresh on its next turn (the old file is archived)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from neam.agents.claw import daily_reset_due

PROGRAM = """
claw agent bot {
  provider: "openai"
  model: "stub-model"
  session: { daily_reset_hour: HOUR }
}
"""


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_the_reset_moment_is_the_last_hh00_utc_before_now() -> None:
    assert daily_reset_due(ts("2025-03-10T03:59"), ts("2025-03-10T04:00"), 4)
    assert not daily_reset_due(ts("2025-03-10T04:00"), ts("2025-03-10T04:30"), 4)
    # before today's 04:00: the moment is yesterday's, which the last turn came after
    assert not daily_reset_due(ts("2025-03-09T05:00"), ts("2025-03-10T03:00"), 4)
    assert daily_reset_due(ts("2025-03-09T03:00"), ts("2025-03-10T03:00"), 4)
    assert daily_reset_due(ts("2025-03-09T23:59"), ts("2025-03-10T00:01"), 0)
    assert daily_reset_due(ts("2025-03-01T12:00"), ts("2025-03-10T12:00"), 23)


def age_session(path, seconds: float) -> None:
    """Moves every turn of a session file ``seconds`` into the past."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        record["ts"] -= seconds
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_session_older_than_the_reset_hour_starts_afresh(make_runtime, stub, tmp_path):
    source = PROGRAM.replace("HOUR", "4")
    make_runtime(source).ask("bot", "k", "remember the blue door")
    session = tmp_path / "sessions" / "bot" / "k.jsonl"
    age_session(session, 2 * 86400)  # two days ago: a 04:00 UTC came in between
    make_runtime(source).ask("bot", "k", "what door?")
    assert "remember the blue door" not in json.dumps(stub.requests[-1].json["messages"])
    archived = list((tmp_path / "sessions" / "bot" / "archive").iterdir())
    assert len(archived) == 1 and "blue door" in archived[0].read_text()
    assert [json.loads(line)["user"] for line in session.read_text().splitlines()] == ["what door?"]


def test_a_session_used_since_the_reset_hour_keeps_its_history(make_runtime, stub, tmp_path):
    # the reset hour half a day away from now: the last one was about 12 hours ago
    hour = (datetime.now(UTC).hour + 12) % 24
    rt = make_runtime(PROGRAM.replace("HOUR", str(hour)))
    rt.ask("bot", "k", "remember the blue door")
    rt.ask("bot", "k", "what door?")
    assert "remember the blue door" in json.dumps(stub.requests[-1].json["messages"])
    assert not (tmp_path / "sessions" / "bot" / "archive").exists()
