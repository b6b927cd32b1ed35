"""Children of a ForgeRun, as plain dicts: program ConfigMap, workspace PVC,
reporter ServiceAccount + Role + RoleBinding, and the ``neam-forge`` Job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neam_operator.builders.common import (
    Owner,
    child_name,
    container_security_context,
    env_from,
    env_vars,
    metadata,
    pod_security_context,
    pvc,
    reporter_account,
    reporter_binding,
)
from neam_operator.models import GROUP, VERSION, ForgeRunSpec
from neam_operator.settings import Settings

PROGRAM_DIR = "/neam/program"
PROGRAM_KEY = "program.neamb"
TASK_KEY = "task"
WORKSPACE = "/workspace"
TERMINATION_LOG = "/dev/termination-log"
CONTAINER = "forge"
PROGRAM_HASH_ANNOTATION = "neam.dev/program-hash"
# On the Job's pods: the run's whole name; its label (RUN_LABEL, on every child) is the
# name shortened to 63 characters.
RUN_ANNOTATION = RUN_LABEL = "neam.dev/forgerun"
GIT_CREDENTIALS = "/var/run/secrets/neam/git"
RBAC = "rbac.authorization.k8s.io/v1"
# Kinds of the children, in the order ``children`` returns them.
CHILD_KINDS = (
    "ConfigMap",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "PersistentVolumeClaim",
    "Job",
)


@dataclass(frozen=True)
class ForgeRunNames:
    """Deterministic child names of one run (a restarted operator computes the same)."""

    program: str
    workspace: str
    job: str
    service_account: str

    @classmethod
    def of(cls, run: str, spec: ForgeRunSpec) -> ForgeRunNames:
        ws = spec.workspace
        existing = ws.existing_claim if ws else None
        return cls(
            program=child_name(run, "program"),
            workspace=existing or child_name(run, "workspace"),
            job=child_name(run, "forge"),
            service_account=child_name(run, "reporter"),
        )

    def status(self) -> dict[str, str]:
        return {
            "program": self.program,
            "workspace": self.workspace,
            "job": self.job,
            "serviceAccount": self.service_account,
        }


def report_resource(owner: Owner) -> str:
    """The value of NEAM_REPORT_RESOURCE: the run's API path below ``/apis/``."""
    return f"{GROUP}/{VERSION}/namespaces/{owner.namespace}/forgeruns/{owner.name}"


def program_configmap(
    owner: Owner, names: ForgeRunNames, neamb: str, program_hash: str, task: str | None
) -> dict[str, Any]:
    """The compiled program snapshot (and ``spec.task``, too long for a command line);
    later edits of the source do not reach this run."""
    meta = metadata(owner, names.program, "program")
    meta["annotations"] = {PROGRAM_HASH_ANNOTATION: program_hash}
    data = {PROGRAM_KEY: neamb}
    if task is not None:
        data[TASK_KEY] = task
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": data,
        "immutable": True,
    }


def workspace_pvc(
    owner: Owner, names: ForgeRunNames, spec: ForgeRunSpec, settings: Settings
) -> dict[str, Any] | None:
    """The workspace claim, or None when the spec names an existing claim."""
    ws = spec.workspace
    if ws and ws.existing_claim:
        return None
    size = (ws.size if ws else None) or settings.workspace_size
    return pvc(owner, names.workspace, size, ws.storage_class_name if ws else None)


def service_account(owner: Owner, names: ForgeRunNames) -> dict[str, Any]:
    return reporter_account(owner, names.service_account)


def role(owner: Owner, names: ForgeRunNames) -> dict[str, Any]:
    """Allows only reading and patching the status of this one run."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(owner, names.service_account, "reporter"),
        "rules": [
            {
                "apiGroups": [GROUP],
                "resources": ["forgeruns/status"],
                "resourceNames": [owner.name],
                "verbs": ["get", "patch"],
            }
        ],
    }


def role_binding(owner: Owner, names: ForgeRunNames) -> dict[str, Any]:
    return reporter_binding(owner, names.service_account)


def push_branch(run: str, spec: ForgeRunSpec) -> str | None:
    """The branch a run on a repository pushes to (``neam/<run>`` unless given)."""
    if spec.git is None:
        return None
    return spec.git.push_branch or f"neam/{run}"


def git_flags(run: str, spec: ForgeRunSpec) -> list[str]:
    """neam-forge's Git flags: the URL and names only; credentials stay in files."""
    git = spec.git
    if git is None:
        return []
    flags = ["--git-url", git.url, "--push-branch", push_branch(run, spec) or ""]
    if git.revision:
        flags += ["--git-revision", git.revision]
    if git.author:
        flags += ["--git-author", f"{git.author.name} <{git.author.email}>"]
    if git.secret_ref:
        flags += ["--git-credentials", GIT_CREDENTIALS]
    return flags


