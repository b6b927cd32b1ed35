"""Pydantic models of the neam.dev/v1alpha1 resources.

These models are the single source of the CRD schemas: ``crdgen`` turns them into
structural OpenAPI v3 schemas (see ``neam_operator.crdgen``), and the operator parses
spec and status with them. Bounds (``max_length``, ``ge``/``le``) become schema bounds;
``cel(...)`` attaches ``x-kubernetes-validations`` rules.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

GROUP = "neam.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DECIMAL = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,12})?$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
CONFIGMAP_KEY = r"^[-._a-zA-Z0-9]+$"
QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?"
    r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)

Phase = Literal["Pending", "Running", "Succeeded", "Failed", "Stopped"]
NodePhase = Literal["Pending", "Running", "Succeeded", "Failed", "Stopped", "Skipped"]
# A ForgeRun's task (an AgentDAG composes a node's task with its dependencies' results).
TASK_LIMIT = 262144
Outcome = Literal["running", "completed", "aborted", "cost_limit", "iteration_limit", "error"]


def cel(*rules: tuple[str, str]) -> dict[str, Any]:
    """JSON-schema extra holding CEL rules as ``(rule, message)`` pairs."""
    return {"x-kubernetes-validations": [{"rule": r, "message": m} for r, m in rules]}


def _immutable(field: str) -> tuple[str, str]:
    """A transition rule keeping an optional spec field unchanged once the run exists."""
    rule = (
        f"has(self.{field}) == has(oldSelf.{field}) && "
        f"(!has(self.{field}) || self.{field} == oldSelf.{field})"
    )
    return rule, f"{field} is immutable once the run has been created"


# Kubernetes quantities are int-or-string; the schema must say so explicitly.
Quantity = Annotated[
    str | int,
    WithJsonSchema(
        {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
    ),
]
DecimalStr = Annotated[str, Field(max_length=32, pattern=DECIMAL)]
Name = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]
Short = Annotated[str, Field(max_length=256)]


class Model(BaseModel):
    """Base: camelCase aliases on the wire, snake_case in Python, unknown keys ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        """The Kubernetes (camelCase) form, without unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# ---------------------------------------------------------------- shared spec parts


class ConfigMapSource(Model):
    name: Name
    key: str = Field("main.neam", max_length=253, pattern=CONFIGMAP_KEY)


class Source(Model):
    """Where the Neam program comes from: a ConfigMap key or inline text."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "has(self.configMapRef) != has(self.inline)",
                "exactly one of source.configMapRef and source.inline must be set",
            )
        )
    )
    config_map_ref: ConfigMapSource | None = None
    inline: str | None = Field(None, max_length=131072)


class SecretKeySelector(Model):
    name: Name
    key: str = Field(max_length=253, pattern=CONFIGMAP_KEY)
    optional: bool | None = None


class EnvVarSource(Model):
    secret_key_ref: SecretKeySelector


class EnvVar(Model):
    """A container env var: a literal value or a Secret reference (valueFrom)."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            ("has(self.value) != has(self.valueFrom)", "set exactly one of value and valueFrom")
        )
    )
    name: str = Field(max_length=128, pattern=ENV_NAME)
    value: str | None = Field(None, max_length=4096)
    value_from: EnvVarSource | None = None


class SecretRef(Model):
    """A Secret whose keys all become env vars of the runtime container (envFrom)."""

    name: Name


class Resources(Model):
    requests: dict[str, Quantity] | None = Field(None, max_length=8)
    limits: dict[str, Quantity] | None = Field(None, max_length=8)


class Storage(Model):
    """A PVC the operator creates (size, storageClassName), or an existing claim."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "!has(self.existingClaim) || (!has(self.size) && !has(self.storageClassName))",
                "existingClaim excludes size and storageClassName",
            )
        )
    )
    size: Quantity | None = None
    storage_class_name: Name | None = None
    existing_claim: Name | None = None


class Condition(Model):
    type: str = Field(max_length=64)
    status: Literal["True", "False", "Unknown"]
    reason: str = Field("", max_length=128)
    message: str = Field("", max_length=4096)
    last_transition_time: str | None = None
    observed_generation: int | None = None


Conditions = Annotated[list[Condition], Field(max_length=16)]


# ---------------------------------------------------------------- ForgeRun


class GitAuthor(Model):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[^<>\n]+$")
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^<>\s@]+@[^<>\s@]+$")


