"""Values reported by forge runs: per-iteration progress and the final result."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

OUTCOMES = ("completed", "aborted", "cost_limit", "iteration_limit", "error")
RUNNING = "running"


@dataclass(frozen=True)
class ForgeProgress:
    """Sent after every iteration (``outcome`` is ``"running"``) and once at the end."""

    iteration: int
    max_iterations: int
    total_cost: Decimal
    current_task: str
    outcome: str
    message: str
    # A run on a Git repository: url, branch, baseCommit, headCommit (pushed), pushError.
    git: dict[str, str] | None = None


@dataclass(frozen=True)
class ForgeResult:
    outcome: str
    iterations: int
    total_cost: Decimal
    message: str
    git: dict[str, str] | None = None  # as in ForgeProgress
    # stopped by a shutdown before it ended (``outcome`` is "aborted"): resumable
    interrupted: bool = False

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "outcome": self.outcome,
            "iterations": self.iterations,
            "total_cost": float(self.total_cost),
            "message": self.message,
        }
        if self.git is not None:
            out["git"] = self.git
        return out
