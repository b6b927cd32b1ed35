"""The Argo CD health checks (kustomize/argocd/health/*.lua) on objects the real operator
produced: each kind is driven through its states on the real control plane, the object
is read back with ``kubectl get -o json`` and the kind's script runs on it with Lua 5.1
in Argo CD's sandbox (tests/support/argocd_health.lua).

Pods do not run under KWOK: as in the other cluster tests, the tests play the kubelet
(``run_pod``, ``finish_pod``) for ForgeRun and AgentDAG pods, and KWOK makes a
ClawAgent's pods Ready unless they request more CPU than the node has."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from neam_operator.conditions import UNOBSERVED

from tests.support.argocd import (
    HEALTH_DIR,
    PATCH,
    SCRIPTS,
    embedded_script,
    health,
    lua_interpreter,
)
from tests.support.claw import clawagent
from tests.support.cluster import ClusterHandle
from tests.support.dag import agentdag, dag_node
from tests.support.operator_harness import (
    BAD_PROGRAM,
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    condition,
    finish_pod,
    forgerun,
    get_json,
    new_name,
    scratch_namespace,
    source_configmap,
    start,
    start_running,
    wait_for,
)

Obj = dict[str, Any]

CLAW = """
claw agent support_bot {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You help customers of Acme."
}
"""
CLAW_BROKEN = """
claw agent support_bot {
  provider: "openai"
  model: "gpt-4o-mini"
  skills: [missing_skill]
}
"""
DAG_PROGRAM = """
claw agent researcher {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You research."
}

claw agent analyst {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You analyse."
}
"""


@pytest.fixture(scope="module")
def lua() -> str:
    return lua_interpreter()


@pytest.fixture
def ns(kube: ClusterHandle, operator: OperatorProcess, lua: str) -> Iterator[str]:
    with scratch_namespace(kube, "argo") as name:
        yield name


def wait_obj(
    kube: ClusterHandle, resource: str, ns: str, name: str, what: str, check: Callable[[Obj], Any]
) -> Obj:
    """The object once ``check(status)`` holds: the verdict is taken on that very read."""
    last: Obj = {}

    def probe() -> Obj | None:
        nonlocal last
        last = get_json(kube, resource, name, "-n", ns) or {}
        return last if check(last.get("status") or {}) else None

    try:
        return wait_for(probe, f"{resource} {name}: {what}", timeout=120)
    except AssertionError as e:
        raise AssertionError(f"{e}; status: {json.dumps(last.get('status'))}") from None


def verdict(lua: str, obj: Obj) -> tuple[str, str]:
    got = health(lua, obj)
    return got["status"], got["message"]


def expect(lua: str, obj: Obj, status: str, message: str | None = None) -> str:
    """Assert the script's verdict on ``obj``; returns the message."""
    got_status, got_message = verdict(lua, obj)
    context = f"{obj['kind']} {obj['metadata']['name']}: {json.dumps(obj.get('status'))}"
    assert got_status == status, f"{got_status} ({got_message}), not {status}, for {context}"
    if message is not None:
        assert got_message == message, context
    return got_message


def phase_is(phase: str) -> Callable[[Obj], bool]:
    return lambda st: st.get("phase") == phase


def merge_patch(kube: ClusterHandle, resource: str, ns: str, name: str, patch: Obj) -> None:
    kube.kubectl("patch", resource, name, "-n", ns, "--type=merge", "-p", json.dumps(patch))


def observed(st: Obj, generation: int) -> bool:
    return st.get("observedGeneration") == generation


# ------------------------------------------------------------------ before the operator


def test_a_resource_without_status_waits_for_the_operator(
    kube: ClusterHandle, ns: str, lua: str
) -> None:
    """What the API server stores on create (a server-side dry run: no operator sees it)."""
    made = [
        forgerun(ns, new_name("fresh")),
        clawagent(ns, new_name("fresh"), source={"inline": CLAW}),
        agentdag(ns, new_name("fresh"), [dag_node("a", "researcher")], source={"inline": "x"}),
    ]
    for manifest in made:
        r = kube.kubectl(
            "create", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(manifest)
        )
        obj = json.loads(r.stdout)
        # Only the CRD's default status (kstatus reads it as not observed yet).
        assert obj.get("status") == UNOBSERVED and obj["metadata"]["generation"] == 1
        expect(lua, obj, "Progressing", "waiting for the operator")


