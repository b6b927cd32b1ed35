"""Cron expressions for Schedulable agents, evaluated in UTC.

Five fields ``minute hour day-of-month month day-of-week``, or six with a
leading ``second`` field. Each field is ``*``, a number, a range ``a-b``, a step
``*/n``, ``a-b/n`` or ``a/n`` (from ``a`` to the field's maximum), or a
comma-separated list of those. Months and weekdays may be named (``jan``,
``mon``); day-of-week 0 and 7 are Sunday. When both day-of-month and
day-of-week are restricted, a day matching either one matches (as in Vixie
cron). ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
(``@midnight``) and ``@hourly`` are accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# name, lowest, highest, names (numbered from ``lowest``)
_FIELDS = (
    ("second", 0, 59, None),
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
SEARCH_YEARS = 5  # an expression that matches nothing in this span never fires


class CronError(ValueError):
    """An expression that is not valid cron."""


def _value(text: str, field: tuple) -> int:
    name, low, high, names = field
    if names and text.lower() in names:
        return names.index(text.lower()) + low
    if not text.isdigit():
        raise CronError(f"{name} field: {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name} field: {value} is out of range {low}-{high}")
    return value


def _field(text: str, field: tuple) -> frozenset[int]:
    name, low, high, _ = field
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name} field: step {step_text!r} is not a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, field), _value(last, field)
            if start > end:
                raise CronError(f"{name} field: range {base!r} runs backwards")
        else:
            start = _value(base, field)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed expression; :meth:`next_after` finds when it fires next."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month is *
    any_weekday: bool  # day-of-week is *

    @classmethod
    def parse(cls, expression: str) -> Cron:
        text = _MACROS.get(expression.strip().lower(), expression)
        parts = text.split()
        if len(parts) == 5:
            parts = ["0", *parts]
        elif len(parts) != 6:
            raise CronError(
                f"{expression!r}: a cron expression has 5 fields (minute hour day-of-month "
                f"month day-of-week) or 6 (a leading second), not {len(parts)}"
            )
        try:
            sets = [_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
        except CronError as exc:
            raise CronError(f"{expression!r}: {exc}") from None
        weekdays = frozenset(0 if d == 7 else d for d in sets[5])
        return cls(expression, *sets[:5], weekdays, parts[3] == "*", parts[5] == "*")

    def _day_matches(self, moment: datetime) -> bool:
        in_month = moment.day in self.days
        in_week = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, moment: datetime) -> datetime | None:
        """The first whole second after ``moment`` (an aware UTC datetime) that matches,
        or None when nothing matches within :data:`SEARCH_YEARS` years."""
        t = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = moment + timedelta(days=366 * SEARCH_YEARS)
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1) + timedelta(days=32)).replace(
                    day=1, hour=0, minute=0, second=0
                )
            elif not self._day_matches(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0, second=0)
            elif t.minute not in self.minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        return None
