"""Pydantic models of the neam.dev/v1alpha1 resources.

These models are the single source of the CRD schemas: ``crdgen`` turns them into
structural OpenAPI v3 schemas (see ``neam_operator.crdgen``), and the operator parses
spec and status with them. Bounds (``max_length``, ``ge``/``le``) become schema bounds;
``cel(...)`` attaches ``x-kubernetes-validations`` rules; the docstring under each field
becomes its description, which is what ``kubectl explain`` prints.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

GROUP = "neam.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DECIMAL = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,12})?$"
# The largest cost a decimal string of DECIMAL can hold (16 integer digits).
DECIMAL_MAX = 10**16
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
CONFIGMAP_KEY = r"^[-._a-zA-Z0-9]+$"

Phase = Literal["Pending", "Running", "Succeeded", "Failed", "Stopped"]
NodePhase = Literal["Pending", "Running", "Succeeded", "Failed", "Stopped", "Skipped"]
# A ForgeRun's task (an AgentDAG composes a node's task with its dependencies' results).
TASK_LIMIT = 262144
Outcome = Literal["running", "completed", "aborted", "cost_limit", "iteration_limit", "error"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]

Rule = tuple[str, str] | tuple[str, str, str]


def cel(*rules: Rule) -> dict[str, Any]:
    """JSON-schema extra holding CEL rules as ``(rule, message[, fieldPath])``; a
    ``fieldPath`` (``.maxIterations``) makes the API server name that field in errors."""
    out = []
    for rule in rules:
        entry = {"rule": rule[0], "message": rule[1]}
        if len(rule) == 3:
            entry["fieldPath"] = rule[2]
        out.append(entry)
    return {"x-kubernetes-validations": out}


def _immutable(field: str) -> Rule:
    """A transition rule keeping an optional spec field unchanged once the run exists."""
    rule = (
        f"has(self.{field}) == has(oldSelf.{field}) && "
        f"(!has(self.{field}) || self.{field} == oldSelf.{field})"
    )
    return rule, f"{field} is immutable once the run has been created", f".{field}"


def _stop_is_final(what: str) -> Rule:
    return (
        "!has(oldSelf.stop) || !oldSelf.stop || (has(self.stop) && self.stop)",
        f"a stopped {what} cannot be resumed",
        ".stop",
    )


# Kubernetes quantities are int-or-string; the schema must say so explicitly, and CEL's
# isQuantity rejects `cpu: two` or `size: lots` when the resource is applied.
Quantity = Annotated[
    str | int,
    WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            **cel(
                (
                    "type(self) == int ? self >= 0 : "
                    "isQuantity(self) && !quantity(self).isLessThan(quantity('0'))",
                    "must be a non-negative quantity, such as 500m, 2Gi or 1",
                )
            ),
        }
    ),
]


def _cost_text(value: object) -> object:
    """A cost given as a YAML number becomes the decimal string the runtime takes."""
    if isinstance(value, bool):
        raise ValueError("must be a number or a decimal string, not a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0 or value >= DECIMAL_MAX:
            raise ValueError(f"must be a non-negative number below {DECIMAL_MAX}")
        value = format(Decimal(str(value)), "f")
    if isinstance(value, str) and not re.match(DECIMAL, value):
        raise ValueError(f"{value!r} is not a non-negative decimal such as 2.50")
    return value


DecimalStr = Annotated[str, Field(max_length=32, pattern=DECIMAL)]
# A structural schema cannot say "number or string": the CRD leaves the field untyped
# (CEL cannot see it either), so manifests/policies.yaml checks it at admission and the
# operator re-checks it (InvalidSpec) where that policy is not installed.
Cost = Annotated[
    DecimalStr,
    BeforeValidator(_cost_text),
    WithJsonSchema({"x-kubernetes-preserve-unknown-fields": True}),
]
Name = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]
Short = Annotated[str, Field(max_length=256)]
AgentName = Annotated[str, Field(min_length=1, max_length=128)]


class Model(BaseModel):
    """Base: camelCase aliases on the wire, snake_case in Python, unknown keys ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, use_attribute_docstrings=True
    )

    def wire(self) -> dict[str, Any]:
        """The Kubernetes (camelCase) form, without unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def spec_error(error: ValidationError, root: str = "spec") -> str:
    """One line naming the first invalid field the way the API server would
    (``spec.maxCost: must be ...``)."""
    first = error.errors()[0]
    why = str(first["ctx"]["error"]) if first["type"] == "value_error" else first["msg"]
    where = ".".join(
        [root, *(to_camel(p) if isinstance(p, str) else f"[{p}]" for p in first["loc"])]
    )
    more = len(error.errors()) - 1
    extra = f" (and {more} more)" if more else ""
    return f"{where.replace('.[', '[')}: {why}{extra}"


# ---------------------------------------------------------------- shared spec parts


class ConfigMapSource(Model):
    """A key of a ConfigMap in the resource's namespace."""

    name: Name
    """The ConfigMap's name."""
    key: str = Field("main.neam", max_length=253, pattern=CONFIGMAP_KEY)
    """The key holding the Neam source (default main.neam)."""


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
    """The program's source in a ConfigMap; a change to it is picked up until launch."""
    inline: str | None = Field(None, max_length=131072)
    """The program's source text."""


