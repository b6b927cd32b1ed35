"""kubectl neam logs -f: a resumed log stream repeats no line."""

from __future__ import annotations

from neam_operator.kubectl_plugin.logs import LogCursor


def test_a_resumed_stream_skips_what_was_printed() -> None:
    cursor = LogCursor()
    first = [
        "2026-01-01T00:00:01.5Z iteration 1",
        "2026-01-01T00:00:02.000000001Z iteration 2",
        "2026-01-01T00:00:02.000000001Z verify ok",
    ]
    assert [cursor.accept(line) for line in first] == [
        ("2026-01-01T00:00:01.5Z", "iteration 1"),
        ("2026-01-01T00:00:02.000000001Z", "iteration 2"),
        ("2026-01-01T00:00:02.000000001Z", "verify ok"),
    ]
    assert cursor.since == "2026-01-01T00:00:02.000000001Z"
    # The API server resumes from the whole second, so earlier lines come again.
    resumed = [
        "2026-01-01T00:00:02Z older, same second",
        *first[1:],
        "2026-01-01T00:00:02.000000001Z same time, new line",
        "2026-01-01T00:00:02.1Z iteration 3",
    ]
    assert [cursor.accept(line) for line in resumed] == [
        None,
        None,
        None,
        ("2026-01-01T00:00:02.000000001Z", "same time, new line"),
        ("2026-01-01T00:00:02.1Z", "iteration 3"),
    ]


def test_fractions_compare_as_numbers() -> None:
    cursor = LogCursor()
    assert cursor.accept("2026-01-01T00:00:01.9Z a") is not None
    assert cursor.accept("2026-01-01T00:00:01.10Z b") is None  # .10 < .9
    assert cursor.accept("2026-01-01T00:00:01.95Z c") == ("2026-01-01T00:00:01.95Z", "c")
