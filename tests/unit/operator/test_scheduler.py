"""The in-memory timers of delayed reconciles."""

from __future__ import annotations

import asyncio

from neam_operator.scheduler import Scheduler


async def test_soon_keeps_an_earlier_timer_and_at_replaces_it() -> None:
    fired: list[tuple[str, str]] = []

    async def action(key: tuple[str, str]) -> None:
        fired.append(key)

    s = Scheduler(action)
    s.at(("a", "b"), 0.01)
    s.soon(("a", "b"), 100)
    await asyncio.sleep(0.05)
    assert fired == [("a", "b")]
    s.soon(("a", "b"), 100)
    s.soon(("a", "b"), 0.01)
    await asyncio.sleep(0.05)
    assert fired == [("a", "b"), ("a", "b")]
    s.at(("a", "b"), 100)
    s.cancel(("a", "b"))
    await asyncio.sleep(0.05)
    assert fired == [("a", "b"), ("a", "b")]


async def test_backoff_doubles_and_cancel_forgets_the_attempts() -> None:
    async def action(_: tuple[str, str]) -> None:
        return None

    s = Scheduler(action)
    key = ("ns", "run")
    loop = asyncio.get_running_loop()
    delays = []
    for _ in range(4):
        s.backoff(key)
        delays.append(round(s._handles[key].when() - loop.time()))
    assert delays == [1, 2, 4, 8]
    s.cancel(key)
    assert key not in s.attempts and key not in s._handles