class SecretKeySelector(Model):
    """One key of a Secret in the resource's namespace."""

    name: Name
    """The Secret's name."""
    key: str = Field(max_length=253, pattern=CONFIGMAP_KEY)
    """The key whose value becomes the variable's value."""
    optional: bool | None = None
    """Start the container even when the Secret or key is missing."""


class EnvVarSource(Model):
    """Where an env var's value comes from."""

    secret_key_ref: SecretKeySelector
    """A key of a Secret: the value never appears in the resource or its children."""


class EnvVar(Model):
    """A container env var: a literal value or a Secret reference (valueFrom)."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            ("has(self.value) != has(self.valueFrom)", "set exactly one of value and valueFrom")
        )
    )
    name: str = Field(max_length=128, pattern=ENV_NAME)
    """The variable's name."""
    value: str | None = Field(None, max_length=4096)
    """A literal value (never a secret: use valueFrom)."""
    value_from: EnvVarSource | None = None
    """The value from a Secret key."""


class SecretRef(Model):
    """A Secret whose keys all become env vars of the runtime container (envFrom)."""

    name: Name
    """The Secret's name."""


class Resources(Model):
    """CPU and memory for the runtime container, as in a Pod's resources."""

    requests: dict[str, Quantity] | None = Field(None, max_length=8)
    """What the scheduler reserves, e.g. cpu: 500m, memory: 512Mi."""
    limits: dict[str, Quantity] | None = Field(None, max_length=8)
    """The most the container may use."""


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
    """The size of the claim the operator creates (default 1Gi)."""
    storage_class_name: Name | None = None
    """The StorageClass of the claim the operator creates (default: the cluster's)."""
    existing_claim: Name | None = None
    """Use this PersistentVolumeClaim instead of creating one; it is never deleted."""


class Condition(Model):
    """The standard Kubernetes condition."""

    type: str = Field(max_length=64)
    """Ready, Succeeded, Compiled, Reconciling or Stalled."""
    status: Literal["True", "False", "Unknown"]
    """True, False or Unknown."""
    reason: str = Field("", max_length=128)
    """A CamelCase word saying why."""
    message: str = Field("", max_length=4096)
    """What happened, for people."""
    last_transition_time: str | None = None
    """When the status last changed."""
    observed_generation: int | None = None
    """The spec generation the condition was computed from."""


Conditions = Annotated[list[Condition], Field(max_length=16)]


# ---------------------------------------------------------------- ForgeRun


class GitAuthor(Model):
    """The author (and committer) of the run's commits."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[^<>\n]+$")
    """The author's name."""
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^<>\s@]+@[^<>\s@]+$")
    """The author's email address."""


