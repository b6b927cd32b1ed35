"""Skills offered to the model as tools, and the bounded tool-calling loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from neam.agents.guards import GuardBlocked, GuardPipeline
from neam.lang import NeamRuntimeError
from neam.providers import ToolCall, ToolSpec

DEFAULT_MAX_TOOL_STEPS = 8

_JSON_TYPES = {
    "string": "string",
    "str": "string",
    "number": "number",
    "float": "number",
    "int": "integer",
    "integer": "integer",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "map": "object",
    "object": "object",
}


def tool_spec(skill: Any) -> ToolSpec:
    """A :class:`ToolSpec` (JSON schema parameters) for a ``SkillDecl``."""
    params: dict[str, str] = dict(skill.params or {})
    properties = {
        name: {"type": _JSON_TYPES.get(str(kind).lower(), "string")}
        for name, kind in params.items()
    }
    return ToolSpec(
        name=skill.name,
        description=skill.description or skill.name,
        parameters={"type": "object", "properties": properties, "required": list(params)},
    )


def result_text(value: Any) -> str:
    """A skill's return value as the text sent back to the model."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


Confirm = Callable[[str, str, dict[str, Any], str | None], bool]
"""``confirm(agent, skill, arguments, session_key) -> approved`` for sensitive skills."""


class SkillExecutor:
    """Runs the tool calls of one agent: guards, approval of sensitive skills (when a
    ``confirm`` hook is set), then the skill's Neam ``impl``."""

    def __init__(
        self,
        agent: str,
        skills: list[str],
        call_skill: Callable[[str, dict[str, Any]], Any],
        guards: GuardPipeline,
        *,
        sensitive: set[str] | None = None,
        confirm: Confirm | None = None,
    ) -> None:
        self._agent = agent
        self._skills = set(skills)
        self._call_skill = call_skill
        self._guards = guards
        self._sensitive = sensitive or set()
        self._confirm = confirm

    def __call__(self, call: ToolCall, session_key: str | None = None) -> str:
        if call.name not in self._skills:
            return f"error: unknown tool {call.name!r}"
        try:
            checked = self._guards.apply(
                "tool_input", {"name": call.name, "arguments": dict(call.arguments)}
            )
            arguments = checked.get("arguments", checked) if isinstance(checked, dict) else {}
            if (
                call.name in self._sensitive
                and self._confirm is not None
                and not self._confirm(self._agent, call.name, dict(arguments), session_key)
            ):
                return f"error: sensitive skill {call.name!r} was not approved"
            output = result_text(self._call_skill(call.name, dict(arguments)))
            return result_text(self._guards.apply("tool_output", output))
        except (GuardBlocked, NeamRuntimeError) as exc:
            return f"error: {exc}"


@dataclass
class ToolLoopResult:
    text: str
    cost: Decimal = Decimal(0)
    calls: list[dict[str, Any]] = field(default_factory=list)


def run_tool_loop(
    provider: Any,
    messages: list[dict[str, Any]],
    tools: list[ToolSpec],
    execute: Callable[[ToolCall], str],
    *,
    temperature: float | None = None,
    max_steps: int = DEFAULT_MAX_TOOL_STEPS,
    on_cost: Callable[[Decimal], None] | None = None,
) -> ToolLoopResult:
    """Calls the model until it answers without tool calls, or ``max_steps`` tool rounds.

    ``messages`` is extended in place with the assistant/tool exchange. ``on_cost``
    is told the cost of every call as soon as it is known.
    """
    result = ToolLoopResult(text="")
    for step in range(max_steps + 1):
        offered = tools if step < max_steps else []
        response = provider.chat(messages, tools=offered or None, temperature=temperature)
        result.cost += response.cost
        if on_cost is not None:
            on_cost(response.cost)
        result.text = response.text or ""
        if not response.tool_calls or not offered:
            break
        messages.append(
            {"role": "assistant", "content": result.text, "tool_calls": list(response.tool_calls)}
        )
        for call in response.tool_calls:
            output = execute(call)
            result.calls.append(
                {"name": call.name, "arguments": dict(call.arguments), "result": output[:2000]}
            )
            messages.append(
                {"role": "tool", "content": output, "tool_call_id": call.id, "name": call.name}
            )
    return result
