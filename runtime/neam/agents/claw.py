"""Claw agent turns: sessions, history limits, idle and daily resets, guards, memory,
compaction."""

from __future__ import annotations

import functools
import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from neam.agents import compaction, summarizer
from neam.agents.guards import GuardBlocked, GuardPipeline
from neam.agents.memory import MemoryIndex
from neam.agents.sessions import DEFAULT_MAX_HISTORY_TURNS, Session, SessionStore
from neam.agents.tools import SkillExecutor, run_tool_loop
from neam.providers import ToolSpec

DEFAULT_MEMORY_RESULTS = 3
log = logging.getLogger("neam.claw")


COMPACTED, NOTHING_TO_COMPACT, DISABLED = "compacted", "nothing_to_compact", "disabled"


@dataclass(frozen=True)
class Compaction:
    """What compacting one session did."""

    session_key: str
    status: str  # COMPACTED, NOTHING_TO_COMPACT or DISABLED
    turns_before: int
    turns_after: int
    summary_length: int = 0
    summarizer: str | None = None  # "model", or "local" when the model call failed
    error: str | None = None  # why the model's summary was not used
    cost: Decimal = Decimal(0)


@dataclass(frozen=True)
class ClawTurn:
    """What one turn answered and did (the runtime's monitor records it)."""

    reply: str
    tool_calls: int
    cost: Decimal


@dataclass
class ClawSettings:
    """A claw agent's session-related settings, read from its config."""

    system: str
    max_history_turns: int
    idle_reset_minutes: float | None
    daily_reset_hour: int | None  # UTC
    compaction: str
    compaction_threshold: float
    search: str | None
    memory_results: int
    inject_memory: bool
    flush_memory: bool
    temperature: float | None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ClawSettings:
        session = config.get("session") or {}
        memory = config.get("semantic_memory") or {}
        idle = session.get("idle_reset_minutes")
        return cls(
            system=str(config.get("system") or ""),
            max_history_turns=int(session.get("max_history_turns") or DEFAULT_MAX_HISTORY_TURNS),
            idle_reset_minutes=float(idle) if idle else None,
            daily_reset_hour=session.get("daily_reset_hour"),
            compaction=str(session.get("compaction") or "manual"),
            compaction_threshold=float(
                session.get("compaction_threshold") or compaction.AUTO_THRESHOLD
            ),
            search=memory.get("search") if memory else None,
            memory_results=int(
                memory.get("top_k") or memory.get("limit") or DEFAULT_MEMORY_RESULTS
            ),
            inject_memory=memory.get("auto_inject", True) is not False,
            flush_memory=memory.get("flush_on_compaction", True) is not False,
            temperature=config.get("temperature"),
        )


def daily_reset_due(last_ts: float, now: float, hour: int) -> bool:
    """Whether ``hour``:00 UTC came after ``last_ts`` and no later than ``now``: the most
    recent such moment is today's when it has passed, else yesterday's."""
    current = datetime.fromtimestamp(now, UTC)
    boundary = current.replace(hour=hour, minute=0, second=0, microsecond=0)
    if boundary > current:
        boundary -= timedelta(days=1)
    return last_ts < boundary.timestamp()


