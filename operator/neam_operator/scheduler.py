"""Delayed reconciles in memory: retries with backoff, expiry timers, periodic checks.

No state is kept on the resources (no kopf timers, which would add finalizers): a
restarted operator rebuilds what it needs from the resources themselves.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable

Key = tuple[str, str]  # (namespace, name)


class Scheduler:
    """At most one pending delayed reconcile per run (retries, TTL expiry, resync)."""

    def __init__(self, action: Callable[[Key], Awaitable[None]]) -> None:
        self._action = action
        self._handles: dict[Key, asyncio.TimerHandle] = {}
        self._fired: set[asyncio.Task[None]] = set()  # referenced until done
        self.attempts: dict[Key, int] = {}

    @property
    def waiting(self) -> int:
        """Timers armed and not yet due."""
        return len(self._handles)

    @property
    def due(self) -> int:
        """Delayed reconciles whose time came and that have not finished."""
        return len(self._fired)

    def at(self, key: Key, delay: float) -> None:
        self.cancel(key, keep_attempts=True)
        loop = asyncio.get_running_loop()
        # A timer keeps the context it was armed in, and a watch handler's context holds
        # kopf's cause of the event, with the whole body: armed there, every waiting run
        # would keep an old body of some object in memory until its timer fires.
        self._handles[key] = loop.call_later(
            max(delay, 0.0), self._fire, key, context=contextvars.Context()
        )

    def soon(self, key: Key, delay: float) -> None:
        """Like ``at``, unless a reconcile of ``key`` is already due no later than that."""
        handle = self._handles.get(key)
        if handle is not None and handle.when() <= asyncio.get_running_loop().time() + delay:
            return
        self.at(key, delay)

    def backoff(self, key: Key) -> None:
        n = self.attempts.get(key, 0)
        self.attempts[key] = n + 1
        self.at(key, min(60.0, 2.0**n))

    def cancel(self, key: Key, keep_attempts: bool = False) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()
        if not keep_attempts:
            self.attempts.pop(key, None)

    def _fire(self, key: Key) -> None:
        self._handles.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._action(key))
        self._fired.add(task)
        task.add_done_callback(self._fired.discard)
