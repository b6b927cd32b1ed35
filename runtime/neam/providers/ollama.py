"""Ollama ``/api/chat`` (non-streaming) with tools."""

from __future__ import annotations

from typing import Any

from .base import HTTPProvider, ParsedReply, message_tool_calls
from .errors import ProviderResponseError
from .openai import tool_schema
from .types import ToolCall, ToolSpec, Usage


def _wire_message(message: dict[str, Any]) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message["role"], "content": str(message.get("content") or "")}
    if message["role"] == "tool" and message.get("name"):
        wire["tool_name"] = message["name"]
    calls = message_tool_calls(message) if message["role"] == "assistant" else []
    if calls:
        wire["tool_calls"] = [
            {"function": {"name": call.name, "arguments": call.arguments}} for call in calls
        ]
    return wire


def normalise_host(host: str) -> str:
    """``OLLAMA_HOST`` may be ``host:port`` or ``0.0.0.0``; returns a URL to connect to."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    scheme, rest = host.split("://", 1)
    if rest.startswith("0.0.0.0"):
        rest = "127.0.0.1" + rest[len("0.0.0.0") :]
    if ":" not in rest.split("/", 1)[0]:
        head, _, tail = rest.partition("/")
        rest = f"{head}:11434" + (f"/{tail}" if tail else "")
    return f"{scheme}://{rest}"


class OllamaProvider(HTTPProvider):
    """``POST {OLLAMA_HOST}/api/chat`` with ``stream: false``."""

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
            "stream": False,
        }
        if tools:
            payload["tools"] = [tool_schema(t) for t in tools]
        options: dict[str, Any] = {}
        if temperature is not None:
            options["temperature"] = temperature
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        if s.top_p is not None:
            options["top_p"] = s.top_p
        if options:
            payload["options"] = options
        headers = {"Authorization": f"Bearer {s.api_key.reveal()}"} if s.api_key else {}
        return f"{s.base_url.rstrip('/')}/api/chat", headers, payload

    def parse_response(self, data: dict[str, Any]) -> ParsedReply:
        message = data.get("message")
        if not isinstance(message, dict):
            raise ProviderResponseError(f"{self.kind}: response has no message", provider=self.kind)
        calls = []
        for index, raw in enumerate(message.get("tool_calls") or []):
            function = raw.get("function") or {}
            arguments = function.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise ProviderResponseError(
                    f"{self.kind}: arguments for tool {function.get('name')!r} are not an object",
                    provider=self.kind,
                )
            calls.append(
                ToolCall(
                    id=str(raw.get("id") or f"call_{index}"),
                    name=str(function.get("name", "")),
                    arguments=arguments,
                )
            )
        usage = None
        if "prompt_eval_count" in data or "eval_count" in data:
            usage = Usage(int(data.get("prompt_eval_count") or 0), int(data.get("eval_count") or 0))
        return ParsedReply(
            text=str(message.get("content") or ""),
            tool_calls=calls,
            usage=usage,
            stop_reason=data.get("done_reason"),
            model=data.get("model"),
        )