class GitSpec(Model):
    """Work on a clone of a repository and push the result as a branch."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "self.url.matches('^(https?|ssh|git)://[^\\\\s]+$') || "
                "self.url.matches('^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\\\\s]+$')",
                "url must be an https://, http://, ssh:// or git:// URL, or user@host:path",
                ".url",
            ),
            (
                "!self.url.matches('^(?i)(https?|git)://[^/@]*@') && "
                "!self.url.matches('^(?i)ssh://[^/@:]*:[^/@]*@')",
                "url must not hold credentials: put them in the Secret of secretRef",
                ".url",
            ),
        )
    )
    url: str = Field(max_length=2048)
    """The repository to clone, without credentials."""
    revision: str | None = Field(None, max_length=256)
    """The branch, tag or commit to start from (default: the remote's HEAD)."""
    push_branch: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")
    """The branch the result is pushed to (default: neam/<run name>); never force-pushed."""
    secret_ref: SecretRef | None = None
    """A Secret with username and password (a token) for HTTPS, or ssh-privatekey and
    known_hosts for SSH; mounted as files, never passed as arguments or env."""
    author: GitAuthor | None = None
    """The commits' author (default: neam-forge)."""


class ForgeRunSpec(Model):
    """A bounded build-verify loop of one forge agent, run once in a Job."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "!has(self.maxIterations) || self.maxIterations > 0",
                "maxIterations must be greater than 0",
                ".maxIterations",
            ),
            (
                "self.source == oldSelf.source",
                "source is immutable once the run has been created",
                ".source",
            ),
            _immutable("agent"),
            _immutable("maxIterations"),
            _immutable("task"),
            _immutable("git"),
            _immutable("workspace"),
            _immutable("image"),
            _immutable("imagePullPolicy"),
            _immutable("resources"),
            _immutable("env"),
            _immutable("secretRefs"),
            _stop_is_final("run"),
        )
    )
    source: Source
    """The Neam program; immutable."""
    agent: AgentName | None = None
    """The forge agent to run (default: the program's first forge agent); immutable."""
    max_iterations: int | None = Field(None, le=100000)
    """The most build-verify iterations (default: the agent's max_iterations); immutable."""
    max_cost: Cost | None = None
    """The cost limit in USD, a number or a decimal string such as "2.50"; the run ends
    with outcome cost_limit when it is reached. Immutable."""
    task: str | None = Field(None, max_length=TASK_LIMIT)
    """The loop's task when the workspace has no plan file (default: the goal in the
    agent's system prompt); immutable."""
    git: GitSpec | None = None
    """Clone a repository into the workspace and push the result as a branch; immutable."""
    workspace: Storage | None = None
    """The volume mounted at /workspace (default: a 1Gi claim the operator creates and
    deletes with the run); immutable."""
    image: str | None = Field(None, max_length=512)
    """The runtime image (default: the operator's --runtime-image); immutable."""
    image_pull_policy: PullPolicy | None = None
    """Always, IfNotPresent or Never (default: Kubernetes' rule); immutable."""
    resources: Resources | None = None
    """The runtime container's requests and limits; immutable."""
    env: list[EnvVar] | None = Field(None, max_length=64)
    """Extra env vars of the runtime container; immutable."""
    secret_refs: list[SecretRef] | None = Field(None, max_length=16)
    """Secrets whose keys become env vars (provider API keys); immutable."""
    active_deadline_seconds: int | None = Field(None, ge=1)
    """Fail the run after this long; a change applies to the running Job."""
    backoff_limit: int | None = Field(None, ge=0, le=100)
    """Retries of a failed pod (default: the operator's --backoff-limit); a change applies
    to the running Job."""
    ttl_seconds_after_finished: int | None = Field(None, ge=0)
    """Delete the ForgeRun (and its children) this long after it ends."""
    stop: bool | None = None
    """true suspends the Job: the run ends Stopped and cannot be resumed."""


class GitStatus(Model):
    """The repository the run works on and what it pushed."""

    url: str | None = Field(None, max_length=2048)
    """The repository, without credentials."""
    branch: str | None = Field(None, max_length=256)
    """The branch the run pushes to."""
    base_commit: str | None = Field(None, max_length=64)
    """The commit the run started from."""
    head_commit: str | None = Field(None, max_length=64)
    """The last pushed commit."""
    push_error: str | None = Field(None, max_length=1024)
    """Why the last push failed (the run goes on and pushes again)."""


class ForgeProgressStatus(Model):
    """What the in-pod reporter writes; the only part of the status a run's pod may
    change (manifests/policies.yaml)."""

    iteration: int | None = Field(None, ge=0)
    """The iterations done."""
    max_iterations: int | None = Field(None, ge=0)
    """The iteration limit the loop runs with."""
    total_cost: DecimalStr | None = None
    """The cost so far in USD."""
    current_task: Short | None = None
    """The task being worked on."""
    outcome: Outcome | None = None
    """The loop's outcome so far (running until it ends)."""
    message: str | None = Field(None, max_length=4096)
    """The loop's last message."""
    update_time: str | None = None
    """When the pod last reported."""
    git: GitStatus | None = None
    """The run's repository and pushes, as the pod sees them."""


class ForgeRunChildren(Model):
    """The objects the operator created for the run (deleted with it)."""

    program: str | None = Field(None, max_length=253)
    """The ConfigMap holding the compiled program (program.neamb)."""
    workspace: str | None = Field(None, max_length=253)
    """The workspace PersistentVolumeClaim."""
    job: str | None = Field(None, max_length=253)
    """The Job running the loop."""
    service_account: str | None = Field(None, max_length=253)
    """The run's reporter service account (may patch only its run's status.progress)."""


class ForgeRunStatus(Model):
    """What the operator observed; written only by the operator (but progress)."""

    observed_generation: int | None = None
    """The spec generation this status reflects."""
    phase: Phase | None = None
    """Pending, Running (the pod runs), Succeeded (outcome completed), Failed or Stopped."""
    reason: str | None = Field(None, max_length=128)
    """Why the run is in its phase: e.g. Unschedulable, ImagePullBackOff, Retrying,
    Completed, IterationLimit, NoResult, SourceNotFound."""
    attempt: int | None = Field(None, ge=1)
    """The pod attempt (1 + failed pods); above 1 the Job is retrying."""
    agent: str | None = Field(None, max_length=128)
    """The forge agent (spec.agent until the program is compiled)."""
    iteration: int | None = None
    """The iterations done."""
    max_iterations: int | None = None
    """The iteration limit."""
    total_cost: DecimalStr | None = None
    """The cost so far in USD."""
    outcome: Outcome | None = None
    """The loop's outcome: running, completed, aborted, cost_limit, iteration_limit or
    error; only completed is Succeeded."""
    message: str | None = Field(None, max_length=4096)
    """What happened, for people."""
    current_task: Short | None = None
    """The task being worked on."""
    start_time: str | None = None
    """When the operator launched the run."""
    completion_time: str | None = None
    """When the run ended (set once, by the operator)."""
    duration: str | None = Field(None, max_length=32)
    """How long the run took, once it has ended (e.g. 4m12s)."""
    program_hash: str | None = Field(None, max_length=128)
    """The hash of the compiled program the Job runs."""
    children: ForgeRunChildren | None = None
    """The objects the operator created for the run."""
    git: GitStatus | None = None
    """The run's repository, branch and pushed commit."""
    progress: ForgeProgressStatus | None = None
    """The run pod's own report (the operator copies it into the fields above)."""
    conditions: Conditions | None = None
    """Compiled, Ready, Succeeded, Reconciling and Stalled (kstatus conventions)."""


# ---------------------------------------------------------------- ClawAgent


class KeySecretRef(Model):
    """One key of a Secret (the value never leaves the Secret: it reaches pods as env)."""

    name: Name
    """The Secret's name."""
    key: str = Field(max_length=253, pattern=CONFIGMAP_KEY)
    """The key holding the value."""


class ClawAuth(Model):
    """Keys of the served ``neam-api``: ``NEAM_API_KEY`` (agent endpoints) and
    ``NEAM_ADMIN_KEY`` (admin endpoints), each from a Secret. Without an API key the
    endpoint is unauthenticated, which the status reports."""

    api_key_secret_ref: KeySecretRef | None = None
    """The key clients send as a Bearer token to the agent endpoints."""
    admin_key_secret_ref: KeySecretRef | None = None
    """The key of the admin endpoints (without it they are disabled)."""


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
    """The size of the claim the operator creates (default 1Gi)."""
    storage_class_name: Name | None = None
    """The StorageClass of the claim the operator creates."""
    access_mode: AccessMode | None = None
    """The access mode of the claim the operator creates (default ReadWriteOnce)."""
    existing_claim: Name | None = None
    """Use this PersistentVolumeClaim instead; it is never deleted."""


class ClawAgentSpec(Model):
    """A multi-turn assistant served by ``neam-api`` (Deployment + Service + sessions PVC)."""

    source: Source
    """The Neam program; a change rolls the Deployment."""
    agents: list[AgentName] | None = Field(None, max_length=64)
    """The claw agents to serve (default: all of the program's claw agents)."""
    replicas: int = Field(1, ge=0, le=100)
    """The Deployment's replicas (the scale subresource: kubectl scale, HPA)."""
    port: int = Field(8080, ge=1, le=65535)
    """The port neam-api and the Service listen on."""
    image: str | None = Field(None, max_length=512)
    """The runtime image (default: the operator's --runtime-image)."""
    image_pull_policy: PullPolicy | None = None
    """Always, IfNotPresent or Never."""
    resources: Resources | None = None
    """The container's requests and limits."""
    env: list[EnvVar] | None = Field(None, max_length=64)
    """Extra env vars of the container."""
    secret_refs: list[SecretRef] | None = Field(None, max_length=16)
    """Secrets whose keys become env vars (provider API keys)."""
    auth: ClawAuth | None = None
    """The API and admin keys of the served endpoint."""
    sessions: SessionsStorage | None = None
    """Where conversations are kept across restarts."""
    termination_grace_period_seconds: int = Field(30, ge=2, le=3600)
    """How long a pod may take to stop; neam-api drains in-flight requests for this long
    minus 2 seconds."""


class ClawAgentStatus(Model):
    """What the operator observed."""

    observed_generation: int | None = None
    """The spec generation this status reflects."""
    phase: Literal["Pending", "Ready", "Degraded", "Failed"] | None = None
    """Pending, Ready (every replica ready), Degraded (some) or Failed."""
    replicas: int | None = None
    """The Deployment's replicas (the scale subresource)."""
    ready_replicas: int | None = None
    """Replicas whose readiness probe passes."""
    ready: str | None = Field(None, max_length=32)
    """Ready/desired replicas, N/M."""
    selector: str | None = Field(None, max_length=1024)
    """The pods' label selector (the scale subresource)."""
    endpoint: str | None = Field(None, max_length=512)
    """The Service's in-cluster URL."""
    agents: list[Annotated[str, Field(max_length=128)]] | None = Field(None, max_length=64)
    """The claw agents served."""
    program_hash: str | None = Field(None, max_length=128)
    """The hash of the program the Deployment serves."""
    message: str | None = Field(None, max_length=4096)
    """What happened, for people."""
    conditions: Conditions | None = None
    """Ready, Compiled, Reconciling and Stalled."""


# ---------------------------------------------------------------- AgentDAG


class DagNode(Model):
    """One agent of the graph."""

    id: str = Field(max_length=63, pattern=DNS_LABEL)
    """The node's id, unique in the graph (a DNS label)."""
    agent: AgentName
    """The agent the node runs."""
    task: str | None = Field(None, max_length=8192)
    """The node's task; the results of the nodes it depends on are appended."""
    depends_on: list[Annotated[str, Field(max_length=63)]] | None = Field(None, max_length=32)
    """Ids of the nodes that must succeed first."""
    run: bool | None = None
    """Run a forge agent's full build-verify loop as a child ForgeRun (default: one
    spawn of the agent)."""


class AgentDAGSpec(Model):
    """Agents run in dependency order, one Job (or child ForgeRun) per node; independent
    nodes run concurrently, up to ``parallelism`` at once."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "self.nodes.all(n, self.nodes.exists_one(m, m.id == n.id))",
                "node ids must be unique",
                ".nodes",
            ),
            (
                "self.nodes.all(n, !has(n.dependsOn) || "
                "n.dependsOn.all(d, self.nodes.exists(m, m.id == d)))",
                "dependsOn must name existing node ids",
                ".nodes",
            ),
            (
                "self.source == oldSelf.source",
                "source is immutable once the DAG has been created",
                ".source",
            ),
            (
                "self.nodes == oldSelf.nodes",
                "nodes are immutable once the DAG has been created",
                ".nodes",
            ),
            _stop_is_final("DAG"),
        )
    )
    source: Source
    """The Neam program; immutable."""
    nodes: list[DagNode] = Field(min_length=1, max_length=64)
    """The graph's nodes; immutable."""
    parallelism: int = Field(4, ge=1, le=64)
    """The most nodes running at once."""
    image: str | None = Field(None, max_length=512)
    """The runtime image (default: the operator's --runtime-image)."""
    image_pull_policy: PullPolicy | None = None
    """Always, IfNotPresent or Never."""
    resources: Resources | None = None
    """Each node container's requests and limits."""
    env: list[EnvVar] | None = Field(None, max_length=64)
    """Extra env vars of every node container."""
    secret_refs: list[SecretRef] | None = Field(None, max_length=16)
    """Secrets whose keys become env vars of every node (provider API keys)."""
    workspace: Storage | None = None
    """A volume the node pods share at /workspace (default: none)."""
    active_deadline_seconds: int | None = Field(None, ge=1)
    """Fail the graph after this long."""
    backoff_limit: int | None = Field(None, ge=0, le=100)
    """Retries of each node's failed pod."""
    ttl_seconds_after_finished: int | None = Field(None, ge=0)
    """Delete the AgentDAG (and its children) this long after it ends."""
    stop: bool | None = None
    """true stops the graph: running nodes are stopped, the rest skipped."""


class DagNodeStatus(Model):
    """One node's state."""

    id: str = Field(max_length=63)
    """The node's id."""
    phase: NodePhase | None = None
    """Pending, Running, Succeeded, Failed, Stopped or Skipped."""
    outcome: str | None = Field(None, max_length=64)
    """The agent's outcome."""
    message: str | None = Field(None, max_length=1024)
    """What happened, for people."""
    result: str | None = Field(None, max_length=1024)
    """The start of the result; see resultConfigMap."""
    result_config_map: str | None = Field(None, max_length=253)
    """The ConfigMap holding the full result."""
    cost: DecimalStr | None = None
    """The node's cost in USD."""
    iteration: int | None = None
    """Iterations of a run node's ForgeRun."""
    child: str | None = Field(None, max_length=253)
    """The node's Job or ForgeRun."""
    start_time: str | None = None
    """When the node started."""
    completion_time: str | None = None
    """When the node ended."""


class AgentDAGStatus(Model):
    """What the operator observed."""

    observed_generation: int | None = None
    """The spec generation this status reflects."""
    phase: Phase | None = None
    """Pending, Running, Succeeded, Failed or Stopped."""
    progress: str | None = Field(None, max_length=32)
    """Succeeded/total nodes, N/M."""
    total_cost: DecimalStr | None = None
    """The nodes' cost in USD."""
    nodes: list[DagNodeStatus] | None = Field(None, max_length=64)
    """Each node's state."""
    program_hash: str | None = Field(None, max_length=128)
    """The hash of the compiled program."""
    message: str | None = Field(None, max_length=4096)
    """What happened, for people."""
    start_time: str | None = None
    """When the graph started."""
    completion_time: str | None = None
    """When the graph ended."""
    conditions: Conditions | None = None
    """Ready, Succeeded, Compiled, Reconciling and Stalled."""
