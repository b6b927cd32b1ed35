"""The audit log: who did what, one record per request.

A record holds the time, the caller (a fingerprint of the bearer key, never
the key), the client address, method, endpoint template, agent, session key,
status and latency. Message bodies, replies and headers are never recorded.
Probe and scrape endpoints are not audited (they would drown everything else).

Sinks (``--audit-sink``): ``stderr`` writes one readable line per request,
``json`` one JSON object per line on stdout (for log collectors), ``file`` one
JSON object per line appended to ``--audit-log``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

UNAUDITED_PATHS = frozenset({"/health", "/ready", "/startup", "/metrics"})


class AuditLog:
    def __init__(self, sink: str, path: Path | None = None) -> None:
        self.sink = sink
        self._owned: TextIO | None = None
        if sink == "file":
            if path is None:
                raise ValueError("the file audit sink needs a path")
            path.parent.mkdir(parents=True, exist_ok=True)
            self._owned = path.open("a", encoding="utf-8", buffering=1)

    def record(self, entry: dict[str, Any]) -> None:
        entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **entry}
        if self.sink == "stderr":
            fields = " ".join(f"{k}={v}" for k, v in entry.items() if v is not None and k != "ts")
            _write(sys.stderr, f"{entry['ts']} audit {fields}\n")
        elif self.sink == "json":
            _write(sys.stdout, json.dumps(entry, separators=(",", ":")) + "\n")
        elif self._owned is not None:
            _write(self._owned, json.dumps(entry, separators=(",", ":")) + "\n")

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None


def _write(stream: TextIO, line: str) -> None:
    stream.write(line)
    stream.flush()