def forge_command(run: str, agent: str, spec: ForgeRunSpec) -> list[str]:
    cmd = [
        "neam-forge",
        "--agent",
        f"{PROGRAM_DIR}/{PROGRAM_KEY}",
        "--name",
        agent,
        "--workspace",
        WORKSPACE,
        # Progress lines on stderr: what `kubectl logs` shows (stdout has the outcome).
        "--verbose",
    ]
    if spec.max_iterations is not None:
        cmd += ["--max-iterations", str(spec.max_iterations)]
    if spec.max_cost is not None:
        cmd += ["--max-cost", spec.max_cost]
    if spec.task is not None:
        cmd += ["--task-file", f"{PROGRAM_DIR}/{TASK_KEY}"]
    return cmd + git_flags(run, spec)


def _resources(spec: ForgeRunSpec, settings: Settings) -> dict[str, Any]:
    """``spec.resources`` as given, or the operator's defaults when it is unset."""
    if spec.resources is not None:
        return spec.resources.wire()
    return {
        "requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
        "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
    }


def job(
    owner: Owner, names: ForgeRunNames, agent: str, spec: ForgeRunSpec, settings: Settings
) -> dict[str, Any]:
    """The Job running ``neam-forge`` under the run's reporter service account."""
    meta = metadata(owner, names.job, "forge")
    env = [
        {"name": "NEAM_REPORT_RESOURCE", "value": report_resource(owner)},
        {"name": "NEAM_TERMINATION_MESSAGE_PATH", "value": TERMINATION_LOG},
        {"name": "HOME", "value": "/tmp"},
        *env_vars(spec.env),
    ]
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image or settings.runtime_image,
        "imagePullPolicy": spec.image_pull_policy or settings.image_pull_policy,
        "command": forge_command(owner.name, agent, spec),
        "env": env,
        "resources": _resources(spec, settings),
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "program", "mountPath": PROGRAM_DIR, "readOnly": True},
            {"name": "workspace", "mountPath": WORKSPACE},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if spec.secret_refs:
        container["envFrom"] = env_from(spec.secret_refs)
    git_volumes = []
    if spec.git is not None and spec.git.secret_ref is not None:
        # Files readable by the pod's group only; never env, never a command line.
        git_volumes.append(
            {
                "name": "git-credentials",
                "secret": {"secretName": spec.git.secret_ref.name, "defaultMode": 0o440},
            }
        )
        container["volumeMounts"].append(
            {"name": "git-credentials", "mountPath": GIT_CREDENTIALS, "readOnly": True}
        )
    program_items = [{"key": PROGRAM_KEY, "path": PROGRAM_KEY}]
    if spec.task is not None:
        program_items.append({"key": TASK_KEY, "path": TASK_KEY})
    job_spec: dict[str, Any] = {
        "backoffLimit": (
            spec.backoff_limit if spec.backoff_limit is not None else settings.backoff_limit
        ),
        "suspend": bool(spec.stop),
        # A replacement pod (after a deleted or failed one) starts only once the old
        # one has terminated: two pods never work in the same workspace at once.
        "podReplacementPolicy": "Failed",
        "template": {
            "metadata": {
                "labels": dict(meta["labels"]),
                "annotations": {RUN_ANNOTATION: owner.name},
            },
            "spec": {
                "restartPolicy": "Never",
                "serviceAccountName": names.service_account,
                # The reporter needs the token; the account may only patch this run's status.
                "automountServiceAccountToken": True,
                "enableServiceLinks": False,
                "terminationGracePeriodSeconds": settings.termination_grace_seconds,
                "securityContext": pod_security_context(),
                "containers": [container],
                "volumes": [
                    {
                        "name": "program",
                        "configMap": {"name": names.program, "items": program_items},
                    },
                    {
                        "name": "workspace",
                        "persistentVolumeClaim": {"claimName": names.workspace},
                    },
                    {"name": "tmp", "emptyDir": {}},
                    *git_volumes,
                ],
            },
        },
    }
    if spec.active_deadline_seconds is not None:
        job_spec["activeDeadlineSeconds"] = spec.active_deadline_seconds
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": job_spec}


def children(
    owner: Owner,
    spec: ForgeRunSpec,
    agent: str,
    neamb: str,
    program_hash: str,
    settings: Settings,
) -> list[dict[str, Any]]:
    """Every child in creation order (the Job last, once its dependencies exist)."""
    names = ForgeRunNames.of(owner.name, spec)
    out = [
        program_configmap(owner, names, neamb, program_hash, spec.task),
        service_account(owner, names),
        role(owner, names),
        role_binding(owner, names),
    ]
    claim = workspace_pvc(owner, names, spec, settings)
    if claim is not None:
        out.append(claim)
    out.append(job(owner, names, agent, spec, settings))
    return out