# ------------------------------------------------------------------ ForgeRun


def test_forgerun_pending_names_the_pods_reason(kube: ClusterHandle, ns: str, lua: str) -> None:
    run = new_name("pending")
    start(kube, ns, run, resources=UNSCHEDULABLE)
    obj = wait_obj(
        kube, "forgerun", ns, run, "Unschedulable", lambda s: s.get("reason") == "Unschedulable"
    )
    st = obj["status"]
    assert st["phase"] == "Pending" and "Insufficient cpu" in st["message"]
    expect(lua, obj, "Progressing", f"Unschedulable: {st['message']}")


def test_forgerun_waiting_for_its_source(kube: ClusterHandle, ns: str, lua: str) -> None:
    run = new_name("nosrc")
    apply(kube, forgerun(ns, run, source={"configMapRef": {"name": "not-yet"}}))
    obj = wait_obj(
        kube, "forgerun", ns, run, "SourceNotFound", lambda s: s.get("reason") == "SourceNotFound"
    )
    assert obj["status"]["phase"] == "Pending"
    message = expect(lua, obj, "Progressing")
    assert message == f"SourceNotFound: {obj['status']['message']}" and "not-yet" in message


def test_forgerun_running_with_progress_then_succeeded(
    kube: ClusterHandle, ns: str, lua: str
) -> None:
    run = new_name("ok")
    start_running(kube, ns, run, backoffLimit=0)
    obj = wait_obj(kube, "forgerun", ns, run, "Running", phase_is("Running"))
    expect(lua, obj, "Progressing", "running")

    progress = {"iteration": 2, "totalCost": "0.02", "message": "iteration 2: verify said retry"}
    kube.kubectl(
        "patch", "forgerun", run, "-n", ns, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"progress": progress}}),
    )  # fmt: skip
    obj = wait_obj(kube, "forgerun", ns, run, "progress", lambda s: s.get("iteration") == 2)
    expect(lua, obj, "Progressing", "iteration 2: verify said retry")

    result = {"outcome": "completed", "iterations": 2, "total_cost": "0.02", "message": "built"}
    finish_pod(kube, ns, f"{run}-forge", 0, result)
    obj = wait_obj(kube, "forgerun", ns, run, "Succeeded", phase_is("Succeeded"))
    expect(lua, obj, "Healthy", "built")

    # A spec change after the end (the TTL) is observed, and the run stays Healthy (the
    # script also keeps a finished run's verdict while the change is not observed yet).
    merge_patch(kube, "forgerun", ns, run, {"spec": {"ttlSecondsAfterFinished": 86400}})
    obj = get_json(kube, "forgerun", run, "-n", ns)
    expect(lua, obj, "Healthy", "built")
    generation = obj["metadata"]["generation"]
    obj = wait_obj(
        kube, "forgerun", ns, run, "the TTL edit observed",
        lambda s: s.get("observedGeneration") == generation,
    )  # fmt: skip
    expect(lua, obj, "Healthy", "built")


def second_pod(kube: ClusterHandle, ns: str, job: str) -> str | None:
    """The name of the Job's pod that has not ended, once the first one has."""
    pods = get_json(kube, "pods", "-n", ns, "-l", f"job-name={job}")["items"]
    ended = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
    waiting = [p for p in pods if (p.get("status") or {}).get("phase") != "Failed"]
    return waiting[0]["metadata"]["name"] if ended and waiting else None


