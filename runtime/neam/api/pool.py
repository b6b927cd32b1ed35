"""The worker pool: blocking runtime calls run here, never on the event loop.

``--workers`` threads execute calls; at most ``--pool-size`` of them hold a
runtime slot at once (the rest wait). Every call is bounded by ``--timeout``:
past it the request fails with 504 while the thread finishes its work in the
background (a claw turn that completes late is still recorded in its session).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from neam.api.errors import ApiError

T = TypeVar("T")


class WorkerPool:
    def __init__(self, *, workers: int, pool_size: int, timeout_seconds: float) -> None:
        self.workers = workers
        self.pool_size = pool_size
        self.timeout_seconds = timeout_seconds
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="neam-worker")
        self._slots = threading.BoundedSemaphore(pool_size)
        self._lock = threading.Lock()
        self._busy = 0
        self._queued = 0
        self._completed = 0
        self._timeouts = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Runs ``fn(*args)`` in the pool; raises ``ApiError(504)`` past the timeout."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._queued += 1
        future = loop.run_in_executor(self._executor, self._call, fn, args)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout_seconds)
        except TimeoutError:
            with self._lock:
                self._timeouts += 1
            raise ApiError(
                504,
                f"request timed out after {int(self.timeout_seconds * 1000)} ms",
                timeout_ms=int(self.timeout_seconds * 1000),
            ) from None

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._slots:
            with self._lock:
                self._queued -= 1
                self._busy += 1
            try:
                return fn(*args)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._completed += 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "workers": self.workers,
                "pool_size": self.pool_size,
                "busy": self._busy,
                "idle": self.pool_size - self._busy,
                "queued": self._queued,
                "completed": self._completed,
                "timeouts": self._timeouts,
            }

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
