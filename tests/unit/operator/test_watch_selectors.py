"""The label selectors the operator's watches send to the API server match the children
its builders make: a child they missed would never reach its handler (a Job finishing
unseen, a pod problem never reported)."""

from __future__ import annotations

from typing import Any

import kopf
import pytest
from neam_operator.app import watch_only_children
from neam_operator.builders import agentdag, clawagent, forgerun
from neam_operator.builders.common import Owner
from neam_operator.models import AgentDAGSpec, ClawAgentSpec, ForgeRunSpec
from neam_operator.settings import Settings

SETTINGS = Settings.from_env({})
SOURCE = {"source": {"configMapRef": {"name": "src"}}}
JOBS = kopf.Resource("batch", "v1", "jobs")
PODS = kopf.Resource("", "v1", "pods")
DEPLOYMENTS = kopf.Resource("apps", "v1", "deployments")
CONFIGMAPS = kopf.Resource("", "v1", "configmaps")


def forge_job() -> dict[str, Any]:
    owner = Owner("ForgeRun", "demo", "team-a", "uid-1")
    spec = ForgeRunSpec.model_validate(SOURCE)
    objs = forgerun.children(owner, spec, "builder", '{"neamb": 1}', "abc123", SETTINGS)
    (job,) = (o for o in objs if o["kind"] == "Job")
    return job


def dag_node_job() -> dict[str, Any]:
    owner = Owner("AgentDAG", "flow", "team-a", "uid-2")
    spec = AgentDAGSpec.model_validate({**SOURCE, "nodes": [{"id": "a", "agent": "writer"}]})
    return agentdag.node_job(owner, agentdag.DagNames("flow"), spec, spec.nodes[0], SETTINGS)


def claw_deployment() -> dict[str, Any]:
    owner = Owner("ClawAgent", "support", "team-a", "uid-3")
    spec = ClawAgentSpec.model_validate(SOURCE)
    names = clawagent.ClawNames.of("support", spec)
    return clawagent.deployment(owner, names, spec, "0123456789abcdef", SETTINGS)


def selected(resource: kopf.Resource, labels: dict[str, str]) -> bool:
    """Whether ``labels`` match every selector the operator's watch of ``resource``
    sends (``k=v`` and ``k!=v`` terms joined by commas, as ``watch_only_children``
    writes them)."""
    settings = kopf.OperatorSettings()
    watch_only_children(settings)
    selectors = list(settings.watching.label_selectors.collect(resource))
    assert selectors, f"no server-side selector for {resource}"
    for term in (t for s in selectors for t in s.split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        else:
            key, value = term.split("=", 1)
            if labels.get(key) != value:
                return False
    return True


@pytest.mark.parametrize("job", [forge_job, dag_node_job])
def test_the_jobs_the_operator_makes_are_streamed_to_it(job) -> None:
    assert selected(JOBS, job()["metadata"]["labels"])


def test_forge_pods_are_streamed_to_it_and_dag_node_pods_are_not() -> None:
    assert selected(PODS, forge_job()["spec"]["template"]["metadata"]["labels"])
    assert not selected(PODS, dag_node_job()["spec"]["template"]["metadata"]["labels"])


def test_claw_deployments_are_streamed_to_it() -> None:
    assert selected(DEPLOYMENTS, claw_deployment()["metadata"]["labels"])


def test_someone_elses_jobs_are_not() -> None:
    assert not selected(JOBS, {"app.kubernetes.io/managed-by": "helm", "app": "x"})
    assert not selected(JOBS, {})


def test_users_configmaps_are_streamed_to_it_and_its_own_snapshots_are_not() -> None:
    """Sources are users' ConfigMaps (any labels, a Helm release's included); the
    program snapshots the operator makes are not sources."""
    owner = Owner("ForgeRun", "demo", "team-a", "uid-1")
    spec = ForgeRunSpec.model_validate(SOURCE)
    objs = forgerun.children(owner, spec, "builder", '{"neamb": 1}', "abc123", SETTINGS)
    (snapshot,) = (o for o in objs if o["kind"] == "ConfigMap")
    assert not selected(CONFIGMAPS, snapshot["metadata"]["labels"])
    claw = clawagent.program_configmap(Owner("ClawAgent", "s", "a", "u"), "{}", "0" * 16)
    assert not selected(CONFIGMAPS, claw["metadata"]["labels"])
    assert selected(CONFIGMAPS, {})
    assert selected(CONFIGMAPS, {"app.kubernetes.io/managed-by": "Helm", "app": "agents"})
