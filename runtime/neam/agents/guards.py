"""Guards on the four points of an agent turn.

=============  ===========================================  =======================
stage          handlers called (in this order, if defined)  value passed
=============  ===========================================  =======================
input          ``on_observation``                           the user message (str)
tool_input     ``on_tool_input``, ``on_tool_call``,         ``{"name", "arguments"}``
               ``on_action``
tool_output    ``on_tool_output``                           the tool result (str)
output         ``on_result``                                the reply (str)
=============  ===========================================  =======================

A handler's return value decides: ``nil`` or ``true`` keeps the value, ``false``
blocks, a map with a ``block`` key blocks with that reason, anything else
replaces the value. A handler that fails (a Neam runtime error, its time limit)
blocks too: a guard that cannot decide never lets a value through.
Guardchains are expanded by ``Program.resolve_guards``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neam.lang import NeamRuntimeError

STAGE_HANDLERS: dict[str, tuple[str, ...]] = {
    "input": ("on_observation",),
    "tool_input": ("on_tool_input", "on_tool_call", "on_action"),
    "tool_output": ("on_tool_output",),
    "output": ("on_result",),
}


class GuardBlocked(Exception):
    """A guard refused a value."""

    def __init__(self, guard: str, stage: str, reason: str) -> None:
        super().__init__(f"blocked by guard {guard} ({stage}): {reason}")
        self.guard = guard
        self.stage = stage
        self.reason = reason


class GuardPipeline:
    """Applies an agent's guards: ``guards`` pairs each guard name with its handler
    names; ``call(guard, handler, value)`` runs one handler (``Interpreter.call_guard``)."""

    def __init__(
        self,
        guards: list[tuple[str, set[str]]],
        call: Callable[[str, str, Any], Any],
    ) -> None:
        self._guards = guards
        self._call = call

    def apply(self, stage: str, value: Any) -> Any:
        for guard, handlers in self._guards:
            for handler in STAGE_HANDLERS[stage]:
                if handler in handlers:
                    try:
                        verdict = self._call(guard, handler, value)
                    except NeamRuntimeError as exc:
                        raise GuardBlocked(guard, stage, f"the guard failed: {exc}") from None
                    value = self._decide(guard, stage, value, verdict)
        return value

    @staticmethod
    def _decide(guard: str, stage: str, value: Any, verdict: Any) -> Any:
        if verdict is None or verdict is True:
            return value
        if verdict is False:
            return _raise(guard, stage, "refused")
        if isinstance(verdict, dict) and "block" in verdict:
            return _raise(guard, stage, str(verdict["block"]))
        return verdict


def _raise(guard: str, stage: str, reason: str) -> Any:
    raise GuardBlocked(guard, stage, reason)
