"""Provider-neutral values exchanged between the agent runtime and LLM providers.

Messages are plain dicts so they can be written to session files as they are::

    {"role": "system" | "user" | "assistant" | "tool",
     "content": str,
     "tool_calls": [ToolCall, ...],   # assistant turns that called tools
     "tool_call_id": str,             # tool turns: the call being answered
     "name": str}                     # tool turns: the tool's name

``tool_calls`` entries may be :class:`ToolCall` objects or dicts with the same
fields (``id``, ``name``, ``arguments``), as they come back from JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model; ``parameters`` is a JSON schema object."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ToolCall:
    """One tool invocation requested by the model."""

    id: str
    name: str
    arguments: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": dict(self.arguments)}

    @classmethod
    def coerce(cls, value: ToolCall | dict[str, Any]) -> ToolCall:
        """Accepts a ToolCall or its dict form (as stored in session files)."""
        if isinstance(value, ToolCall):
            return value
        return cls(
            id=str(value.get("id", "")),
            name=str(value["name"]),
            arguments=dict(value.get("arguments") or {}),
        )


@dataclass(frozen=True)
class Usage:
    """Token counts of one call; ``estimated`` is True when the provider reported none."""

    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ChatResponse:
    """The model's reply: text, requested tool calls, token usage and its cost in USD."""

    text: str
    tool_calls: list[ToolCall]
    usage: Usage
    cost: Decimal
    model: str
    stop_reason: str | None = None
