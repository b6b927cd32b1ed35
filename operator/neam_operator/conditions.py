"""Status conditions: the Kubernetes convention plus kstatus (Ready/Reconciling/Stalled).

Bounded runs also carry ``Succeeded`` (Unknown while running), so
``kubectl wait --for=condition=Succeeded`` works; Flux health checks read kstatus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})
# The status a new object reads with before the operator reports on it (the CRDs'
# default, see crdgen): kstatus sees generation 1 != -1, i.e. not current yet.
UNOBSERVED: dict[str, Any] = {"observedGeneration": -1}


@dataclass(frozen=True)
class Cond:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str = ""


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(
    old: list[dict[str, Any]] | None, new: list[Cond], now: str, generation: int | None
) -> list[dict[str, Any]]:
    """Replace conditions by type, keeping lastTransitionTime when the status is unchanged."""
    previous = {c.get("type"): c for c in old or []}
    out = {t: c for t, c in previous.items() if t is not None}
    for c in new:
        prior = previous.get(c.type)
        since = (
            prior.get("lastTransitionTime") if prior and prior.get("status") == c.status else None
        )
        out[c.type] = {
            "type": c.type,
            "status": c.status,
            "reason": c.reason,
            "message": c.message[:4096],
            "lastTransitionTime": since or now,
            **({"observedGeneration": generation} if generation is not None else {}),
        }
    return list(out.values())


def lifecycle(phase: str, reason: str, message: str = "") -> list[Cond]:
    """Succeeded + kstatus conditions for a bounded run in ``phase``."""
    if phase == "Succeeded":
        return [
            Cond("Succeeded", "True", reason, message),
            Cond("Ready", "True", reason, message),
            Cond("Reconciling", "False", reason),
            Cond("Stalled", "False", reason),
        ]
    if phase == "Stopped":
        # Stopped on request: final, but no failure (Flux reads Stalled as one).
        return [
            Cond("Succeeded", "False", reason, message),
            Cond("Ready", "False", reason, message),
            Cond("Reconciling", "False", reason),
            Cond("Stalled", "False", reason),
        ]
    if phase in TERMINAL:
        return [
            Cond("Succeeded", "False", reason, message),
            Cond("Ready", "False", reason, message),
            Cond("Reconciling", "False", reason),
            Cond("Stalled", "True", reason, message),
        ]
    return [
        Cond("Succeeded", "Unknown", reason, message),
        Cond("Ready", "False", reason, message),
        Cond("Reconciling", "True", reason, message),
        Cond("Stalled", "False", reason),
    ]


def find(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type_), None)
