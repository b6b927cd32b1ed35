"""Children of a ClawAgent, as plain dicts: the content-named program ConfigMap, the
sessions PVC, the Service and the ``neam-api`` Deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neam_operator.builders.common import (
    Owner,
    child_name,
    container_security_context,
    env_from,
    env_vars,
    label_value,
    labels,
    metadata,
    pod_security_context,
    pvc,
)
from neam_operator.models import ClawAgentSpec
from neam_operator.settings import Settings

PROGRAM_DIR = "/neam/program"
PROGRAM_KEY = "program.neamb"
DATA_DIR = "/var/lib/neam"
CONTAINER = "neam-api"
COMPONENT = "claw"
PROGRAM_HASH = "neam.dev/program-hash"
HASH_CHARS = 10
# How much sooner than the pod's grace period neam-api stops draining.
DRAIN_MARGIN_SECONDS = 2
REVISION_HISTORY = 3


@dataclass(frozen=True)
class ClawNames:
    """Deterministic child names of one ClawAgent."""

    deployment: str
    service: str
    sessions: str

    @classmethod
    def of(cls, claw: str, spec: ClawAgentSpec) -> ClawNames:
        existing = spec.sessions.existing_claim if spec.sessions else None
        return cls(
            deployment=child_name(claw, "api"),
            service=child_name(claw, "api"),
            sessions=existing or child_name(claw, "sessions"),
        )

    @staticmethod
    def program(claw: str, program_hash: str) -> str:
        """A new program is a new ConfigMap, so changing it rolls the Deployment."""
        return child_name(claw, f"program-{program_hash[:HASH_CHARS]}")


def selector(owner: Owner) -> dict[str, str]:
    """The Deployment's (immutable) pod selector, also ``status.selector``."""
    return {
        "app.kubernetes.io/component": COMPONENT,
        f"neam.dev/{owner.kind.lower()}": label_value(owner.name),
    }


def selector_string(owner: Owner) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector(owner).items()))


def endpoint(owner: Owner, names: ClawNames, spec: ClawAgentSpec) -> str:
    return f"http://{names.service}.{owner.namespace}.svc:{spec.port}"


def program_configmap(owner: Owner, neamb: str, program_hash: str) -> dict[str, Any]:
    meta = metadata(owner, ClawNames.program(owner.name, program_hash), "program")
    meta["annotations"] = {PROGRAM_HASH: program_hash}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {PROGRAM_KEY: neamb},
        "immutable": True,
    }


def sessions_pvc(
    owner: Owner, names: ClawNames, spec: ClawAgentSpec, settings: Settings
) -> dict[str, Any] | None:
    """The sessions claim, or None when the spec names an existing claim."""
    s = spec.sessions
    if s and s.existing_claim:
        return None
    claim = pvc(
        owner,
        names.sessions,
        (s.size if s else None) or settings.sessions_size,
        s.storage_class_name if s else None,
    )
    claim["metadata"]["labels"]["app.kubernetes.io/component"] = "sessions"
    claim["spec"]["accessModes"] = [(s.access_mode if s else None) or "ReadWriteOnce"]
    return claim


def service(owner: Owner, names: ClawNames, spec: ClawAgentSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, names.service, COMPONENT),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(owner),
            "ports": [{"name": "http", "port": spec.port, "targetPort": "http"}],
        },
    }


def api_command(spec: ClawAgentSpec) -> list[str]:
    drain = max(1, spec.termination_grace_period_seconds - DRAIN_MARGIN_SECONDS)
    cmd = [
        "neam-api",
        "--program",
        f"{PROGRAM_DIR}/{PROGRAM_KEY}",
        "--port",
        str(spec.port),
        "--drain-seconds",
        str(drain),
    ]
    if spec.agents:
        cmd += ["--claw-agents", ",".join(spec.agents)]
    return cmd


def _auth_env(spec: ClawAgentSpec) -> list[dict[str, Any]]:
    auth = spec.auth
    refs = (
        ("NEAM_API_KEY", auth.api_key_secret_ref if auth else None),
        ("NEAM_ADMIN_KEY", auth.admin_key_secret_ref if auth else None),
    )
    return [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
        for name, ref in refs
        if ref is not None
    ]


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _resources(spec: ClawAgentSpec, settings: Settings) -> dict[str, Any]:
    if spec.resources is not None:
        return spec.resources.wire()
    return {
        "requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
        "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
    }


def deployment(
    owner: Owner,
    names: ClawNames,
    spec: ClawAgentSpec,
    program_hash: str,
    settings: Settings,
) -> dict[str, Any]:
    """``neam-api`` serving the program snapshot ``program_hash``, rolled one pod at a
    time (a new pod must be ready before an old one stops)."""
    meta = metadata(owner, names.deployment, COMPONENT)
    pod_labels = {**labels(owner, COMPONENT), **selector(owner)}
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image or settings.runtime_image,
        "imagePullPolicy": spec.image_pull_policy or settings.image_pull_policy,
        "command": api_command(spec),
        "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
        "env": [
            {"name": "NEAM_SESSIONS_DIR", "value": f"{DATA_DIR}/sessions"},
            {"name": "NEAM_WORKSPACE_DIR", "value": f"{DATA_DIR}/workspace"},
            {"name": "HOME", "value": "/tmp"},
            *_auth_env(spec),
            *env_vars(spec.env),
        ],
        "resources": _resources(spec, settings),
        "startupProbe": _probe("/startup", 2, 60),
        "readinessProbe": _probe("/ready", 5, 3),
        "livenessProbe": _probe("/health", 10, 3),
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "program", "mountPath": PROGRAM_DIR, "readOnly": True},
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if spec.secret_refs:
        container["envFrom"] = env_from(spec.secret_refs)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector(owner)},
            "revisionHistoryLimit": REVISION_HISTORY,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {PROGRAM_HASH: program_hash},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": spec.termination_grace_period_seconds,
                    "securityContext": pod_security_context(),
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "program",
                            "configMap": {
                                "name": ClawNames.program(owner.name, program_hash),
                                "items": [{"key": PROGRAM_KEY, "path": PROGRAM_KEY}],
                            },
                        },
                        {
                            "name": "data",
                            "persistentVolumeClaim": {"claimName": names.sessions},
                        },
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }
