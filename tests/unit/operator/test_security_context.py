"""Every pod the operator launches runs hardened: each field of the pod and container
security context, written out, for the ForgeRun Job, the AgentDAG node Job and the
ClawAgent Deployment (a wrong user or a dropped field is a security hole)."""

from __future__ import annotations

from typing import Any

import pytest
from neam_operator.builders import agentdag, clawagent, forgerun
from neam_operator.builders.common import Owner
from neam_operator.models import AgentDAGSpec, ClawAgentSpec, ForgeRunSpec
from neam_operator.settings import Settings

SETTINGS = Settings.from_env({})
SOURCE = {"source": {"configMapRef": {"name": "src"}}}

POD = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def forgerun_pod() -> dict[str, Any]:
    owner = Owner("ForgeRun", "demo", "team-a", "uid-1")
    spec = ForgeRunSpec.model_validate(SOURCE)
    objs = forgerun.children(owner, spec, "builder", '{"neamb": 1}', "abc123", SETTINGS)
    (job,) = (o for o in objs if o["kind"] == "Job")
    return job["spec"]["template"]["spec"]


def dag_node_pod() -> dict[str, Any]:
    owner = Owner("AgentDAG", "flow", "team-a", "uid-2")
    spec = AgentDAGSpec.model_validate({**SOURCE, "nodes": [{"id": "a", "agent": "writer"}]})
    job = agentdag.node_job(owner, agentdag.DagNames("flow"), spec, spec.nodes[0], SETTINGS)
    return job["spec"]["template"]["spec"]


def claw_pod() -> dict[str, Any]:
    owner = Owner("ClawAgent", "support", "team-a", "uid-3")
    spec = ClawAgentSpec.model_validate(SOURCE)
    names = clawagent.ClawNames.of("support", spec)
    return clawagent.deployment(owner, names, spec, "0123456789abcdef", SETTINGS)["spec"][
        "template"
    ]["spec"]


@pytest.mark.parametrize("pod", [forgerun_pod, dag_node_pod, claw_pod])
def test_every_pod_and_container_is_hardened(pod) -> None:
    spec = pod()
    assert spec["securityContext"] == POD
    containers = [*spec["containers"], *spec.get("initContainers", [])]
    assert containers
    for container in containers:
        assert container["securityContext"] == CONTAINER, container["name"]
