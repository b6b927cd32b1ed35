"""What every provider shares: configuration, usage estimation and cost."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .credentials import APIKey
from .http import RequestPolicy, post_json, safe_url
from .pricing import ModelInfo, estimate_tokens
from .types import ChatResponse, ToolCall, ToolSpec, Usage


@dataclass(frozen=True)
class ProviderSettings:
    """Everything a provider needs, resolved from the agent config and the environment."""

    kind: str
    model: str
    agent: str
    base_url: str
    api_key: APIKey | None
    temperature: float | None
    top_p: float | None
    max_tokens: int | None
    model_info: ModelInfo
    context_window: int
    policy: RequestPolicy


class ParsedReply(NamedTuple):
    text: str
    tool_calls: list[ToolCall]
    usage: Usage | None
    stop_reason: str | None
    model: str | None


def message_tool_calls(message: dict[str, Any]) -> list[ToolCall]:
    """The tool calls of an assistant message, as ToolCall objects."""
    return [ToolCall.coerce(call) for call in message.get("tool_calls") or []]


def _message_chars(messages: Sequence[dict[str, Any]]) -> str:
    parts: list[str] = []
    for message in messages:
        parts.append(str(message.get("content") or ""))
        parts.extend(call.name + json.dumps(call.arguments) for call in message_tool_calls(message))
    return "".join(parts)


def estimate_usage(
    messages: Sequence[dict[str, Any]],
    tools: Sequence[ToolSpec],
    text: str,
    tool_calls: Sequence[ToolCall],
) -> Usage:
    """Token counts from text length, for providers that report no usage."""
    prompt = _message_chars(messages) + "".join(
        t.name + t.description + json.dumps(t.parameters) for t in tools
    )
    answer = text + "".join(c.name + json.dumps(c.arguments) for c in tool_calls)
    return Usage(estimate_tokens(prompt), estimate_tokens(answer), estimated=True)


class Provider(ABC):
    """An LLM provider bound to one agent's model and settings."""

    def __init__(self, settings: ProviderSettings):
        self.settings = settings

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def context_window(self) -> int:
        return self.settings.context_window

    def __repr__(self) -> str:
        s = self.settings
        key = s.api_key.env_var if s.api_key else None
        name = type(self).__name__
        return f"<{name} kind={s.kind} model={s.model} url={safe_url(s.base_url)} key_env={key}>"

    @abstractmethod
    def _reply(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        temperature: float | None,
        max_tokens: int | None,
    ) -> ParsedReply:
        """Gets one reply from the model."""

    def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec] | None = None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResponse:
        """Sends the conversation (and the tools on offer) and returns the model's reply."""
        tools = list(tools or [])
        s = self.settings
        reply = self._reply(
            messages,
            tools,
            s.temperature if temperature is None else temperature,
            s.max_tokens if max_tokens is None else max_tokens,
        )
        usage = reply.usage or estimate_usage(messages, tools, reply.text, reply.tool_calls)
        return ChatResponse(
            text=reply.text,
            tool_calls=reply.tool_calls,
            usage=usage,
            cost=s.model_info.cost(usage),
            model=reply.model or s.model,
            stop_reason=reply.stop_reason,
        )


class HTTPProvider(Provider):
    """A provider reached by one JSON POST per turn through the shared client."""

    @abstractmethod
    def build_request(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        temperature: float | None,
        max_tokens: int | None,
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, headers and JSON body of the request."""

    @abstractmethod
    def parse_response(self, data: dict[str, Any]) -> ParsedReply:
        """Text, tool calls and usage from the decoded response body."""

    def _reply(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        temperature: float | None,
        max_tokens: int | None,
    ) -> ParsedReply:
        url, headers, payload = self.build_request(messages, tools, temperature, max_tokens)
        data = post_json(
            url,
            payload,
            provider=self.kind,
            headers=headers,
            policy=self.settings.policy,
            keys=[self.settings.api_key],
        )
        return self.parse_response(data)
