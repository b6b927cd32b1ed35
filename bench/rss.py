"""The peak resident memory of a process during a benchmark, sampled in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType


class PeakRss:
    """Samples ``rss_kib()`` every ``interval`` seconds while the ``with`` block runs;
    ``peak_kib`` is the largest sample (only as fine as the interval)."""

    def __init__(self, rss_kib: Callable[[], int], interval: float = 1.0) -> None:
        self._rss = rss_kib
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_kib = 0

    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()  # one last sample after the block ended
            try:
                self.peak_kib = max(self.peak_kib, self._rss())
            except (OSError, RuntimeError):  # the process ended: keep what was seen
                return
            if stopping:
                return
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
