"""What an AgentDAG should do next and what its status says, from what the cluster
shows of its nodes. Pure functions; the handler does the I/O.

Nodes start in dependency order (Kahn): a node is ready once every node it depends on
succeeded, and at most ``parallelism`` run at once (the ready ones in spec order). A
failed node fails the DAG: nothing new starts, the nodes not started are ``Skipped``,
running ones finish. A stop (``spec.stop``, or ``activeDeadlineSeconds`` passed) also
starts nothing, stops the running nodes and skips the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from neam_operator.conditions import TERMINAL
from neam_operator.models import DagNode

State = Literal["absent", "running", "succeeded", "failed", "stopped"]
NODE_PHASES: dict[str, str] = {
    "absent": "Pending",
    "running": "Running",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "stopped": "Stopped",
}
STATES: dict[str, State] = {"Succeeded": "succeeded", "Failed": "failed", "Stopped": "stopped"}
PREVIEW = 256


@dataclass(frozen=True)
class Observed:
    """One node as the cluster shows it (its Job or child ForgeRun, and its result)."""

    state: State = "absent"
    child: str | None = None
    outcome: str | None = None
    message: str | None = None
    cost: str | None = None
    result: str | None = None
    iteration: int | None = None


@dataclass
class Plan:
    start: list[str]  # nodes to start now
    stop_running: bool  # stop the nodes that run
    phase: str
    reason: str
    message: str
    nodes: list[dict[str, Any]] = field(default_factory=list)
    progress: str = "0/0"
    total_cost: str = "0"


def _decimal_text(d: Decimal) -> str:
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def plan(
    nodes: list[DagNode],
    observed: dict[str, Observed],
    parallelism: int,
    halt: str | None,
    previous: dict[str, dict[str, Any]],
    now: str,
) -> Plan:
    """``halt`` is why nothing may start any more (``Stopped`` or ``DeadlineExceeded``),
    or None; ``previous`` the node statuses written last time (for their times)."""
    state = {n.id: observed.get(n.id, Observed()).state for n in nodes}
    failed = [n.id for n in nodes if state[n.id] == "failed"]
    running = [n.id for n in nodes if state[n.id] == "running"]
    start: list[str] = []
    if not failed and halt is None:
        ready = [
            n.id
            for n in nodes
            if state[n.id] == "absent"
            and all(state[d] == "succeeded" for d in dict.fromkeys(n.depends_on or []))
        ]
        start = ready[: max(0, parallelism - len(running))]
    skipping = bool(failed) or halt is not None
    statuses = []
    total = Decimal(0)
    for n in nodes:
        o = observed.get(n.id, Observed())
        phase = NODE_PHASES[o.state]
        if n.id in start:
            phase = "Running"
        elif o.state == "absent" and skipping:
            phase = "Skipped"
        entry: dict[str, Any] = {"id": n.id, "phase": phase}
        for key, value in (
            ("child", o.child),
            ("outcome", o.outcome),
            ("message", (o.message or "")[:1024] or None),
            ("cost", o.cost),
            ("result", o.result[:PREVIEW] if o.result is not None else None),
            ("iteration", o.iteration),
        ):
            if value is not None:
                entry[key] = value
        before = previous.get(n.id) or {}
        if phase in ("Running", "Succeeded", "Failed", "Stopped"):
            entry["startTime"] = before.get("startTime") or now
        if phase in ("Succeeded", "Failed", "Stopped", "Skipped"):
            entry["completionTime"] = before.get("completionTime") or now
        statuses.append(entry)
        if o.cost:
            total += Decimal(o.cost)
    succeeded = sum(1 for n in nodes if state[n.id] == "succeeded")
    still_running = bool(running or start)
    skipped = [e["id"] for e in statuses if e["phase"] == "Skipped"]
    if failed:
        first = failed[0]
        why = (observed[first].message or "").strip()
        message = f"node {first} failed" + (f": {why}" if why else "")
        if skipped:
            message += f"; skipped {', '.join(skipped)}"
        if still_running:
            phase, reason = "Running", "NodeFailed"
            message += f"; waiting for {', '.join(running)} to finish"
        else:
            phase, reason = "Failed", "NodeFailed"
    elif halt is not None:
        reason = halt
        message = "stopped by spec.stop" if halt == "Stopped" else "activeDeadlineSeconds passed"
        if skipped:
            message += f"; skipped {', '.join(skipped)}"
        if running:
            phase = "Running"
            message += f"; stopping {', '.join(running)}"
        else:
            phase = "Stopped" if halt == "Stopped" else "Failed"
    elif succeeded == len(nodes):
        phase, reason, message = "Succeeded", "Succeeded", f"all {len(nodes)} nodes succeeded"
    elif still_running:
        active = [*running, *start]
        phase, reason, message = "Running", "Running", f"running {', '.join(active)}"
    else:
        phase, reason, message = "Pending", "Pending", "waiting for nodes to start"
    return Plan(
        start=start,
        stop_running=halt is not None and bool(running),
        phase=phase,
        reason=reason,
        message=message,
        nodes=statuses,
        progress=f"{succeeded}/{len(nodes)}",
        total_cost=_decimal_text(total),
    )


def transitions(
    old: dict[str, dict[str, Any]], new: list[dict[str, Any]]
) -> list[tuple[str, str, str]]:
    """``(type, reason, message)`` events for nodes whose phase changed."""
    out = []
    for entry in new:
        before = (old.get(entry["id"]) or {}).get("phase")
        phase = entry["phase"]
        if phase == before or phase == "Pending":
            continue
        detail = entry.get("message") or entry.get("child") or ""
        kind = "Warning" if phase == "Failed" else "Normal"
        text = f"node {entry['id']}: {phase.lower()}"
        if entry.get("cost"):
            text += f", cost {entry['cost']}"
        out.append((kind, f"Node{phase}", f"{text}: {detail}" if detail else text))
    return out


def ended(old: dict[str, dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The node entries of ``new`` that reached a final phase (Succeeded, Failed,
    Stopped) since ``old``, the node statuses written before, by id."""
    return [
        entry
        for entry in new
        if entry["phase"] in TERMINAL and (old.get(entry["id"]) or {}).get("phase") not in TERMINAL
    ]
