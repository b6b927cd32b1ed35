"""Cron expressions (UTC): fields, ranges, steps, names, both day fields, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from neam.agents.cron import Cron, CronError


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression: str, after: str, count: int = 3) -> list[str]:
    cron, moment, out = Cron.parse(expression), at(after), []
    for _ in range(count):
        moment = cron.next_after(moment)
        out.append(moment.strftime("%Y-%m-%d %a %H:%M:%S"))
    return out


def test_five_fields_fire_on_whole_minutes() -> None:
    assert fires("*/15 9-17 * * mon-fri", "2025-03-07T16:50:00") == [
        "2025-03-07 Fri 17:00:00",
        "2025-03-07 Fri 17:15:00",
        "2025-03-07 Fri 17:30:00",
    ]
    assert fires("0 0 1 jan,jul *", "2025-03-07T00:00:00", 2) == [
        "2025-07-01 Tue 00:00:00",
        "2026-01-01 Thu 00:00:00",
    ]
    assert fires("@hourly", "2025-03-07T10:00:00", 2) == [
        "2025-03-07 Fri 11:00:00",
        "2025-03-07 Fri 12:00:00",
    ]


def test_a_leading_seconds_field_and_steps_from_a_start() -> None:
    assert fires("* * * * * *", "2025-03-07T10:00:58.5") == [
        "2025-03-07 Fri 10:00:59",
        "2025-03-07 Fri 10:01:00",
        "2025-03-07 Fri 10:01:01",
    ]
    assert fires("10/20 * * * * *", "2025-03-07T10:00:00") == [
        "2025-03-07 Fri 10:00:10",
        "2025-03-07 Fri 10:00:30",
        "2025-03-07 Fri 10:00:50",
    ]


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # the 13th, or any Sunday (7 is Sunday too)
    assert fires("0 12 13 * 7", "2025-04-10T00:00:00") == [
        "2025-04-13 Sun 12:00:00",
        "2025-04-20 Sun 12:00:00",
        "2025-04-27 Sun 12:00:00",
    ]
    assert fires("0 0 13 * *", "2025-04-10T00:00:00", 1) == ["2025-04-13 Sun 00:00:00"]
    assert Cron.parse("0 0 30 2 *").next_after(at("2025-01-01T00:00:00")) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "has 5 fields (minute hour day-of-month month day-of-week) or 6"),
        ("61 * * * *", "minute field: 61 is out of range 0-59"),
        ("* 24 * * *", "hour field: 24 is out of range 0-23"),
        ("* * * foo *", "month field: 'foo' is not a number"),
        ("*/0 * * * *", "minute field: step '0' is not a positive number"),
        ("5-1 * * * *", "minute field: range '5-1' runs backwards"),
    ],
)
def test_invalid_expressions_say_which_field(expression: str, message: str) -> None:
    with pytest.raises(CronError) as err:
        Cron.parse(expression)
    assert message in str(err.value) and repr(expression) in str(err.value)