def test_forgerun_retrying_then_failed(kube: ClusterHandle, ns: str, lua: str) -> None:
    run = new_name("retry")
    start_running(kube, ns, run, backoffLimit=1)
    finish_pod(kube, ns, f"{run}-forge", 1, {"outcome": "error", "message": "provider error: 500"})
    obj = wait_obj(kube, "forgerun", ns, run, "Retrying", lambda s: s.get("reason") == "Retrying")
    message = expect(lua, obj, "Progressing", f"Retrying: {obj['status']['message']}")
    assert message.startswith("Retrying: attempt 2 of 2") and "provider error: 500" in message

    second = wait_for(lambda: second_pod(kube, ns, f"{run}-forge"), "the second attempt's pod")
    why = {"outcome": "error", "message": "provider error: 401 invalid API key"}
    finish_pod(kube, ns, f"{run}-forge", 1, why, pod_name=second)
    obj = wait_obj(kube, "forgerun", ns, run, "Failed", phase_is("Failed"))
    expect(lua, obj, "Degraded", "provider error: 401 invalid API key")


def test_forgerun_compile_error_is_degraded(kube: ClusterHandle, ns: str, lua: str) -> None:
    run = new_name("bad")
    apply(kube, source_configmap(ns, f"{run}-src", BAD_PROGRAM))
    apply(kube, forgerun(ns, run, source={"configMapRef": {"name": f"{run}-src"}}))
    obj = wait_obj(kube, "forgerun", ns, run, "Failed", phase_is("Failed"))
    assert condition(obj["status"], "Compiled")["status"] == "False"
    message = expect(lua, obj, "Degraded", obj["status"]["message"])
    assert "main.neam:" in message and "no_such_function" in message


def test_forgerun_stopped_is_suspended(kube: ClusterHandle, ns: str, lua: str) -> None:
    run = new_name("stop")
    start_running(kube, ns, run)
    merge_patch(kube, "forgerun", ns, run, {"spec": {"stop": True}})
    obj = wait_obj(kube, "forgerun", ns, run, "Stopped", phase_is("Stopped"))
    expect(lua, obj, "Suspended", obj["status"]["message"])

    before = new_name("stop-early")
    apply(kube, forgerun(ns, before, stop=True))
    obj = wait_obj(kube, "forgerun", ns, before, "Stopped", phase_is("Stopped"))
    expect(lua, obj, "Suspended", "stopped by spec.stop before it started")


# ------------------------------------------------------------------ ClawAgent


def start_claw(kube: ClusterHandle, ns: str, name: str, **spec: Any) -> None:
    apply(kube, source_configmap(ns, f"{name}-src", CLAW), clawagent(ns, name, **spec))


def claw_ready(st: Obj) -> bool:
    return condition(st, "Ready").get("status") == "True"


def test_clawagent_rolling_out_ready_and_a_stuck_update(
    kube: ClusterHandle, ns: str, lua: str
) -> None:
    # No pod can be scheduled: rolling out, nothing served yet.
    stuck = new_name("stuck")
    start_claw(kube, ns, stuck, resources=UNSCHEDULABLE)
    obj = wait_obj(
        kube, "clawagent", ns, stuck, "rolling out",
        lambda s: condition(s, "Progressing").get("reason") == "RollingOut",
    )  # fmt: skip
    assert obj["status"]["phase"] == "Pending"
    message = expect(lua, obj, "Progressing", f"RollingOut: {obj['status']['message']}")
    assert message.endswith(", 0 ready")

    # Served.
    name = new_name("claw")
    start_claw(kube, ns, name)
    obj = wait_obj(kube, "clawagent", ns, name, "Ready", claw_ready)
    message = expect(lua, obj, "Healthy", obj["status"]["message"])
    assert message.startswith("1/1 pods ready on program ")

    # An update whose new pod cannot start: the old pod still serves (phase Ready), the
    # rollout does not complete: Progressing, not Healthy.
    merge_patch(kube, "clawagent", ns, name, {"spec": {"resources": UNSCHEDULABLE}})
    generation = obj["metadata"]["generation"] + 1
    obj = wait_obj(
        kube, "clawagent", ns, name, "rolling out the update",
        lambda s: observed(s, generation) and not claw_ready(s),
    )  # fmt: skip
    assert obj["status"]["phase"] == "Ready" and obj["status"]["readyReplicas"] == 1
    expect(lua, obj, "Progressing", f"RollingOut: {obj['status']['message']}")


