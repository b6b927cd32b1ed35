"""Children of an AgentDAG, as plain dicts: the program snapshot, the node service
account (it may patch only this DAG's result ConfigMaps), an optional shared workspace,
and per node a result ConfigMap plus a ``neam-dag-node`` Job, or a child ForgeRun for a
``run: true`` node."""

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
    metadata,
    pod_security_context,
    pvc,
    reporter_account,
    reporter_binding,
)
from neam_operator.models import API_VERSION, AgentDAGSpec, DagNode
from neam_operator.settings import Settings

PROGRAM_DIR = "/neam/program"
PROGRAM_KEY = "program.neamb"
RESULTS_DIR = "/neam/results"
WORKSPACE = "/workspace"
TERMINATION_LOG = "/dev/termination-log"
CONTAINER = "node"
COMPONENT = "dag-node"
NODE_LABEL = "neam.dev/dag-node"
RBAC = "rbac.authorization.k8s.io/v1"


@dataclass(frozen=True)
class DagNames:
    """Deterministic child names of one AgentDAG."""

    dag: str

    @property
    def program(self) -> str:
        return child_name(self.dag, "program")

    @property
    def service_account(self) -> str:
        return child_name(self.dag, "node")

    @property
    def workspace(self) -> str:
        return child_name(self.dag, "workspace")

    def job(self, node: str) -> str:
        return child_name(self.dag, f"node-{node}")

    def result(self, node: str) -> str:
        return child_name(self.dag, f"result-{node}")

    def forgerun(self, node: str) -> str:
        return child_name(self.dag, node)


def selector(owner: Owner) -> str:
    """Label selector of every child of this DAG."""
    return f"neam.dev/{owner.kind.lower()}={label_value(owner.name)}"


def program_configmap(owner: Owner, names: DagNames, neamb: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, names.program, "program"),
        "data": {PROGRAM_KEY: neamb},
        "immutable": True,
    }


def result_configmap(
    owner: Owner, names: DagNames, node: str, data: dict[str, str] | None = None
) -> dict[str, Any]:
    """Where a node's result goes (its pod patches it; the operator fills it for a run
    node) and where its dependents' pods read it from."""
    meta = metadata(owner, names.result(node), "result")
    meta["labels"][NODE_LABEL] = node
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}


def role(owner: Owner, names: DagNames, spec: AgentDAGSpec) -> dict[str, Any]:
    """Node pods may read and patch this DAG's result ConfigMaps, nothing else."""
    return {
        "apiVersion": RBAC,
        "kind": "Role",
        "metadata": metadata(owner, names.service_account, "reporter"),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": [names.result(n.id) for n in spec.nodes],
                "verbs": ["get", "patch"],
            }
        ],
    }


def workspace_pvc(
    owner: Owner, names: DagNames, spec: AgentDAGSpec, settings: Settings
) -> dict[str, Any] | None:
    ws = spec.workspace
    if ws is None or ws.existing_claim:
        return None
    return pvc(owner, names.workspace, ws.size or settings.workspace_size, ws.storage_class_name)


def shared_children(
    owner: Owner, names: DagNames, spec: AgentDAGSpec, neamb: str, settings: Settings
) -> list[dict[str, Any]]:
    """What every node needs, in creation order (a Role before its binding)."""
    out = [
        program_configmap(owner, names, neamb),
        reporter_account(owner, names.service_account),
        role(owner, names, spec),
        reporter_binding(owner, names.service_account),
    ]
    claim = workspace_pvc(owner, names, spec, settings)
    return [*out, claim] if claim is not None else out


def _resources(spec: AgentDAGSpec, settings: Settings) -> dict[str, Any]:
    if spec.resources is not None:
        return spec.resources.wire()
    return {
        "requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
        "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
    }


def _workspace_volume(names: DagNames, spec: AgentDAGSpec) -> dict[str, Any]:
    ws = spec.workspace
    if ws is None:
        return {"name": "workspace", "emptyDir": {}}
    claim = ws.existing_claim or names.workspace
    return {"name": "workspace", "persistentVolumeClaim": {"claimName": claim}}


