"""Operator settings, read from the environment (``NEAM_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_IMAGE = "ghcr.io/neam-lang/neam:0.1.0"


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """Defaults for children and the operator process itself.

    Every field has an environment variable; see ``from_env``.
    """

    runtime_image: str = DEFAULT_IMAGE
    image_pull_policy: str = "IfNotPresent"
    cpu_request: str = "500m"
    memory_request: str = "512Mi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"
    workspace_size: str = "1Gi"
    sessions_size: str = "1Gi"
    backoff_limit: int = 1
    termination_grace_seconds: int = 300
    # How often the children of each unfinished run are checked (± 20 % jitter).
    resync_seconds: int = 300
    # A run whose pod has not started after this long fails with the pod's problem.
    pending_timeout_seconds: int = 900
    health_host: str = "127.0.0.1"
    health_port: int = 8081
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 8082
    namespaces: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        d = cls()
        namespaces = tuple(n for n in e.get("NEAM_OPERATOR_NAMESPACES", "").split(",") if n)
        return cls(
            runtime_image=e.get("NEAM_RUNTIME_IMAGE") or d.runtime_image,
            image_pull_policy=e.get("NEAM_RUNTIME_IMAGE_PULL_POLICY") or d.image_pull_policy,
            cpu_request=e.get("NEAM_RUNTIME_CPU_REQUEST") or d.cpu_request,
            memory_request=e.get("NEAM_RUNTIME_MEMORY_REQUEST") or d.memory_request,
            cpu_limit=e.get("NEAM_RUNTIME_CPU_LIMIT") or d.cpu_limit,
            memory_limit=e.get("NEAM_RUNTIME_MEMORY_LIMIT") or d.memory_limit,
            workspace_size=e.get("NEAM_WORKSPACE_SIZE") or d.workspace_size,
            sessions_size=e.get("NEAM_SESSIONS_SIZE") or d.sessions_size,
            backoff_limit=_int(e, "NEAM_BACKOFF_LIMIT", d.backoff_limit),
            termination_grace_seconds=_int(
                e, "NEAM_TERMINATION_GRACE_SECONDS", d.termination_grace_seconds
            ),
            resync_seconds=max(1, _int(e, "NEAM_RESYNC_SECONDS", d.resync_seconds)),
            pending_timeout_seconds=max(
                1, _int(e, "NEAM_PENDING_TIMEOUT_SECONDS", d.pending_timeout_seconds)
            ),
            health_host=e.get("NEAM_OPERATOR_HEALTH_HOST") or d.health_host,
            health_port=_int(e, "NEAM_OPERATOR_HEALTH_PORT", d.health_port),
            metrics_host=e.get("NEAM_OPERATOR_METRICS_HOST") or d.metrics_host,
            metrics_port=_int(e, "NEAM_OPERATOR_METRICS_PORT", d.metrics_port),
            namespaces=namespaces,
        )