class GitSpec(Model):
    """Work on a clone of a repository and push the result as a branch."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "self.url.matches('^(https?|ssh|git)://[^\\\\s]+$') || "
                "self.url.matches('^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\\\\s]+$')",
                "url must be an https://, http://, ssh:// or git:// URL, or user@host:path",
            ),
            (
                "!self.url.matches('^(?i)(https?|git)://[^/@]*@') && "
                "!self.url.matches('^(?i)ssh://[^/@:]*:[^/@]*@')",
                "url must not hold credentials: put them in the Secret of secretRef",
            ),
        )
    )
    url: str = Field(max_length=2048)
    revision: str | None = Field(
        None, max_length=256, description="branch, tag or commit (default: the remote's HEAD)"
    )
    push_branch: str | None = Field(
        None,
        max_length=200,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$",
        description="the branch the result is pushed to (default: neam/<run name>)",
    )
    secret_ref: SecretRef | None = Field(
        None,
        description="a Secret with username and password (a token) for HTTPS, or "
        "ssh-privatekey and known_hosts for SSH; mounted as files",
    )
    author: GitAuthor | None = None


class ForgeRunSpec(Model):
    """A bounded build-verify loop of one forge agent, run once in a Job."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "!has(self.maxIterations) || self.maxIterations > 0",
                "maxIterations must be greater than 0",
            ),
            ("self.source == oldSelf.source", "source is immutable once the run has been created"),
            _immutable("agent"),
            _immutable("maxIterations"),
            _immutable("maxCost"),
            _immutable("task"),
            _immutable("git"),
            _immutable("workspace"),
            _immutable("image"),
            _immutable("env"),
            _immutable("secretRefs"),
            (
                "!has(oldSelf.stop) || !oldSelf.stop || (has(self.stop) && self.stop)",
                "a stopped run cannot be resumed",
            ),
        )
    )
    source: Source
    agent: str | None = Field(None, max_length=128, description="forge agent; default: the first")
    max_iterations: int | None = Field(None, le=100000)
    max_cost: DecimalStr | None = Field(None, description="cost limit in USD, a decimal string")
    task: str | None = Field(
        None,
        max_length=TASK_LIMIT,
        description="the loop's task when the workspace has no plan file "
        "(default: the goal in the agent's system prompt)",
    )
    git: GitSpec | None = None
    workspace: Storage | None = None
    image: str | None = Field(None, max_length=512)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    resources: Resources | None = None
    env: list[EnvVar] | None = Field(None, max_length=64)
    secret_refs: list[SecretRef] | None = Field(None, max_length=16)
    active_deadline_seconds: int | None = Field(None, ge=1)
    backoff_limit: int | None = Field(None, ge=0, le=100)
    ttl_seconds_after_finished: int | None = Field(
        None, ge=0, description="delete the ForgeRun (and its children) this long after it ends"
    )
    stop: bool | None = Field(None, description="true suspends the Job; the run ends Stopped")


class GitStatus(Model):
    url: str | None = Field(None, max_length=2048, description="without credentials")
    branch: str | None = Field(None, max_length=256)
    base_commit: str | None = Field(None, max_length=64)
    head_commit: str | None = Field(None, max_length=64, description="the last pushed commit")
    push_error: str | None = Field(None, max_length=1024)


class ForgeProgressStatus(Model):
    """What the in-pod reporter writes into status.progress."""

    iteration: int | None = Field(None, ge=0)
    max_iterations: int | None = Field(None, ge=0)
    total_cost: DecimalStr | None = None
    current_task: Short | None = None
    outcome: Outcome | None = None
    message: str | None = Field(None, max_length=4096)
    update_time: str | None = None
    git: GitStatus | None = None


class ForgeRunChildren(Model):
    program: str | None = Field(None, max_length=253, description="ConfigMap with program.neamb")
    workspace: str | None = Field(None, max_length=253, description="PersistentVolumeClaim")
    job: str | None = Field(None, max_length=253)
    service_account: str | None = Field(None, max_length=253)


class ForgeRunStatus(Model):
    observed_generation: int | None = None
    phase: Phase | None = None
    agent: str | None = Field(None, max_length=128)
    iteration: int | None = None
    max_iterations: int | None = None
    total_cost: DecimalStr | None = None
    outcome: Outcome | None = None
    message: str | None = Field(None, max_length=4096)
    current_task: Short | None = None
    start_time: str | None = None
    completion_time: str | None = None
    program_hash: str | None = Field(None, max_length=128)
    children: ForgeRunChildren | None = None
    git: GitStatus | None = None
    progress: ForgeProgressStatus | None = None
    conditions: Conditions | None = None


# ---------------------------------------------------------------- ClawAgent


class KeySecretRef(Model):
    """One key of a Secret (the value never leaves the Secret: it reaches pods as env)."""

    name: Name
    key: str = Field(max_length=253, pattern=CONFIGMAP_KEY)


class ClawAuth(Model):
    """Keys of the served ``neam-api``: ``NEAM_API_KEY`` (agent endpoints) and
    ``NEAM_ADMIN_KEY`` (admin endpoints), each from a Secret. Without an API key the
    endpoint is unauthenticated, which the status reports."""

    api_key_secret_ref: KeySecretRef | None = None
    admin_key_secret_ref: KeySecretRef | None = None


AccessMode = Literal["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"]