def test_clawagent_that_does_not_compile_is_degraded(
    kube: ClusterHandle, ns: str, lua: str
) -> None:
    never = new_name("never")
    apply(kube, clawagent(ns, never, source={"inline": CLAW_BROKEN}))
    obj = wait_obj(kube, "clawagent", ns, never, "Failed", phase_is("Failed"))
    message = expect(lua, obj, "Degraded", obj["status"]["message"])
    assert "missing_skill" in message

    # A bad update while the previous program serves.
    name = new_name("claw")
    start_claw(kube, ns, name)
    serving = wait_obj(kube, "clawagent", ns, name, "Ready", claw_ready)["status"]["programHash"]
    apply(kube, source_configmap(ns, f"{name}-src", CLAW_BROKEN))
    obj = wait_obj(kube, "clawagent", ns, name, "compile error", phase_is("Degraded"))
    message = expect(lua, obj, "Degraded", obj["status"]["message"])
    assert "missing_skill" in message and message.endswith(f"still serving program {serving}")


# ------------------------------------------------------------------ AgentDAG


def dag(ns: str, name: str, nodes: list[Obj], **spec: Any) -> Obj:
    spec.setdefault("source", {"inline": DAG_PROGRAM})
    spec.setdefault("resources", UNSCHEDULABLE)
    return agentdag(ns, name, nodes, **spec)


def node_job(kube: ClusterHandle, ns: str, name: str, node: str) -> Obj:
    return wait_for(
        lambda: get_json(kube, "job", f"{name}-node-{node}", "-n", ns), f"the Job of node {node}"
    )


def finish_node(kube: ClusterHandle, ns: str, name: str, node: str, result: str) -> None:
    """End a node as its pod would: the result in its ConfigMap, then the pod done."""
    node_job(kube, ns, name, node)
    patch = {"data": {"result": result, "outcome": "completed", "cost": "0.001"}}
    merge_patch(kube, "configmap", ns, f"{name}-result-{node}", patch)
    message = {"outcome": "completed", "cost": "0.001", "message": result}
    finish_pod(kube, ns, f"{name}-node-{node}", 0, message, container="node")


def fail_node(kube: ClusterHandle, ns: str, name: str, node: str, why: str) -> None:
    node_job(kube, ns, name, node)
    message = {"outcome": "error", "message": why}
    finish_pod(kube, ns, f"{name}-node-{node}", 1, message, container="node")


def nodes_are(**phases: str) -> Callable[[Obj], bool]:
    return lambda st: {n["id"]: n["phase"] for n in st.get("nodes") or []} == phases


def test_agentdag_running_then_succeeded(kube: ClusterHandle, ns: str, lua: str) -> None:
    name = new_name("dag")
    apply(kube, dag(ns, name, [dag_node("a", "researcher"), dag_node("b", "analyst", "a")]))
    obj = wait_obj(kube, "agentdag", ns, name, "a runs", nodes_are(a="Running", b="Pending"))
    expect(lua, obj, "Progressing", "running a (0/2 nodes succeeded)")
    finish_node(kube, ns, name, "a", "found")
    obj = wait_obj(kube, "agentdag", ns, name, "b runs", nodes_are(a="Succeeded", b="Running"))
    expect(lua, obj, "Progressing", "running b (1/2 nodes succeeded)")
    finish_node(kube, ns, name, "b", "analysed")
    obj = wait_obj(kube, "agentdag", ns, name, "Succeeded", phase_is("Succeeded"))
    expect(lua, obj, "Healthy", "all 2 nodes succeeded")


