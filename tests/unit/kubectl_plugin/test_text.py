"""kubectl-neam's formatting and parsing helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from neam_operator.kubectl_plugin.text import (
    fields,
    git_summary,
    human_duration,
    iterations,
    one_line,
    parse_duration,
    run_duration,
    size,
    table,
)

AT = datetime(2026, 1, 1, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m00s"), (187, "3m07s"), (7500, "2h05m"), (356400, "4d03h")],
)
def test_durations_read_like_kubectl_ages(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("2m5s", 125)]
)
def test_timeouts_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "-3s", "m"])
def test_bad_timeouts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_run_duration_ends_at_completion_or_now() -> None:
    done = {"startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:02:05Z"}
    assert run_duration(done, AT) == "2m05s"
    assert run_duration({"startTime": "2026-01-01T00:59:30Z"}, AT) == "30s"
    assert run_duration({}, AT) == "-"


def test_iterations_sizes_and_one_liners() -> None:
    assert (iterations(2, 4), iterations(2, None), iterations(None, 4)) == ("2/4", "2", "-")
    assert [size(n) for n in (0, 1023, 1536, 3 * 1024 * 1024)] == [
        "0B",
        "1023B",
        "1.5KiB",
        "3.0MiB",
    ]
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("abcdef", 4) == "abc…"
    assert one_line(None) == "-"


def test_tables_and_fields_align() -> None:
    assert table(["NAME", "PHASE"], [["a", "Running"], ["long-name", "-"]]).splitlines() == [
        "NAME        PHASE",
        "a           Running",
        "long-name   -",
    ]
    assert fields([("Phase", "Failed"), ("Outcome", None), ("Iteration", "1/2")], 2) == (
        "  Phase:     Failed\n  Iteration: 1/2"
    )
    assert fields([("Only", None)]) == ""


def test_git_summary() -> None:
    git = {"branch": "neam/x", "headCommit": "0123456789abcdef", "pushError": "rejected\nnon-ff"}
    assert git_summary(git) == "branch neam/x, head 0123456789ab, push error: rejected non-ff"
    assert git_summary(None) is None
