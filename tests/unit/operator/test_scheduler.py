"""The in-memory timers of delayed reconciles."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref

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


async def test_a_waiting_timer_keeps_nothing_of_the_context_it_was_armed_in() -> None:
    """kopf runs a handler in a context that holds the event's cause and body; a timer
    armed there must not keep that body alive while the run waits."""
    fired: list[object] = []

    async def action(_: tuple[str, str]) -> None:
        fired.append(event.get(None))

    class Body(dict):  # a dict that can be weakly referenced, like the cause
        pass

    event: contextvars.ContextVar[Body] = contextvars.ContextVar("event")
    s = Scheduler(action)

    def handler() -> weakref.ref[Body]:
        body = Body(kind="ForgeRun")
        event.set(body)
        s.at(("ns", "run"), 0.05)
        return weakref.ref(body)

    seen = contextvars.copy_context().run(handler)  # the handler's context is then gone
    gc.collect()
    assert seen() is None
    await asyncio.sleep(0.1)
    assert fired == [None]
