"""The admin kill switch: disable one agent or every agent, and re-enable."""

from __future__ import annotations

from neam.api.errors import ApiError


class KillSwitch:
    def __init__(self) -> None:
        self.global_disabled = False
        self.global_reason: str | None = None
        self._disabled: dict[str, str | None] = {}

    def disable(self, agent: str | None, reason: str | None = None) -> None:
        """``agent=None`` disables every agent."""
        if agent is None:
            self.global_disabled, self.global_reason = True, reason
        else:
            self._disabled[agent] = reason

    def enable(self, agent: str | None) -> None:
        """``agent=None`` lifts the global switch and every per-agent one."""
        if agent is None:
            self.global_disabled, self.global_reason = False, None
            self._disabled.clear()
        else:
            self._disabled.pop(agent, None)

    def is_disabled(self, agent: str) -> bool:
        return self.global_disabled or agent in self._disabled

    def check(self, agent: str) -> None:
        """Raises 423 Locked when the agent may not act."""
        if self.global_disabled:
            raise ApiError(423, "all agents are disabled by an administrator", agent=agent)
        if agent in self._disabled:
            raise ApiError(423, f"agent '{agent}' is disabled by an administrator", agent=agent)

    def status(self) -> dict[str, object]:
        return {
            "global_disabled": self.global_disabled,
            "global_reason": self.global_reason,
            "disabled_agents": sorted(self._disabled),
            "reasons": {a: r for a, r in sorted(self._disabled.items()) if r},
        }
