"""Offline provider: deterministic replies and tool calls read from a file.

The format and the selection rules are documented in ``docs/scripted-provider.md``.
In short: a rule (an entry with ``match``) answers whenever the latest message
contains its substring; otherwise each agent consumes the sequential entries
meant for it, in file order, with its own cursor; ``on_exhausted`` says what
happens after the last one (``repeat_last`` by default, ``cycle``, ``echo`` or
``error``). State is per file and agent name, shared by every provider in the
process and guarded by a lock, so concurrent sessions are well defined.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .base import ParsedReply, Provider, ProviderSettings
from .errors import ProviderConfigError, ProviderError
from .types import ToolCall, ToolSpec, Usage

EXHAUSTED_MODES = ("repeat_last", "cycle", "echo", "error")
MATCH_ROLES = ("user", "tool", "any")
_REPLY_FIELDS = {"text", "tool_calls", "usage", "agent", "match", "match_role", "delay_ms", "delay"}
MAX_DELAY_SECONDS = 600.0


@dataclass(frozen=True)
class ScriptedReply:
    """One entry of the file."""

    text: str = ""
    tool_calls: tuple[dict[str, Any], ...] = ()
    usage: Usage | None = None
    agent: str | None = None
    match: tuple[str, ...] = ()
    match_role: str = "user"
    delay: float = 0.0  # seconds the reply takes (a slow model, for demos and tests)

    def applies_to(self, agent: str) -> bool:
        return self.agent is None or self.agent == agent


@dataclass
class Script:
    """A parsed reply file and the per-agent cursors into its sequence."""

    replies: list[ScriptedReply]
    on_exhausted: str = "repeat_last"
    stamp: tuple[int, int] = (0, 0)
    cursors: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self, agent: str, messages: list[dict[str, Any]]) -> tuple[ScriptedReply, int]:
        """The reply for this turn and the agent's turn number (1-based)."""
        with self.lock:
            turn = self.calls.get(agent, 0) + 1
            self.calls[agent] = turn
            rule = self._matching_rule(agent, messages)
            if rule is not None:
                return rule, turn
            sequence = [r for r in self.replies if not r.match and r.applies_to(agent)]
            index = self.cursors.get(agent, 0)
            self.cursors[agent] = index + 1
            if index < len(sequence):
                return sequence[index], turn
            if not sequence or self.on_exhausted == "echo":
                return ScriptedReply(text=_last_content(messages, "user")), turn
            if self.on_exhausted == "cycle":
                return sequence[index % len(sequence)], turn
            if self.on_exhausted == "error":
                raise ProviderError(
                    f"scripted: the {len(sequence)} replies for agent {agent!r} are used up",
                    provider="scripted",
                )
            return sequence[-1], turn

    def _matching_rule(self, agent: str, messages: list[dict[str, Any]]) -> ScriptedReply | None:
        last = next((m for m in reversed(messages) if m.get("role") != "system"), None)
        if last is None:
            return None
        content = str(last.get("content") or "").lower()
        for reply in self.replies:
            if not reply.match or not reply.applies_to(agent):
                continue
            if reply.match_role != "any" and reply.match_role != last.get("role"):
                continue
            if any(needle.lower() in content for needle in reply.match):
                return reply
        return None


def _last_content(messages: list[dict[str, Any]], role: str) -> str:
    return next(
        (str(m.get("content") or "") for m in reversed(messages) if m.get("role") == role), ""
    )


def _parse_reply(raw: Any, where: str) -> ScriptedReply:
    if isinstance(raw, str):
        return ScriptedReply(text=raw)
    if not isinstance(raw, dict):
        raise ProviderConfigError(f"{where}: a reply must be an object or a string")
    unknown = set(raw) - _REPLY_FIELDS
    if unknown:
        raise ProviderConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    calls = raw.get("tool_calls") or []
    if not isinstance(calls, list) or not all(
        isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls
    ):
        raise ProviderConfigError(f"{where}: tool_calls must be a list of {{name, arguments}}")
    for call in calls:
        if not isinstance(call.get("arguments", {}), dict):
            raise ProviderConfigError(f"{where}: arguments of {call['name']!r} must be an object")
    usage = raw.get("usage")
    if usage is not None:
        if not isinstance(usage, dict):
            raise ProviderConfigError(f"{where}: usage must be {{input_tokens, output_tokens}}")
        usage = Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))
    match = raw.get("match") or ()
    match = (match,) if isinstance(match, str) else tuple(str(m) for m in match)
    role = raw.get("match_role", "user")
    if role not in MATCH_ROLES:
        raise ProviderConfigError(f"{where}: match_role must be one of {', '.join(MATCH_ROLES)}")
    return ScriptedReply(
        text=str(raw.get("text") or ""),
        tool_calls=tuple(calls),
        usage=usage,
        agent=raw.get("agent"),
        match=match,
        match_role=role,
        delay=_delay(raw, where),
    )


