"""Anthropic messages API with ``tool_use`` / ``tool_result`` content blocks."""

from __future__ import annotations

from typing import Any

from .base import HTTPProvider, ParsedReply, message_tool_calls
from .errors import ProviderResponseError
from .types import ToolCall, ToolSpec, Usage

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The content blocks of one neutral message."""
    role = message["role"]
    content = str(message.get("content") or "")
    if role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id", ""),
                "content": content,
            }
        ]
    # The API rejects empty or whitespace-only text blocks.
    blocks: list[dict[str, Any]] = [{"type": "text", "text": content}] if content.strip() else []
    if role == "assistant":
        blocks.extend(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
            for call in message_tool_calls(message)
        )
    return blocks


def wire_messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """System text and alternating user/assistant turns.

    System messages are joined into the top-level ``system`` field; tool results
    become ``user`` turns; consecutive turns of one role are merged.
    """
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] == "system":
            system.append(str(message.get("content") or ""))
            continue
        role = "assistant" if message["role"] == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(s for s in system if s), turns


class AnthropicProvider(HTTPProvider):
    """``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``."""

    def build_request(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        temperature: float | None,
        max_tokens: int | None,
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        s = self.settings
        system, turns = wire_messages(messages)
        payload: dict[str, Any] = {
            "model": s.model,
            "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
            "messages": turns,
        }
        if system:
            payload["system"] = system
        if tools:
            payload["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        if temperature is not None:
            payload["temperature"] = temperature
        if s.top_p is not None:
            payload["top_p"] = s.top_p
        headers = {"anthropic-version": API_VERSION}
        if s.api_key:
            headers["x-api-key"] = s.api_key.reveal()
        base = s.base_url.rstrip("/")
        url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
        return url, headers, payload

    def parse_response(self, data: dict[str, Any]) -> ParsedReply:
        content = data.get("content")
        if not isinstance(content, list):
            raise ProviderResponseError(
                f"{self.kind}: response has no content blocks", provider=self.kind
            )
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in content:
            if block.get("type") == "text":
                texts.append(str(block.get("text") or ""))
            elif block.get("type") == "tool_use":
                calls.append(
                    ToolCall(
                        id=str(block.get("id", "")),
                        name=str(block.get("name", "")),
                        arguments=dict(block.get("input") or {}),
                    )
                )
        raw = data.get("usage")
        usage = None
        if isinstance(raw, dict):
            usage = Usage(int(raw.get("input_tokens") or 0), int(raw.get("output_tokens") or 0))
            usage = usage if usage.total_tokens else None
        return ParsedReply(
            text="".join(texts),
            tool_calls=calls,
            usage=usage,
            stop_reason=data.get("stop_reason"),
            model=data.get("model"),
        )