def node_job(
    owner: Owner, names: DagNames, spec: AgentDAGSpec, node: DagNode, settings: Settings
) -> dict[str, Any]:
    """The Job running ``neam-dag-node`` for ``node``: its dependencies' results are
    mounted (one file per dependency), its own result is patched into its ConfigMap."""
    meta = metadata(owner, names.job(node.id), COMPONENT)
    meta["labels"][NODE_LABEL] = node.id
    deps = list(dict.fromkeys(node.depends_on or []))
    command = [
        "neam-dag-node",
        "--program",
        f"{PROGRAM_DIR}/{PROGRAM_KEY}",
        "--agent",
        node.agent,
        "--node",
        node.id,
        "--task",
        node.task or "",
    ]
    mounts = [
        {"name": "program", "mountPath": PROGRAM_DIR, "readOnly": True},
        {"name": "workspace", "mountPath": WORKSPACE},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [
        {
            "name": "program",
            "configMap": {
                "name": names.program,
                "items": [{"key": PROGRAM_KEY, "path": PROGRAM_KEY}],
            },
        },
        _workspace_volume(names, spec),
        {"name": "tmp", "emptyDir": {}},
    ]
    if deps:
        command += ["--depends-on", ",".join(deps), "--results-dir", RESULTS_DIR]
        mounts.append({"name": "results", "mountPath": RESULTS_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "results",
                "projected": {
                    "sources": [
                        {
                            "configMap": {
                                "name": names.result(dep),
                                "items": [{"key": "result", "path": dep}],
                            }
                        }
                        for dep in deps
                    ]
                },
            }
        )
    result_ref = f"{owner.namespace}/{names.result(node.id)}"
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image or settings.runtime_image,
        "imagePullPolicy": spec.image_pull_policy or settings.image_pull_policy,
        "command": command,
        "env": [
            {"name": "NEAM_RESULT_CONFIGMAP", "value": result_ref},
            {"name": "NEAM_TERMINATION_MESSAGE_PATH", "value": TERMINATION_LOG},
            {"name": "NEAM_WORKSPACE_DIR", "value": WORKSPACE},
            {"name": "HOME", "value": "/tmp"},
            *env_vars(spec.env),
        ],
        "resources": _resources(spec, settings),
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    if spec.secret_refs:
        container["envFrom"] = env_from(spec.secret_refs)
    backoff = spec.backoff_limit if spec.backoff_limit is not None else settings.backoff_limit
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": backoff,
            "suspend": bool(spec.stop),
            "podReplacementPolicy": "Failed",
            "template": {
                "metadata": {"labels": dict(meta["labels"])},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": names.service_account,
                    # The token lets the pod store its result (and nothing else).
                    "automountServiceAccountToken": True,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": settings.termination_grace_seconds,
                    "securityContext": pod_security_context(),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


# What a run node's ForgeRun takes over from the DAG's spec.
INHERITED = ("image", "imagePullPolicy", "resources", "env", "secretRefs", "backoffLimit")


def node_forgerun(
    owner: Owner, names: DagNames, spec: AgentDAGSpec, node: DagNode, task: str
) -> dict[str, Any]:
    """A ``run: true`` node: the forge agent's whole loop as a ForgeRun the DAG owns,
    with the node's task (and its dependencies' results) as the loop's task. It gets
    a workspace of its own (the DAG's size and class, never a shared claim)."""
    meta = metadata(owner, names.forgerun(node.id), COMPONENT)
    meta["labels"][NODE_LABEL] = node.id
    wired = spec.wire()
    run_spec: dict[str, Any] = {
        "source": wired["source"],
        "agent": node.agent,
        "task": task,
        **{k: wired[k] for k in INHERITED if k in wired},
    }
    if spec.workspace is not None and not spec.workspace.existing_claim:
        run_spec["workspace"] = spec.workspace.wire()
    return {"apiVersion": API_VERSION, "kind": "ForgeRun", "metadata": meta, "spec": run_spec}