def _delay(raw: dict[str, Any], where: str) -> float:
    """``delay_ms`` (milliseconds) or ``delay`` (seconds, as in the test stub's replies)."""
    if "delay_ms" in raw and "delay" in raw:
        raise ProviderConfigError(f"{where}: give delay_ms or delay, not both")
    value, scale = (raw["delay_ms"], 1000.0) if "delay_ms" in raw else (raw.get("delay", 0), 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProviderConfigError(f"{where}: delay_ms / delay must be a number")
    seconds = value / scale
    if not 0 <= seconds <= MAX_DELAY_SECONDS:
        raise ProviderConfigError(
            f"{where}: a delay must be from 0 to {MAX_DELAY_SECONDS:g} seconds"
        )
    return seconds


def parse_script(doc: Any, where: str) -> Script:
    """Builds a Script from the decoded file (an object with ``replies`` or a bare list)."""
    if isinstance(doc, list):
        doc = {"replies": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("replies"), list):
        raise ProviderConfigError(f"{where}: expected an object with a 'replies' list")
    mode = doc.get("on_exhausted", "repeat_last")
    if mode not in EXHAUSTED_MODES:
        raise ProviderConfigError(
            f"{where}: on_exhausted must be one of {', '.join(EXHAUSTED_MODES)}"
        )
    replies = [_parse_reply(r, f"{where}: replies[{i}]") for i, r in enumerate(doc["replies"])]
    return Script(replies=replies, on_exhausted=mode)


_scripts: dict[str, Script] = {}
_scripts_lock = threading.Lock()


def load_script(path: str) -> Script:
    """The shared Script for ``path``; re-read (cursors reset) when the file changes."""
    resolved = str(Path(path).resolve())
    try:
        info = os.stat(resolved)
    except OSError as exc:
        raise ProviderConfigError(f"scripted: cannot read {path}: {exc.strerror}") from None
    stamp = (info.st_mtime_ns, info.st_size)
    with _scripts_lock:
        script = _scripts.get(resolved)
        if script is None or script.stamp != stamp:
            text = Path(resolved).read_text(encoding="utf-8")
            try:
                doc = json.loads(text) if resolved.endswith(".json") else yaml.safe_load(text)
            except (ValueError, yaml.YAMLError) as exc:
                raise ProviderConfigError(f"scripted: {path} is not valid: {exc}") from None
            script = parse_script(doc, path)
            script.stamp = stamp
            _scripts[resolved] = script
        return script


def reset_scripts() -> None:
    """Forgets every loaded file and cursor (tests, or to replay a demo)."""
    with _scripts_lock:
        _scripts.clear()


class ScriptedProvider(Provider):
    """Replies from ``scripted_file`` (config) or ``NEAM_SCRIPTED_FILE`` (env)."""

    def __init__(self, settings: ProviderSettings, script_path: str):
        super().__init__(settings)
        self.script_path = script_path
        load_script(script_path)  # fail early on a missing or invalid file

    def _reply(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        temperature: float | None,
        max_tokens: int | None,
    ) -> ParsedReply:
        agent = self.settings.agent
        reply, turn = load_script(self.script_path).next_reply(agent, messages)
        if reply.delay:
            time.sleep(reply.delay)  # outside the script's lock: other agents go on
        calls = [
            ToolCall(
                id=str(call.get("id") or f"call_{agent}_{turn}_{index}"),
                name=call["name"],
                arguments=dict(call.get("arguments") or {}),
            )
            for index, call in enumerate(reply.tool_calls)
        ]
        return ParsedReply(
            text=reply.text,
            tool_calls=calls,
            usage=reply.usage,
            stop_reason="tool_calls" if calls else "stop",
            model=self.settings.model,
        )
