"""The persisted state of a forge run, kept in ``<workspace>/.neam-forge/<agent>.json``.

It is rewritten atomically (temporary file, fsync, ``os.replace``) when an
iteration starts, after every LLM call (so cost already spent survives a
crash) and when the iteration ends, so a restarted run resumes with the same
iteration count, total cost and task, and limits hold across restarts.
``outcome`` stays ``running`` until the run ends: a run whose process died, or
that a server shutdown interrupted, still says ``running`` on disk.
``max_iterations`` and ``max_cost`` are the limits the run was last started with
(so it can be resumed with them).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from neam.agents.names import check_component
from neam.agents.results import RUNNING

STATE_DIR = ".neam-forge"


@dataclass
class ForgeState:
    iteration: int = 0
    total_cost: Decimal = Decimal(0)
    task_index: int = 0
    current_task: str = ""
    feedback: str = ""
    outcome: str = RUNNING
    message: str = ""
    max_iterations: int | None = None
    max_cost: str | None = None  # a decimal string, like total_cost

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["total_cost"] = str(self.total_cost)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ForgeState:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["total_cost"] = Decimal(str(known.get("total_cost", "0")))
        return cls(**known)


def state_path(workspace: Path, agent: str) -> Path:
    return workspace / STATE_DIR / f"{check_component(agent, 'agent name')}.json"


def load(workspace: Path, agent: str) -> ForgeState:
    """The saved state, or a fresh one. A corrupt file is an error, not a silent reset."""
    path = state_path(workspace, agent)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ForgeState()
    try:
        return ForgeState.from_json(json.loads(raw))
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValueError(f"forge state file {path} is corrupt: {exc}") from exc


def save(workspace: Path, agent: str, state: ForgeState) -> None:
    path = state_path(workspace, agent)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state.to_json(), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