def test_agentdag_failing_then_failed(kube: ClusterHandle, ns: str, lua: str) -> None:
    name = new_name("dag")
    nodes = [
        dag_node("a", "researcher"),
        dag_node("slow", "researcher"),
        dag_node("b", "analyst", "a"),
    ]
    apply(kube, dag(ns, name, nodes, backoffLimit=0))
    wait_obj(
        kube, "agentdag", ns, name, "running", nodes_are(a="Running", slow="Running", b="Pending")
    )
    fail_node(kube, ns, name, "a", "provider error: 429 rate limited")
    # A node failed, another still finishes: the DAG cannot succeed any more.
    obj = wait_obj(
        kube, "agentdag", ns, name, "failing", nodes_are(a="Failed", slow="Running", b="Skipped")
    )
    assert obj["status"]["phase"] == "Running"
    message = expect(lua, obj, "Degraded", obj["status"]["message"])
    assert message.startswith("node a failed: provider error: 429 rate limited")
    finish_node(kube, ns, name, "slow", "done anyway")
    obj = wait_obj(kube, "agentdag", ns, name, "Failed", phase_is("Failed"))
    expect(lua, obj, "Degraded", "node a failed: provider error: 429 rate limited; skipped b")


def test_agentdag_stopped_is_suspended(kube: ClusterHandle, ns: str, lua: str) -> None:
    name = new_name("dag")
    apply(kube, dag(ns, name, [dag_node("a", "researcher"), dag_node("b", "analyst", "a")]))
    node_job(kube, ns, name, "a")
    merge_patch(kube, "agentdag", ns, name, {"spec": {"stop": True}})
    obj = wait_obj(kube, "agentdag", ns, name, "Stopped", phase_is("Stopped"))
    message = expect(lua, obj, "Suspended", obj["status"]["message"])
    assert message.startswith("stopped by spec.stop")


def test_agentdag_invalid_graph_and_missing_source(kube: ClusterHandle, ns: str, lua: str) -> None:
    cycle = new_name("cycle")
    apply(kube, dag(ns, cycle, [dag_node("a", "researcher", "b"), dag_node("b", "analyst", "a")]))
    obj = wait_obj(kube, "agentdag", ns, cycle, "Failed", phase_is("Failed"))
    assert condition(obj["status"], "Compiled")["status"] == "False"
    expect(lua, obj, "Degraded", obj["status"]["message"])
    assert "cycle detected among nodes: a, b" in obj["status"]["message"]

    late = new_name("late")
    apply(
        kube,
        dag(ns, late, [dag_node("a", "researcher")], source={"configMapRef": {"name": "later"}}),
    )
    obj = wait_obj(
        kube, "agentdag", ns, late, "waiting for its source",
        lambda s: condition(s, "Ready").get("reason") == "SourceNotFound",
    )  # fmt: skip
    message = expect(lua, obj, "Progressing", f"SourceNotFound: {obj['status']['message']}")
    assert "later" in message


# ------------------------------------------------------------------ a spec not yet observed