class ClawAgent:
    """One claw agent; thread-safe (each session is serialised by the store's lock)."""

    def __init__(
        self,
        name: str,
        settings: ClawSettings,
        *,
        provider: Any,
        tools: list[ToolSpec],
        executor: SkillExecutor,
        guards: GuardPipeline,
        store: SessionStore,
        workspace: Path,
        memory: MemoryIndex,
    ) -> None:
        self.name = name
        self.settings = settings
        self.provider = provider
        self.tools = tools
        self.executor = executor
        self.guards = guards
        self.store = store
        self.workspace = workspace
        self.memory = memory

    def _open(self, key: str) -> AbstractContextManager[Session]:
        return self.store.open(self.name, key, self.settings.max_history_turns)

    def ask(self, key: str, message: str) -> ClawTurn:
        """One turn of session ``key``: the reply, and what the turn did."""
        with self._open(key) as session:
            self._reset_if_due(session)
            try:
                text = str(self.guards.apply("input", message))
            except GuardBlocked as exc:
                return self._record(session, message, f"[{exc}]", [], blocked=True)
            messages = self._messages(session, text)
            if self.settings.compaction == "auto" and compaction.needs_auto_compaction(
                messages, self.provider.context_window, self.settings.compaction_threshold
            ):
                self._compact(session)
                messages = self._messages(session, text)
            result = run_tool_loop(
                self.provider,
                messages,
                self.tools,
                functools.partial(self.executor, session_key=key),
                temperature=self.settings.temperature,
            )
            try:
                reply = str(self.guards.apply("output", result.text))
            except GuardBlocked as exc:
                return self._record(
                    session, text, f"[{exc}]", result.calls, blocked=True, cost=result.cost
                )
            return self._record(session, text, reply, result.calls, cost=result.cost)

    def _record(
        self,
        session: Session,
        user: str,
        reply: str,
        calls: list[dict[str, Any]],
        *,
        cost: Decimal | None = None,
        blocked: bool = False,
    ) -> ClawTurn:
        record: dict[str, Any] = {"user": user, "assistant": reply, "tools": calls}
        if blocked:
            record["blocked"] = True
        if cost is not None:
            record["cost"] = str(cost)
        self.store.append_turn(session, record)
        return ClawTurn(reply, len(calls), cost or Decimal(0))

    def _reset_if_due(self, session: Session) -> None:
        """Archives the session when it was idle for ``idle_reset_minutes``, or when
        ``daily_reset_hour`` (UTC) passed since its last turn."""
        last, now = session.last_ts, time.time()
        if last is None:
            return
        idle = self.settings.idle_reset_minutes
        hour = self.settings.daily_reset_hour
        if (idle and now - last > idle * 60) or (
            hour is not None and daily_reset_due(last, now, hour)
        ):
            self.store.archive(session)

    def _messages(self, session: Session, text: str) -> list[dict[str, Any]]:
        system = self.settings.system
        if self.settings.search and self.settings.inject_memory:
            hits = self.memory.search(text, self.settings.search, self.settings.memory_results)
            if hits:
                system += "\n\nRelevant memory:\n" + "\n".join(
                    f"[{hit['path']}] {hit['text']}" for hit in hits
                )
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        if session.summary:
            messages.append(
                {
                    "role": "system",
                    "content": "Summary of the earlier conversation:\n" + session.summary,
                }
            )
        for turn in session.history():
            if turn.get("blocked"):
                continue
            messages.append({"role": "user", "content": str(turn.get("user", ""))})
            messages.append({"role": "assistant", "content": str(turn.get("assistant", ""))})
        messages.append({"role": "user", "content": text})
        return messages

    def reset(self, key: str) -> None:
        with self._open(key) as session:
            self.store.archive(session)

    def compact(self, key: str) -> Compaction:
        with self._open(key) as session:
            return self._compact(session)

    def _compact(self, session: Session) -> Compaction:
        """Summarises the oldest two thirds of the turns with the model (the local
        summary when that fails), flushes durable facts to MEMORY.md and rewrites
        the session as the summary plus the kept turns."""
        turns = self.store.read_turns(session)
        before = len(turns)
        if self.settings.compaction == "disabled":
            return Compaction(session.key, DISABLED, before, before)
        count = compaction.summarised_count(before, self.settings.max_history_turns)
        if count == 0:
            return Compaction(session.key, NOTHING_TO_COMPACT, before, before)
        old, kept = turns[:count], turns[count:]
        try:
            made = summarizer.summarize(self.provider, session.summary, old)
            summary, facts, cost, by, error = made.summary, made.facts, made.cost, "model", None
        except summarizer.SummaryError as exc:
            log.warning(
                "claw %s, session %s: %s; using the local summary", self.name, session.key, exc
            )
            summary = compaction.summarize(session.summary, old)
            facts, cost, by, error = compaction.durable_facts(old), Decimal(0), "local", str(exc)
        if self.settings.flush_memory:
            compaction.flush_to_memory(self.workspace, session.key, facts, summary, by)
        record = {"summarizer": by, "cost": str(cost), **({"error": error} if error else {})}
        self.store.rewrite(session, summary, len(old), kept, record)
        return Compaction(session.key, COMPACTED, before, len(kept), len(summary), by, error, cost)

    def history(self, key: str) -> list[dict[str, Any]]:
        with self._open(key) as session:
            return session.history()
