"""Pieces shared by the child-resource builders: names, labels, owner references,
hardened security contexts and env from spec (Secret references stay references)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from neam_operator.models import API_VERSION, EnvVar, SecretRef

MANAGED_BY = {"app.kubernetes.io/managed-by": "neam-operator"}
MAX_NAME = 63  # Job names end up in pod labels, which are limited to 63 characters.
RUN_AS = 10001


@dataclass(frozen=True)
class Owner:
    """The custom resource that owns a child."""

    kind: str
    name: str
    namespace: str
    uid: str

    @classmethod
    def of(cls, body: Any) -> Owner:
        meta = body["metadata"]
        return cls(body["kind"], meta["name"], meta["namespace"], meta["uid"])


def child_name(owner: str, suffix: str) -> str:
    """A deterministic DNS-label name ``<owner>-<suffix>``, shortened with a hash if needed."""
    name = f"{owner}-{suffix}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(owner.encode()).hexdigest()[:8]
    keep = MAX_NAME - len(suffix) - len(digest) - 2
    return f"{owner[:keep].rstrip('-.')}-{digest}-{suffix}"


def label_value(name: str) -> str:
    """A label-safe (≤ 63 characters) stand-in for a resource name: the name itself,
    or its start and a hash of all of it (names sharing a long prefix never collide)."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[: MAX_NAME - len(digest) - 1].rstrip('-.')}-{digest}"


def labels(owner: Owner, component: str) -> dict[str, str]:
    return {
        **MANAGED_BY,
        "app.kubernetes.io/name": "neam",
        "app.kubernetes.io/component": component,
        f"neam.dev/{owner.kind.lower()}": label_value(owner.name),
    }


def metadata(owner: Owner, name: str, component: str) -> dict[str, Any]:
    """Child metadata: name, namespace, labels and a controller owner reference."""
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": labels(owner, component),
        "ownerReferences": [
            {
                "apiVersion": API_VERSION,
                "kind": owner.kind,
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def env_vars(env: list[EnvVar] | None) -> list[dict[str, Any]]:
    """Spec env to container env; Secret values are referenced, never copied."""
    return [e.wire() for e in env or []]


def env_from(refs: list[SecretRef] | None) -> list[dict[str, Any]]:
    return [{"secretRef": {"name": r.name}} for r in refs or []]


def pvc(owner: Owner, name: str, size: str | int, storage_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": str(size)}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(owner, name, "workspace"),
        "spec": spec,
    }


def reporter_account(owner: Owner, name: str) -> dict[str, Any]:
    """The service account a child's pods use to report back (no token unless a pod
    asks for it)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(owner, name, "reporter"),
        "automountServiceAccountToken": False,
    }


def reporter_binding(owner: Owner, name: str) -> dict[str, Any]:
    """Binds the Role ``name`` to the service account ``name``."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(owner, name, "reporter"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": owner.namespace}],
    }
