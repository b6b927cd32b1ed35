"""ForgeRun end to end against the real control plane, with the operator running.

Pods do not execute under KWOK: runs that need controlled pod outcomes request more
CPU than the node has (their pod stays unscheduled) and the tests write the pod's
status themselves, including the runtime's termination message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.support.claw import ready, wait_claw
from tests.support.cluster import REPO_ROOT, ClusterHandle
from tests.support.dag import wait_dag
from tests.support.operator_harness import (
    BAD_PROGRAM,
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    condition,
    events,
    finish_pod,
    forgerun,
    get_json,
    new_name,
    run_status,
    scratch_namespace,
    source_configmap,
    start,
    wait_for,
    wait_phase,
)


@pytest.fixture
def ns(kube: ClusterHandle, operator: OperatorProcess) -> Iterator[str]:
    with scratch_namespace(kube, "fr") as name:
        yield name


def _children(kube: ClusterHandle, ns: str, run: str) -> dict[str, dict]:
    kinds = {
        "configmap": f"{run}-program",
        "persistentvolumeclaim": f"{run}-workspace",
        "serviceaccount": f"{run}-reporter",
        "role": f"{run}-reporter",
        "rolebinding": f"{run}-reporter",
        "job": f"{run}-forge",
    }
    return {kind: get_json(kube, kind, name, "-n", ns) for kind, name in kinds.items()}


def test_children_and_their_specs(kube: ClusterHandle, ns: str) -> None:
    apply(kube, source_configmap(ns, "src"))
    run = new_name("kids")
    start(
        kube,
        ns,
        run,
        source={"configMapRef": {"name": "src"}},
        agent="second",
        maxIterations=3,
        maxCost="0.75",
        workspace={"size": "2Gi"},
        image="registry.local/neam:test",
        activeDeadlineSeconds=900,
        backoffLimit=0,
        resources=UNSCHEDULABLE,
        env=[{"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "v"}}}],
        secretRefs=[{"name": "more-keys"}],
    )
    kids = _children(kube, ns, run)
    owner = get_json(kube, "forgerun", run, "-n", ns)
    for kind, obj in kids.items():
        assert obj is not None, kind
        (ref,) = obj["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["uid"]) == ("ForgeRun", run, owner["metadata"]["uid"])
    assert "program.neamb" in kids["configmap"]["data"]
    assert kids["persistentvolumeclaim"]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    (rule,) = kids["role"]["rules"]
    assert rule["resources"] == ["forgeruns/status"] and rule["resourceNames"] == [run]
    assert sorted(rule["verbs"]) == ["get", "patch"]
    job = kids["job"]["spec"]
    assert job["activeDeadlineSeconds"] == 900 and job["backoffLimit"] == 0
    pod = job["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "registry.local/neam:test"
    assert c["command"][:5] == [
        "neam-forge",
        "--agent",
        "/neam/program/program.neamb",
        "--name",
        "second",
    ]
    assert c["command"][5:] == [
        "--workspace",
        "/workspace",
        "--verbose",
        "--max-iterations",
        "3",
        "--max-cost",
        "0.75",
    ]
    env = {e["name"]: e for e in c["env"]}
    assert env["OPENAI_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "k", "key": "v"}}
    assert (
        env["NEAM_REPORT_RESOURCE"]["value"] == f"neam.dev/v1alpha1/namespaces/{ns}/forgeruns/{run}"
    )
    assert c["envFrom"] == [{"secretRef": {"name": "more-keys"}}]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["serviceAccountName"] == f"{run}-reporter"
    st = wait_phase(kube, ns, run, "Running")
    assert st["agent"] == "second" and st["maxIterations"] == 3
    assert st["children"] == {
        "program": f"{run}-program",
        "workspace": f"{run}-workspace",
        "job": f"{run}-forge",
        "serviceAccount": f"{run}-reporter",
    }
    assert condition(st, "Compiled")["status"] == "True"
    assert condition(st, "Succeeded")["status"] == "Unknown"
    assert condition(st, "Reconciling")["status"] == "True"
    assert st["observedGeneration"] == owner["metadata"]["generation"]
    assert st["startTime"]


def test_succeeds_from_the_termination_message(kube: ClusterHandle, ns: str) -> None:
    run = new_name("ok")
    start(kube, ns, run, resources=UNSCHEDULABLE, backoffLimit=0)
    wait_phase(kube, ns, run, "Running")
    finish_pod(
        kube,
        ns,
        f"{run}-forge",
        0,
        {"outcome": "completed", "iterations": 3, "total_cost": "0.0123", "message": "tests pass"},
    )
    st = wait_phase(kube, ns, run, "Succeeded")
    assert (st["outcome"], st["iteration"], st["totalCost"]) == ("completed", 3, "0.0123")
    assert st["message"] == "tests pass" and st["completionTime"]
    assert condition(st, "Succeeded")["status"] == "True"
    assert condition(st, "Ready")["status"] == "True"
    assert condition(st, "Reconciling")["status"] == "False"
    kube.kubectl("wait", f"forgerun/{run}", "-n", ns, "--for=condition=Succeeded", "--timeout=5s")
    reasons = {e["reason"] for e in events(kube, ns, run)}
    assert {"Created", "Running", "Succeeded"} <= reasons


def test_failure_takes_outcome_and_message_from_the_pod(kube: ClusterHandle, ns: str) -> None:
    run = new_name("fail")
    start(kube, ns, run, resources=UNSCHEDULABLE, backoffLimit=0)
    finish_pod(
        kube,
        ns,
        f"{run}-forge",
        3,
        {"outcome": "cost_limit", "iterations": 2, "total_cost": "1.5", "message": "over budget"},
    )
    st = wait_phase(kube, ns, run, "Failed")
    assert (st["outcome"], st["iteration"], st["totalCost"]) == ("cost_limit", 2, "1.5")
    assert st["message"] == "over budget"
    assert condition(st, "Succeeded")["status"] == "False"
    assert condition(st, "Stalled")["status"] == "True"
    warnings = [e for e in events(kube, ns, run) if e["type"] == "Warning"]
    assert any(e["reason"] == "Failed" for e in warnings)


def test_failure_without_a_message_is_an_error(kube: ClusterHandle, ns: str) -> None:
    run = new_name("crash")
    start(kube, ns, run, resources=UNSCHEDULABLE, backoffLimit=0)
    finish_pod(kube, ns, f"{run}-forge", 1, "Traceback: boom")
    st = wait_phase(kube, ns, run, "Failed")
    assert st["outcome"] == "error" and "boom" in st["message"]


def test_progress_is_folded_into_the_status(kube: ClusterHandle, ns: str) -> None:
    run = new_name("prog")
    start(kube, ns, run, resources=UNSCHEDULABLE)
    wait_phase(kube, ns, run, "Running")
    progress = {
        "iteration": 2,
        "totalCost": "0.02",
        "currentTask": "write tests",
        "outcome": "running",
    }
    kube.kubectl(
        "patch", "forgerun", run, "-n", ns, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"progress": progress}}),
    )  # fmt: skip

    def folded() -> dict | None:
        st = run_status(kube, ns, run)
        return st if st.get("iteration") == 2 else None

    st = wait_for(folded, "progress folded into the status")
    assert (st["totalCost"], st["currentTask"], st["maxIterations"]) == ("0.02", "write tests", 4)


def test_compile_error_creates_nothing(kube: ClusterHandle, ns: str) -> None:
    apply(kube, source_configmap(ns, "bad", BAD_PROGRAM))
    run = new_name("bad")
    apply(kube, forgerun(ns, run, source={"configMapRef": {"name": "bad"}}))
    st = wait_phase(kube, ns, run, "Failed")
    compiled = condition(st, "Compiled")
    assert (compiled["status"], compiled["reason"]) == ("False", "CompileError")
    assert re.search(r"main\.neam:\d+:\d+: error", compiled["message"]), compiled["message"]
    assert any(
        e["type"] == "Warning" and e["reason"] == "CompileError" for e in events(kube, ns, run)
    )
    assert get_json(kube, "jobs", "-n", ns)["items"] == []
    assert get_json(kube, "pvc", "-n", ns)["items"] == []
    assert get_json(kube, "configmap", f"{run}-program", "-n", ns) is None


def test_unknown_agent(kube: ClusterHandle, ns: str) -> None:
    run = new_name("who")
    apply(kube, forgerun(ns, run, agent="nobody"))
    st = wait_phase(kube, ns, run, "Failed")
    compiled = condition(st, "Compiled")
    assert compiled["reason"] == "AgentNotFound" and "nobody" in compiled["message"]
    assert get_json(kube, "jobs", "-n", ns)["items"] == []


def test_missing_source_waits_then_starts(kube: ClusterHandle, ns: str) -> None:
    run = new_name("late")
    apply(kube, forgerun(ns, run, source={"configMapRef": {"name": "later"}}))
    st = wait_phase(kube, ns, run, "Pending")
    assert condition(st, "Compiled")["reason"] == "SourceNotFound"
    apply(kube, source_configmap(ns, "later"))
    wait_for(
        lambda: get_json(kube, "job", f"{run}-forge", "-n", ns), "the Job after the source appears"
    )


def test_editing_the_source_does_not_change_a_started_run(kube: ClusterHandle, ns: str) -> None:
    apply(kube, source_configmap(ns, "src"))
    run = new_name("snap")
    start(kube, ns, run, source={"configMapRef": {"name": "src"}}, resources=UNSCHEDULABLE)
    before = get_json(kube, "configmap", f"{run}-program", "-n", ns)["data"]
    apply(kube, source_configmap(ns, "src", BAD_PROGRAM))
    old_job = get_json(kube, "job", f"{run}-forge", "-n", ns)
    kube.kubectl("delete", "job", f"{run}-forge", "-n", ns, "--wait=true")

    def recreated() -> dict | None:
        job = get_json(kube, "job", f"{run}-forge", "-n", ns)
        return job if job and job["metadata"]["uid"] != old_job["metadata"]["uid"] else None

    wait_for(recreated, "the deleted Job to be recreated")
    assert get_json(kube, "configmap", f"{run}-program", "-n", ns)["data"] == before
    assert run_status(kube, ns, run)["phase"] in ("Pending", "Running")
    assert any(e["reason"] == "ChildRecreated" for e in events(kube, ns, run))


def test_stop_suspends_the_job(kube: ClusterHandle, ns: str) -> None:
    run = new_name("stop")
    start(kube, ns, run, resources=UNSCHEDULABLE)
    wait_phase(kube, ns, run, "Running")
    kube.kubectl("patch", "forgerun", run, "-n", ns, "--type=merge", "-p", '{"spec":{"stop":true}}')
    st = wait_phase(kube, ns, run, "Stopped")
    assert st["outcome"] == "aborted" and st["completionTime"]
    assert get_json(kube, "job", f"{run}-forge", "-n", ns)["spec"]["suspend"] is True
    assert condition(st, "Succeeded")["status"] == "False"
    undo = kube.kubectl(
        "patch", "forgerun", run, "-n", ns, "--type=merge", "-p", '{"spec":{"stop":false}}',
        check=False,
    )  # fmt: skip
    assert undo.returncode != 0 and "cannot be resumed" in undo.stderr


def test_ttl_deletes_a_finished_run(kube: ClusterHandle, ns: str) -> None:
    run = new_name("ttl")
    start(kube, ns, run, resources=UNSCHEDULABLE, backoffLimit=0, ttlSecondsAfterFinished=1)
    finish_pod(
        kube, ns, f"{run}-forge", 0, {"outcome": "completed", "iterations": 1, "total_cost": "0"}
    )
    wait_for(lambda: get_json(kube, "forgerun", run, "-n", ns) is None, "the TTL to delete the run")


def test_deleting_a_run_removes_its_children(kube: ClusterHandle, ns: str) -> None:
    run = new_name("del")
    start(kube, ns, run, resources=UNSCHEDULABLE)
    kube.kubectl("delete", "forgerun", run, "-n", ns)

    def gone() -> bool:
        return all(obj is None for obj in _children(kube, ns, run).values())

    wait_for(gone, "garbage collection of the children")


def test_printer_columns(kube: ClusterHandle, ns: str) -> None:
    run = new_name("cols")
    start(kube, ns, run, resources=UNSCHEDULABLE, backoffLimit=0, maxIterations=4)
    finish_pod(
        kube,
        ns,
        f"{run}-forge",
        0,
        {"outcome": "completed", "iterations": 3, "total_cost": "0.0042"},
    )
    wait_phase(kube, ns, run, "Succeeded")
    out = kube.kubectl("get", "forgeruns", "-n", ns).stdout.splitlines()
    header = ["NAME", "AGENT", "PHASE", "OUTCOME", "ITER", "MAX", "COST", "BRANCH", "AGE"]
    assert out[0].split() == header
    row = next(line.split() for line in out[1:] if line.startswith(run))
    assert row[1:7] == ["builder", "Succeeded", "completed", "3", "4", "0.0042"]
    short = kube.kubectl("get", "fr", run, "-n", ns).stdout
    assert run in short
    assert run in kube.kubectl("get", "neam", "-n", ns).stdout


def test_job_completed_by_kwok(kube: ClusterHandle, ns: str) -> None:
    """A schedulable pod is run by the KWOK node: the Job completes on its own."""
    run = new_name("kwok")
    start(kube, ns, run)
    st = wait_phase(kube, ns, run, "Succeeded")
    assert st["outcome"] == "completed"


def test_readme_examples(kube: ClusterHandle, ns: str) -> None:
    """examples/k8s/ as the README applies it: `kubectl apply -f examples/k8s/` (the
    ForgeRun pair, and the ClawAgent with its ConfigMap and Secret)."""
    kube.kubectl("apply", "-n", ns, "-f", str(REPO_ROOT / "examples" / "k8s"))
    wait_for(lambda: get_json(kube, "job", "hello-forge", "-n", ns), "the example's Job")
    st = wait_for(
        lambda: run_status(kube, ns, "hello").get("agent") and run_status(kube, ns, "hello"),
        "status",
    )
    assert (st["agent"], st["maxIterations"]) == ("hello_builder", 3)
    (c,) = get_json(kube, "job", "hello-forge", "-n", ns)["spec"]["template"]["spec"]["containers"]
    assert c["envFrom"] == [{"secretRef": {"name": "llm-provider"}}]
    row = kube.kubectl("get", "forgeruns", "-n", ns).stdout.splitlines()[1].split()
    assert row[:2] == ["hello", "hello_builder"]
    claw = wait_claw(kube, ns, "support", "Ready", ready)
    assert claw["agents"] == ["support_bot"] and claw["ready"] == "1/1"
    assert condition(claw, "Authenticated")["status"] == "True"
    # KWOK ends the node pods (they run nothing here): the DAG goes through in order.
    dag = wait_dag(kube, ns, "market-report", "Succeeded", lambda s: s.get("phase") == "Succeeded")
    assert dag["progress"] == "3/3"
    assert [n["id"] for n in dag["nodes"]] == ["research", "analysis", "report"]
