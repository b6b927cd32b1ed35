"""OpenAI chat completions, also spoken by vLLM, LiteLLM, LocalAI and others."""

from __future__ import annotations

import json
from typing import Any

from .base import HTTPProvider, ParsedReply, message_tool_calls
from .errors import ProviderResponseError
from .pricing import canonical_model
from .types import ToolCall, ToolSpec, Usage


def tool_schema(tool: ToolSpec) -> dict[str, Any]:
    """A tool in the ``{"type": "function", "function": {...}}`` form."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def _wire_message(message: dict[str, Any]) -> dict[str, Any]:
    role = message["role"]
    content = message.get("content")
    if role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.get("tool_call_id", ""),
            "content": str(content or ""),
        }
    calls = message_tool_calls(message) if role == "assistant" else []
    if calls:
        return {
            "role": "assistant",
            "content": content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in calls
            ],
        }
    return {"role": role, "content": str(content or "")}


def _arguments(raw: Any, tool: str, provider: str) -> dict[str, Any]:
    """Tool arguments arrive as a JSON string (some compatible servers send an object)."""
    if isinstance(raw, dict):
        return raw
    if raw in (None, ""):
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        raise ProviderResponseError(
            f"{provider}: the model sent malformed JSON arguments for tool {tool!r}",
            provider=provider,
        ) from None
    if not isinstance(value, dict):
        raise ProviderResponseError(
            f"{provider}: arguments for tool {tool!r} are not a JSON object", provider=provider
        )
    return value


def _max_tokens_field(kind: str, model: str) -> str:
    """OpenAI's reasoning models take ``max_completion_tokens`` instead of ``max_tokens``."""
    reasoning = canonical_model(model).startswith(("o1", "o3", "o4", "gpt-5"))
    return "max_completion_tokens" if kind == "openai" and reasoning else "max_tokens"


class OpenAIProvider(HTTPProvider):
    """``POST {base_url}/chat/completions`` with ``Authorization: Bearer``."""

    def build_request(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        temperature: float | None,
        max_tokens: int | None,
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        s = self.settings
        payload: dict[str, Any] = {
            "model": s.model,
            "messages": [_wire_message(m) for m in messages],
        }
        if tools:
            payload["tools"] = [tool_schema(t) for t in tools]
        if temperature is not None:
            payload["temperature"] = temperature
        if s.top_p is not None:
            payload["top_p"] = s.top_p
        if max_tokens is not None:
            payload[_max_tokens_field(s.kind, s.model)] = max_tokens
        headers = {"Authorization": f"Bearer {s.api_key.reveal()}"} if s.api_key else {}
        return f"{s.base_url.rstrip('/')}/chat/completions", headers, payload

    def parse_response(self, data: dict[str, Any]) -> ParsedReply:
        choices = data.get("choices")
        if not choices or not isinstance(choices[0], dict):
            raise ProviderResponseError(f"{self.kind}: response has no choices", provider=self.kind)
        message = choices[0].get("message") or {}
        calls = []
        for index, raw in enumerate(message.get("tool_calls") or []):
            function = raw.get("function") or {}
            name = str(function.get("name", ""))
            calls.append(
                ToolCall(
                    id=str(raw.get("id") or f"call_{index}"),
                    name=name,
                    arguments=_arguments(function.get("arguments"), name, self.kind),
                )
            )
        return ParsedReply(
            text=str(message.get("content") or ""),
            tool_calls=calls,
            usage=_usage(data.get("usage")),
            stop_reason=choices[0].get("finish_reason"),
            model=data.get("model"),
        )


def _usage(raw: Any) -> Usage | None:
    """Reported usage; absent or all-zero usage counts as not reported."""
    if not isinstance(raw, dict):
        return None
    usage = Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))
    return usage if usage.total_tokens else None