class SessionsStorage(Model):
    """The sessions claim: one the operator creates (size, storageClassName,
    accessMode), or an existing claim. More than one replica needs a claim every
    replica can mount (ReadWriteMany)."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "!has(self.existingClaim) || "
                "(!has(self.size) && !has(self.storageClassName) && !has(self.accessMode))",
                "existingClaim excludes size, storageClassName and accessMode",
            )
        )
    )
    size: Quantity | None = None
    storage_class_name: Name | None = None
    access_mode: AccessMode | None = Field(None, description="default ReadWriteOnce")
    existing_claim: Name | None = None


class ClawAgentSpec(Model):
    """A multi-turn assistant served by ``neam-api`` (Deployment + Service + sessions PVC)."""

    source: Source
    agents: list[Annotated[str, Field(max_length=128)]] | None = Field(
        None, max_length=64, description="claw agents to serve; default: all"
    )
    replicas: int = Field(1, ge=0, le=100)
    port: int = Field(8080, ge=1, le=65535)
    image: str | None = Field(None, max_length=512)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    resources: Resources | None = None
    env: list[EnvVar] | None = Field(None, max_length=64)
    secret_refs: list[SecretRef] | None = Field(None, max_length=16)
    auth: ClawAuth | None = None
    sessions: SessionsStorage | None = None
    termination_grace_period_seconds: int = Field(
        30,
        ge=2,
        le=3600,
        description="how long a pod may take to stop; neam-api drains in-flight requests "
        "for this long minus 2 seconds",
    )


class ClawAgentStatus(Model):
    observed_generation: int | None = None
    phase: Literal["Pending", "Ready", "Degraded", "Failed"] | None = None
    replicas: int | None = None
    ready_replicas: int | None = None
    ready: str | None = Field(None, max_length=32, description="ready/desired replicas, N/M")
    selector: str | None = Field(None, max_length=1024)
    endpoint: str | None = Field(None, max_length=512, description="the Service's in-cluster URL")
    agents: list[Annotated[str, Field(max_length=128)]] | None = Field(None, max_length=64)
    program_hash: str | None = Field(
        None, max_length=128, description="hash of the program the Deployment serves"
    )
    message: str | None = Field(None, max_length=4096)
    conditions: Conditions | None = None


# ---------------------------------------------------------------- AgentDAG


class DagNode(Model):
    id: str = Field(max_length=63, pattern=DNS_LABEL)
    agent: str = Field(max_length=128)
    task: str | None = Field(None, max_length=8192)
    depends_on: list[Annotated[str, Field(max_length=63)]] | None = Field(None, max_length=32)
    run: bool | None = Field(
        None,
        description="a forge agent's full build-verify loop, as a child ForgeRun "
        "(default: one spawn of the agent)",
    )


class AgentDAGSpec(Model):
    """Agents run in dependency order, one Job (or child ForgeRun) per node; independent
    nodes run concurrently, up to ``parallelism`` at once."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "self.nodes.all(n, self.nodes.exists_one(m, m.id == n.id))",
                "node ids must be unique",
            ),
            (
                "self.nodes.all(n, !has(n.dependsOn) || "
                "n.dependsOn.all(d, self.nodes.exists(m, m.id == d)))",
                "dependsOn must name existing node ids",
            ),
            ("self.source == oldSelf.source", "source is immutable once the DAG has been created"),
            ("self.nodes == oldSelf.nodes", "nodes are immutable once the DAG has been created"),
            (
                "!has(oldSelf.stop) || !oldSelf.stop || (has(self.stop) && self.stop)",
                "a stopped DAG cannot be resumed",
            ),
        )
    )
    source: Source
    nodes: list[DagNode] = Field(min_length=1, max_length=64)
    parallelism: int = Field(4, ge=1, le=64)
    image: str | None = Field(None, max_length=512)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    resources: Resources | None = None
    env: list[EnvVar] | None = Field(None, max_length=64)
    secret_refs: list[SecretRef] | None = Field(None, max_length=16)
    workspace: Storage | None = Field(
        None, description="a volume the node pods share at /workspace (default: none)"
    )
    active_deadline_seconds: int | None = Field(None, ge=1)
    backoff_limit: int | None = Field(None, ge=0, le=100)
    ttl_seconds_after_finished: int | None = Field(None, ge=0)
    stop: bool | None = None


class DagNodeStatus(Model):
    id: str = Field(max_length=63)
    phase: NodePhase | None = None
    outcome: str | None = Field(None, max_length=64)
    message: str | None = Field(None, max_length=1024)
    result: str | None = Field(
        None, max_length=1024, description="the start of the result; see resultConfigMap"
    )
    result_config_map: str | None = Field(None, max_length=253)
    cost: DecimalStr | None = None
    iteration: int | None = Field(None, description="iterations of a run node's ForgeRun")
    child: str | None = Field(None, max_length=253, description="the node's Job or ForgeRun")
    start_time: str | None = None
    completion_time: str | None = None


class AgentDAGStatus(Model):
    observed_generation: int | None = None
    phase: Phase | None = None
    progress: str | None = Field(None, max_length=32, description="succeeded/total nodes, N/M")
    total_cost: DecimalStr | None = None
    nodes: list[DagNodeStatus] | None = Field(None, max_length=64)
    program_hash: str | None = Field(None, max_length=128)
    message: str | None = Field(None, max_length=4096)
    start_time: str | None = None
    completion_time: str | None = None
    conditions: Conditions | None = None
