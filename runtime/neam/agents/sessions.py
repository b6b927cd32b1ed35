"""Claw session storage: ``<sessions_dir>/<agent>/<key>.jsonl``, one line per record.

Records are ``{"type": "turn", "ts", "user", "assistant", "tools"}`` for a turn
and ``{"type": "summary", "ts", "summary", "turns_summarized"}`` written as the
first line by compaction. A normal turn appends one line; only compaction
rewrites the file (atomically, after archiving the old one) and reset moves it
to ``<agent>/archive/``.

A session is used by one turn at a time, across threads (an in-process lock) and
across processes (an exclusive ``flock`` on ``<agent>/.<key>.lock``): several
``neam-api`` replicas may share one sessions directory.

Loaded sessions keep a bounded in-memory tail of the last ``max_history_turns``
turns, so a turn never re-reads the whole file: a cold load reads the first line
(summary) and the tail, and counts lines on raw bytes. The cache is validated by
file size on every use, so a file changed behind our back is reloaded.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neam.agents import jsonl
from neam.agents.names import check_component

DEFAULT_MAX_HISTORY_TURNS = 50


@dataclass
class Session:
    """The loaded state of one session; only touched while its lock is held."""

    agent: str
    key: str
    path: Path
    tail: deque[dict[str, Any]]
    summary: str | None = None
    turn_count: int = 0
    last_ts: float | None = None
    size: int = 0

    def history(self) -> list[dict[str, Any]]:
        return list(self.tail)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing) while the block runs.
    The lock is a file of its own: compaction and reset replace the session file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class SessionStore:
    """Thread-safe store: one lock per session, an LRU cache of loaded sessions."""

    def __init__(self, root: Path, cache_size: int = 1024) -> None:
        self.root = Path(root)
        self._cache: OrderedDict[tuple[str, str], Session] = OrderedDict()
        self._cache_size = cache_size
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[tuple[str, str], Any] = (
            weakref.WeakValueDictionary()
        )

    def path(self, agent: str, key: str) -> Path:
        check_component(agent, "agent name")
        check_component(key, "session key")
        return self.root / agent / f"{key}.jsonl"

    def _lock_for(self, ident: tuple[str, str]) -> Any:
        with self._guard:
            lock = self._locks.get(ident)
            if lock is None:
                lock = threading.RLock()
                self._locks[ident] = lock
            return lock

    @contextmanager
    def open(self, agent: str, key: str, max_history_turns: int) -> Iterator[Session]:
        """Holds the session's locks (this process's, then the file lock shared with
        other processes) and yields its loaded state."""
        path = self.path(agent, key)
        ident = (agent, key)
        with self._lock_for(ident), _file_lock(path.parent / f".{key}.lock"):
            yield self._load(ident, path, max_history_turns)

    def _load(self, ident: tuple[str, str], path: Path, max_history: int) -> Session:
        size = path.stat().st_size if path.exists() else 0
        with self._guard:
            cached = self._cache.get(ident)
            if cached is not None:
                self._cache.move_to_end(ident)
        if cached is not None and cached.size == size and cached.tail.maxlen == max_history:
            return cached
        first = jsonl.read_first(path)
        summary = first.get("summary") if first and first.get("type") == "summary" else None
        turns = [r for r in jsonl.read_tail(path, max_history + 1) if r.get("type") == "turn"]
        session = Session(
            agent=ident[0],
            key=ident[1],
            path=path,
            tail=deque(turns[-max_history:] if max_history else [], maxlen=max_history),
            summary=summary,
            turn_count=jsonl.count_lines(path) - (1 if summary is not None else 0),
            last_ts=turns[-1].get("ts") if turns else None,
            size=size,
        )
        self._remember(ident, session)
        return session

    def _remember(self, ident: tuple[str, str], session: Session) -> None:
        with self._guard:
            self._cache[ident] = session
            self._cache.move_to_end(ident)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def append_turn(self, session: Session, record: dict[str, Any]) -> None:
        """Appends one turn (caller holds the session lock)."""
        record = {"type": "turn", "ts": time.time(), **record}
        jsonl.append(session.path, record)
        session.tail.append(record)
        session.turn_count += 1
        session.last_ts = record["ts"]
        session.size = session.path.stat().st_size

    def archive(self, session: Session) -> Path | None:
        """Moves the session file to ``<agent>/archive/`` and clears the state."""
        target = None
        if session.path.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            target = session.path.parent / "archive" / f"{session.key}.{stamp}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            session.path.replace(target)
        session.tail.clear()
        session.summary = None
        session.turn_count = 0
        session.last_ts = None
        session.size = 0
        return target

    def read_turns(self, session: Session) -> list[dict[str, Any]]:
        """Every turn on disk (used by compaction, never by a normal turn)."""
        return [r for r in jsonl.iter_records(session.path) if r.get("type") == "turn"]

    def rewrite(
        self,
        session: Session,
        summary: str,
        summarized: int,
        kept: list[dict],
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Compaction: archive the old file, write ``summary`` + ``kept`` turns atomically
        (``extra`` goes into the summary record)."""
        records = [
            {
                "type": "summary",
                "ts": time.time(),
                "summary": summary,
                "turns_summarized": summarized,
                **(extra or {}),
            },
            *kept,
        ]
        tmp_target = session.path.with_name(f".{session.key}.compact.jsonl")
        jsonl.write_atomic(tmp_target, records)
        self.archive(session)
        tmp_target.replace(session.path)
        session.summary = summary
        session.tail.extend(kept[-(session.tail.maxlen or 0) :] if session.tail.maxlen else [])
        session.turn_count = len(kept)
        session.last_ts = kept[-1].get("ts") if kept else None
        session.size = session.path.stat().st_size

    def keys(self, agent: str) -> list[str]:
        """Session keys of an agent that have a live (non-archived) file."""
        check_component(agent, "agent name")
        directory = self.root / agent
        if not directory.is_dir():
            return []
        return sorted(
            p.name[: -len(".jsonl")]
            for p in directory.glob("*.jsonl")
            if p.is_file() and not p.name.startswith(".")
        )

    def count(self, agent: str) -> int:
        return len(self.keys(agent))