def test_a_spec_the_operator_has_not_seen_yet(
    kube: ClusterHandle, ns: str, lua: str, operator: OperatorProcess
) -> None:
    """With the operator down, spec changes are not observed: Progressing (a stop:
    Suspended at once). Once it is back, the verdicts follow what it made of them."""
    claw, run, stopping, graph = (new_name(p) for p in ("claw", "run", "stopping", "dag"))
    start_claw(kube, ns, claw)
    start_running(kube, ns, run)
    start_running(kube, ns, stopping)
    apply(kube, dag(ns, graph, [dag_node("a", "researcher")]))
    wait_obj(kube, "clawagent", ns, claw, "Ready", claw_ready)
    wait_obj(kube, "agentdag", ns, graph, "running", phase_is("Running"))

    operator.stop()
    try:
        kube.kubectl("scale", "clawagent", claw, "-n", ns, "--replicas=2")
        merge_patch(kube, "forgerun", ns, run, {"spec": {"activeDeadlineSeconds": 3600}})
        merge_patch(kube, "forgerun", ns, stopping, {"spec": {"stop": True}})
        merge_patch(kube, "agentdag", ns, graph, {"spec": {"parallelism": 2}})
        for resource, name in (("clawagent", claw), ("forgerun", run), ("agentdag", graph)):
            obj = get_json(kube, resource, name, "-n", ns)
            generation = obj["metadata"]["generation"]
            assert obj["status"]["observedGeneration"] == generation - 1
            expect(
                lua, obj, "Progressing",
                f"waiting for the operator to observe generation {generation}"
                f" (status is of generation {generation - 1})",
            )  # fmt: skip
        obj = get_json(kube, "forgerun", stopping, "-n", ns)
        assert obj["status"]["phase"] == "Running"
        expect(lua, obj, "Suspended", "stopping (spec.stop)")
    finally:
        operator.start()

    obj = wait_obj(
        kube, "clawagent", ns, claw, "2/2", lambda s: claw_ready(s) and s.get("ready") == "2/2"
    )
    expect(lua, obj, "Healthy", obj["status"]["message"])
    obj = wait_obj(kube, "forgerun", ns, run, "observed", lambda s: observed(s, 2))
    expect(lua, obj, "Progressing", "running")
    obj = wait_obj(kube, "forgerun", ns, stopping, "Stopped", phase_is("Stopped"))
    expect(lua, obj, "Suspended", obj["status"]["message"])
    obj = wait_obj(kube, "agentdag", ns, graph, "observed", lambda s: observed(s, 2))
    expect(lua, obj, "Progressing", "running a (0/1 nodes succeeded)")


# ------------------------------------------------------------------ installing the patch


@pytest.fixture
def argocd_namespace(kube: ClusterHandle) -> Iterator[str]:
    """The namespace ``argocd`` with a stand-in argocd-cm; never an existing one."""
    if get_json(kube, "namespace", "argocd") is not None:
        pytest.skip("this cluster has a namespace argocd: not touching it")
    kube.kubectl("create", "namespace", "argocd")
    try:
        yield "argocd"
    finally:
        kube.kubectl("delete", "namespace", "argocd", "--wait=false", check=False)


def stand_in_argocd_cm() -> Obj:
    """argocd-cm as Argo CD's install makes it, with a setting of the user's."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "argocd-cm",
            "namespace": "argocd",
            "labels": {
                "app.kubernetes.io/name": "argocd-cm",
                "app.kubernetes.io/part-of": "argocd",
            },
        },
        "data": {"url": "https://argocd.example.com", "timeout.reconciliation": "180s"},
    }


def expect_merged(data: dict[str, str]) -> None:
    assert data["url"] == "https://argocd.example.com"
    assert data["timeout.reconciliation"] == "180s"
    for kind in SCRIPTS:
        assert data[f"resource.customizations.health.neam.dev_{kind}"] == embedded_script(kind)


def test_the_patch_merges_into_an_existing_argocd_cm(
    kube: ClusterHandle, argocd_namespace: str
) -> None:
    """The documented command, against the real API server."""
    apply(kube, stand_in_argocd_cm())
    kube.kubectl(
        "-n", "argocd", "patch", "configmap", "argocd-cm", "--type", "merge",
        "--patch-file", str(PATCH),
    )  # fmt: skip
    cm = get_json(kube, "configmap", "argocd-cm", "-n", "argocd")
    expect_merged(cm["data"])
    assert cm["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"


def test_the_component_patches_argocd_cm_in_a_kustomize_install(
    kube: ClusterHandle, tmp_path: Path
) -> None:
    """``components: [kustomize/argocd/health]`` in the kustomization installing Argo CD."""
    install = tmp_path / "argocd-install"
    install.mkdir()
    (install / "install.yaml").write_text(yaml.safe_dump(stand_in_argocd_cm()))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "argocd",
        "resources": ["install.yaml"],
        "components": [os.path.relpath(HEALTH_DIR, install)],
    }
    (install / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    out = kube.kubectl("kustomize", str(install)).stdout
    (cm,) = [d for d in yaml.safe_load_all(out) if d]
    assert (cm["metadata"]["name"], cm["metadata"]["namespace"]) == ("argocd-cm", "argocd")
    expect_merged(cm["data"])
