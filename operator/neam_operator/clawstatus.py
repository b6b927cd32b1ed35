"""ClawAgent status from what the cluster shows: the compile result, the Deployment's
rollout and the sessions claim. Pure functions; the handler does the I/O.

Phases: ``Pending`` (no pod ready yet), ``Ready`` (as many pods ready as desired),
``Degraded`` (serving, but fewer pods than desired, or the latest program does not
compile and the previous one is still served), ``Failed`` (nothing served: the
program never compiled, or the rollout exceeded its deadline with no pod ready).
Conditions: ``Compiled``, ``Progressing``, ``Authenticated``, ``SessionsShared`` and
the kstatus trio ``Ready``/``Reconciling``/``Stalled`` that Flux and Argo CD read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neam_operator.conditions import Cond, merge

MESSAGE_LIMIT = 1024
SHARED_ACCESS_MODES = frozenset({"ReadWriteMany"})


@dataclass(frozen=True)
class Rollout:
    """The Deployment's progress toward the desired replicas on the desired program."""

    desired: int
    ready: int
    updated: int
    total: int
    available: int
    observed: bool
    deadline_exceeded: bool
    deadline_message: str

    @classmethod
    def of(cls, deployment: dict[str, Any]) -> Rollout:
        spec = deployment.get("spec") or {}
        status = deployment.get("status") or {}
        meta = deployment.get("metadata") or {}
        progressing = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {}
        )
        return cls(
            desired=int(spec.get("replicas", 1)),
            ready=int(status.get("readyReplicas") or 0),
            updated=int(status.get("updatedReplicas") or 0),
            total=int(status.get("replicas") or 0),
            available=int(status.get("availableReplicas") or 0),
            observed=int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0),
            deadline_exceeded=progressing.get("reason") == "ProgressDeadlineExceeded",
            deadline_message=progressing.get("message") or "",
        )

    @property
    def complete(self) -> bool:
        """Every pod runs the current template and is available (``rollout status``)."""
        return (
            self.observed
            and self.updated == self.desired
            and self.total == self.desired
            and self.available >= self.desired
        )


def served_hash(deployment: dict[str, Any] | None, annotation: str) -> str | None:
    """The program hash the Deployment's pod template serves."""
    template = ((deployment or {}).get("spec") or {}).get("template") or {}
    return ((template.get("metadata") or {}).get("annotations") or {}).get(annotation)


def auth_condition(api_key: bool) -> Cond:
    if api_key:
        return Cond("Authenticated", "True", "APIKey", "NEAM_API_KEY comes from a Secret")
    return Cond(
        "Authenticated",
        "False",
        "Unauthenticated",
        "no spec.auth.apiKeySecretRef: anyone who reaches the Service can use the agents",
    )


def sessions_condition(replicas: int, access_modes: list[str] | None) -> Cond:
    modes = access_modes or []
    if replicas <= 1:
        return Cond("SessionsShared", "True", "SingleReplica", "one replica uses the sessions")
    if SHARED_ACCESS_MODES & set(modes):
        return Cond("SessionsShared", "True", "ReadWriteMany", "every replica can mount them")
    return Cond(
        "SessionsShared",
        "False",
        "ReadWriteOnceClaim",
        f"{replicas} replicas share a {'/'.join(modes) or 'ReadWriteOnce'} sessions claim: "
        "replicas on other nodes cannot mount it; use ReadWriteMany storage "
        "(spec.sessions.accessMode or an existing claim)",
    )


def _rollout_conditions(r: Rollout, program_hash: str) -> list[Cond]:
    if r.deadline_exceeded:
        message = r.deadline_message or "the rollout exceeded its progress deadline"
        return [
            Cond("Progressing", "False", "ProgressDeadlineExceeded", message),
            Cond("Ready", "False", "ProgressDeadlineExceeded", message),
            Cond("Reconciling", "False", "ProgressDeadlineExceeded"),
            Cond("Stalled", "True", "ProgressDeadlineExceeded", message),
        ]
    if r.complete:
        message = f"{r.ready}/{r.desired} pods ready on program {program_hash}"
        return [
            Cond("Progressing", "False", "RolloutComplete", message),
            Cond("Ready", "True", "Ready", message),
            Cond("Reconciling", "False", "Ready"),
            Cond("Stalled", "False", "Ready"),
        ]
    message = f"{r.updated}/{r.desired} pods on program {program_hash}, {r.ready} ready"
    return [
        Cond("Progressing", "True", "RollingOut", message),
        Cond("Ready", "False", "RollingOut", message),
        Cond("Reconciling", "True", "RollingOut", message),
        Cond("Stalled", "False", "RollingOut"),
    ]


def _phase(r: Rollout) -> str:
    if r.ready >= r.desired and (r.ready > 0 or r.complete):
        return "Ready"
    if r.ready > 0:
        return "Degraded"
    return "Failed" if r.deadline_exceeded else "Pending"


def _counts(r: Rollout) -> dict[str, Any]:
    return {"replicas": r.total, "readyReplicas": r.ready, "ready": f"{r.ready}/{r.desired}"}


def observe(
    status: dict[str, Any],
    generation: int | None,
    deployment: dict[str, Any],
    program_hash: str,
    agents: list[str],
    identity: dict[str, str],
    extra: list[Cond],
    now: str,
) -> dict[str, Any]:
    """The status patch of a ClawAgent whose program compiled and was applied.
    ``identity`` holds ``selector`` and ``endpoint``; ``extra`` the auth and
    sessions conditions."""
    r = Rollout.of(deployment)
    phase = _phase(r)
    conds = [
        Cond("Compiled", "True", "Compiled", f"program {program_hash}: {', '.join(agents)}"),
        *_rollout_conditions(r, program_hash),
        *extra,
    ]
    message = next(c.message for c in conds if c.type == "Ready")
    return {
        "observedGeneration": generation,
        "phase": phase,
        **_counts(r),
        **identity,
        "agents": agents,
        "programHash": program_hash,
        "message": message[:MESSAGE_LIMIT],
        "conditions": merge(status.get("conditions"), conds, now, generation),
    }


def compile_failed(
    status: dict[str, Any],
    generation: int | None,
    reason: str,
    message: str,
    deployment: dict[str, Any] | None,
    served: str | None,
    now: str,
) -> dict[str, Any]:
    """The program does not compile (or names no such claw agent). Nothing changes in
    the cluster: a Deployment that exists keeps serving program ``served``."""
    if deployment is None or served is None:
        summary = message
        phase = "Failed"
        counts: dict[str, Any] = {}
    else:
        summary = f"{message}\nstill serving program {served}"
        counts = _counts(Rollout.of(deployment))
        phase = "Degraded"
    conds = [
        Cond("Compiled", "False", reason, summary),
        Cond("Ready", "False", reason, summary),
        Cond("Reconciling", "False", reason),
        Cond("Stalled", "True", reason, summary),
    ]
    return {
        "observedGeneration": generation,
        "phase": phase,
        **counts,
        "message": summary[:MESSAGE_LIMIT],
        "conditions": merge(status.get("conditions"), conds, now, generation),
    }


def waiting(
    status: dict[str, Any], generation: int | None, reason: str, message: str, now: str
) -> dict[str, Any]:
    """The source is not there yet (a missing ConfigMap or key): retried, and picked up
    as soon as the ConfigMap appears."""
    conds = [
        Cond("Compiled", "Unknown", reason, message),
        Cond("Ready", "False", reason, message),
        Cond("Reconciling", "True", reason, message),
        Cond("Stalled", "False", reason),
    ]
    return {
        "observedGeneration": generation,
        "phase": status.get("phase") or "Pending",
        "message": message[:MESSAGE_LIMIT],
        "conditions": merge(status.get("conditions"), conds, now, generation),
    }


def rejected(
    status: dict[str, Any], generation: int | None, reason: str, message: str, now: str
) -> dict[str, Any]:
    """The API server refused a child built from the spec (``InvalidSpec``, e.g.
    requests above a limit; ``ChildConflict``, a name taken): a spec error, not a
    transient one; what runs keeps running."""
    conds = [
        Cond("Ready", "False", reason, message),
        Cond("Reconciling", "False", reason),
        Cond("Stalled", "True", reason, message),
    ]
    return {
        "observedGeneration": generation,
        "phase": status.get("phase") or "Failed",
        "message": message[:MESSAGE_LIMIT],
        "conditions": merge(status.get("conditions"), conds, now, generation),
    }
