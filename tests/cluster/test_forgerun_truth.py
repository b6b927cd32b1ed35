"""A ForgeRun's status tells the truth (issue 16), against the real control plane.

Pods do not run under KWOK: the tests play the kubelet by writing pod status (see
``run_pod`` / ``finish_pod``); the scheduler, the Job controller, admission and the
API server's validation are the real ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cluster import REPO_ROOT, ClusterHandle
from tests.support.operator_harness import (
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    claims_refused,
    condition,
    events,
    finish_pod,
    forgerun,
    get_json,
    job_pod,
    new_name,
    patch_pod_status,
    run_status,
    scratch_namespace,
    source_configmap,
    start,
    start_running,
    wait_for,
    wait_phase,
)

POLICIES = REPO_ROOT / "manifests" / "policies.yaml"


@pytest.fixture
def ns(kube: ClusterHandle, operator: OperatorProcess) -> Iterator[str]:
    with scratch_namespace(kube, "truth") as name:
        yield name


def wait_reason(kube: ClusterHandle, ns: str, run: str, reason: str) -> dict[str, Any]:
    return wait_for(
        lambda: (s := run_status(kube, ns, run)).get("reason") == reason and s,
        f"ForgeRun {ns}/{run} to show reason {reason}",
    )


def warnings(kube: ClusterHandle, ns: str, run: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in events(kube, ns, run) if e["type"] == "Warning" and e["reason"] == reason]


def waiting_container(reason: str, message: str) -> dict[str, Any]:
    """A pod status as the kubelet writes it when the container cannot be started."""
    return {
        "phase": "Pending",
        "containerStatuses": [
            {
                "name": "forge",
                "image": "neam-test:0",
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {"waiting": {"reason": reason, "message": message}},
            }
        ],
    }


# ------------------------------------------------------------------ pod problems


def test_a_missing_claim_is_the_reason_a_run_waits(kube: ClusterHandle, ns: str) -> None:
    run = new_name("noclaim")
    start(kube, ns, run, workspace={"existingClaim": "nowhere"})
    st = wait_reason(kube, ns, run, "Unschedulable")
    assert st["phase"] == "Pending"
    assert 'persistentvolumeclaim "nowhere" not found' in st["message"]
    assert condition(st, "Ready")["status"] == "False"
    assert len(warnings(kube, ns, run, "Unschedulable")) == 1


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("CreateContainerConfigError", 'secret "llm-keys" not found'),
        ("ImagePullBackOff", 'Back-off pulling image "neam-runtime:missing"'),
        ("ErrImageNeverPull", 'Container image "neam-runtime:missing" is not present'),
    ],
)
def test_a_container_that_cannot_start_is_the_reason_a_run_waits(
    kube: ClusterHandle, ns: str, reason: str, message: str
) -> None:
    run = new_name("nostart")
    start(kube, ns, run, resources=UNSCHEDULABLE)
    pod = job_pod(kube, ns, f"{run}-forge")
    patch_pod_status(kube, ns, pod["metadata"]["name"], waiting_container(reason, message))
    st = wait_reason(kube, ns, run, reason)
    assert (st["phase"], st["message"]) == ("Pending", message)
    assert condition(st, "Succeeded")["status"] == "Unknown"
    (event,) = warnings(kube, ns, run, reason)
    assert message in event["message"]
    # The kubelet writes the same problem again: still one event.
    patch_pod_status(kube, ns, pod["metadata"]["name"], {"message": "again"})
    time.sleep(3)
    assert len(warnings(kube, ns, run, reason)) == 1


# ------------------------------------------------------------------ launch


@pytest.fixture
def no_claims(kube: ClusterHandle, ns: str) -> Iterator[None]:
    with claims_refused(kube, ns):
        yield


def test_a_refused_child_means_no_job(kube: ClusterHandle, ns: str, no_claims: None) -> None:
    run = new_name("refused")
    apply(kube, forgerun(ns, run))
    st = wait_phase(kube, ns, run, "Failed")
    assert st["reason"] == "InvalidSpec" and "\n" not in st["message"]
    assert "claims are not allowed" in st["message"]
    assert st["agent"] == "builder" and condition(st, "Compiled")["status"] == "True"
    assert st["children"]["job"] == f"{run}-forge"
    assert get_json(kube, "job", f"{run}-forge", "-n", ns) is None
    assert len(warnings(kube, ns, run, "InvalidSpec")) == 1


def test_a_child_name_taken_by_someone_else_is_never_adopted(kube: ClusterHandle, ns: str) -> None:
    run = new_name("squat")
    squatter = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": f"{run}-reporter", "namespace": ns},
    }
    apply(kube, squatter)
    apply(kube, forgerun(ns, run))
    st = wait_phase(kube, ns, run, "Failed")
    assert st["reason"] == "ChildConflict"
    assert st["message"] == (
        f"ServiceAccount {run}-reporter already exists and is not controlled by this "
        "ForgeRun; delete it or choose another name"
    )
    assert get_json(kube, "job", f"{run}-forge", "-n", ns) is None
    assert get_json(kube, "rolebinding", f"{run}-reporter", "-n", ns) is not None
    sa = get_json(kube, "serviceaccount", f"{run}-reporter", "-n", ns)
    assert "ownerReferences" not in sa["metadata"]


@pytest.mark.parametrize(
    ("kind", "suffix"),
    [("RoleBinding", "reporter"), ("ConfigMap", "program"), ("PersistentVolumeClaim", "workspace")],
)
def test_a_taken_name_among_the_jobs_siblings_leaves_no_job(
    kube: ClusterHandle, ns: str, kind: str, suffix: str
) -> None:
    """The Job is created last: when any other child cannot be made, there is no Job
    and no pod."""
    run = new_name("sibling")
    squatters = {
        "RoleBinding": {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
        },
        "ConfigMap": {"apiVersion": "v1", "data": {"k": "v"}},
        "PersistentVolumeClaim": {
            "apiVersion": "v1",
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Mi"}},
            },
        },
    }
    name = f"{run}-{suffix}"
    apply(kube, {**squatters[kind], "kind": kind, "metadata": {"name": name, "namespace": ns}})
    apply(kube, forgerun(ns, run))
    st = wait_phase(kube, ns, run, "Failed")
    assert (st["reason"], st["message"]) == (
        "ChildConflict",
        f"{kind} {name} already exists and is not controlled by this ForgeRun; "
        "delete it or choose another name",
    )
    assert get_json(kube, "job", f"{run}-forge", "-n", ns) is None
    pods = get_json(kube, "pods", "-n", ns, "-l", f"job-name={run}-forge")["items"]
    assert all(not p["spec"].get("nodeName") for p in pods), "a pod of the run was scheduled"
    assert len(warnings(kube, ns, run, "ChildConflict")) == 1


def test_a_late_source_its_keys_and_a_child_already_made(kube: ClusterHandle, ns: str) -> None:
    """SourceNotFound is an event; a wrong key lists the keys there are; the fixed
    ConfigMap is picked up at once (watched, not polled); a child the run already owns
    (an interrupted launch) is taken as it is (409, then get)."""
    run = new_name("late")
    apply(kube, forgerun(ns, run, source={"configMapRef": {"name": "prog"}}))
    owner = get_json(kube, "forgerun", run, "-n", ns)
    st = wait_reason(kube, ns, run, "SourceNotFound")
    assert st["phase"] == "Pending" and "prog" in st["message"]
    (event,) = warnings(kube, ns, run, "SourceNotFound")
    assert "prog" in event["message"]

    ref = {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ForgeRun",
        "name": run,
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }
    mine = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": f"{run}-reporter", "namespace": ns, "ownerReferences": [ref]},
    }
    apply(kube, mine)
    made = get_json(kube, "serviceaccount", f"{run}-reporter", "-n", ns)

    wrong = source_configmap(ns, "prog")
    wrong["data"] = {"agent.neam": wrong["data"]["main.neam"], "notes.txt": "x"}
    apply(kube, wrong)
    st = wait_for(
        lambda: (s := run_status(kube, ns, run)).get("message", "").count("keys:") and s,
        "the keys of the ConfigMap in the message",
    )
    assert st["message"] == "ConfigMap prog has no key main.neam (keys: agent.neam, notes.txt)"

    # The back-off is well past 10 s by now: only the ConfigMap watch launches in time.
    time.sleep(12)
    apply(kube, source_configmap(ns, "prog"))
    wait_for(
        lambda: get_json(kube, "job", f"{run}-forge", "-n", ns),
        "the Job after the ConfigMap was fixed",
        timeout=10,
    )
    sa = get_json(kube, "serviceaccount", f"{run}-reporter", "-n", ns)
    assert sa["metadata"]["uid"] == made["metadata"]["uid"]


# ------------------------------------------------------------------ retries


def test_a_retry_is_visible_and_the_newest_message_wins(kube: ClusterHandle, ns: str) -> None:
    run = new_name("retry")
    start_running(kube, ns, run, backoffLimit=1)
    finish_pod(kube, ns, f"{run}-forge", 1, {"outcome": "error", "message": "first attempt broke"})
    st = wait_reason(kube, ns, run, "Retrying")
    assert st["phase"] == "Running"
    assert st["message"].startswith("attempt 2 of 2")
    assert "the previous attempt ended: first attempt broke" in st["message"]
    assert st["attempt"] == 2

    seen = set()
    for _ in range(8):  # the second pod waits unscheduled: the run does not go back
        seen.add(run_status(kube, ns, run)["phase"])
        time.sleep(0.5)
    assert seen == {"Running"}
    assert len(warnings(kube, ns, run, "Retrying")) == 1

    # The Job controller starts the second attempt's pod after its back-off delay.
    second = wait_for(
        lambda: (p := job_pod(kube, ns, f"{run}-forge"))["status"].get("phase") == "Pending" and p,
        "the second attempt's pod",
    )
    finish_pod(
        kube,
        ns,
        f"{run}-forge",
        1,
        {"outcome": "cost_limit", "total_cost": "2", "message": "second attempt over budget"},
        pod_name=second["metadata"]["name"],
    )
    st = wait_phase(kube, ns, run, "Failed")
    assert (st["reason"], st["outcome"]) == ("CostLimit", "cost_limit")
    assert st["message"] == "second attempt over budget"
    assert condition(st, "Stalled")["status"] == "True"


# ------------------------------------------------------------------ outcomes


@pytest.mark.parametrize(
    ("exit_code", "outcome", "phase", "reason"),
    [
        (0, "completed", "Succeeded", "Completed"),
        (1, "iteration_limit", "Failed", "IterationLimit"),
        (1, "aborted", "Failed", "Aborted"),
        (0, "iteration_limit", "Failed", "IterationLimit"),
    ],
)
def test_only_completed_is_success(
    kube: ClusterHandle, ns: str, exit_code: int, outcome: str, phase: str, reason: str
) -> None:
    run = new_name("end")
    start(kube, ns, run, resources=UNSCHEDULABLE, backoffLimit=0)
    finish_pod(kube, ns, f"{run}-forge", exit_code, {"outcome": outcome, "message": "done"})
    st = wait_phase(kube, ns, run, phase)
    assert (st["outcome"], st["reason"]) == (outcome, reason)
    succeeded = condition(st, "Succeeded")
    assert (succeeded["status"], succeeded["reason"]) == (
        "True" if phase == "Succeeded" else "False",
        reason,
    )
    labels = get_json(kube, "forgerun", run, "-n", ns)["metadata"]["labels"]
    assert labels["neam.dev/phase"] == phase


# ------------------------------------------------------------------ findability


def test_runs_are_found_by_phase_and_agent(kube: ClusterHandle, ns: str) -> None:
    failed, running = new_name("lbl-failed"), new_name("lbl-running")
    start(kube, ns, failed, resources=UNSCHEDULABLE, backoffLimit=0)
    finish_pod(kube, ns, f"{failed}-forge", 1, {"outcome": "error", "message": "no"})
    start_running(kube, ns, running)
    wait_phase(kube, ns, failed, "Failed")

    def names(selector: str) -> set[str]:
        out = kube.kubectl("get", "fr", "-n", ns, "-l", selector, "-o", "name").stdout
        return {line.rsplit("/", 1)[-1] for line in out.split()}

    wait_for(lambda: names("neam.dev/phase=Failed") == {failed}, "the Failed label")
    assert names("neam.dev/phase=Running") == {running}
    assert names("neam.dev/agent=builder") == {failed, running}


# ------------------------------------------------------------------ the pod spec


def test_every_security_setting_of_the_pod(kube: ClusterHandle, ns: str) -> None:
    run = new_name("sec")
    job = start(kube, ns, run, resources=UNSCHEDULABLE)
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for c in pod["containers"] + pod.get("initContainers", []):
        assert c["securityContext"] == {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }, c["name"]
    assert pod["serviceAccountName"] == f"{run}-reporter"


# ------------------------------------------------------------------ changes after launch


def test_limits_changed_after_launch_reach_the_job(kube: ClusterHandle, ns: str) -> None:
    run = new_name("limits")
    start_running(kube, ns, run, maxCost=2)
    job = get_json(kube, "job", f"{run}-forge", "-n", ns)
    args = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert args[args.index("--max-cost") + 1] == "2"
    patch = {"spec": {"activeDeadlineSeconds": 1234, "backoffLimit": 4}}
    kube.kubectl("patch", "forgerun", run, "-n", ns, "--type=merge", "-p", json.dumps(patch))
    generation = get_json(kube, "forgerun", run, "-n", ns)["metadata"]["generation"]
    wait_for(
        lambda: run_status(kube, ns, run).get("observedGeneration") == generation,
        "the change to be observed",
    )
    spec = get_json(kube, "job", f"{run}-forge", "-n", ns)["spec"]
    assert (spec["activeDeadlineSeconds"], spec["backoffLimit"]) == (1234, 4)


@pytest.fixture
def without_spec_policy(kube: ClusterHandle) -> Iterator[None]:
    """The install without manifests/policies.yaml's spec policy (only the CRD checks
    maxCost's type then); restored afterwards."""
    kube.kubectl("apply", "-f", str(POLICIES))
    kube.kubectl("delete", "validatingadmissionpolicybinding", "neam-forgerun-spec")
    try:
        yield
    finally:
        kube.kubectl("apply", "-f", str(POLICIES))


def test_a_bad_max_cost_past_the_crd_fails_the_run(
    kube: ClusterHandle, ns: str, without_spec_policy: None
) -> None:
    run = new_name("cost")

    def admitted() -> bool:
        return apply(kube, forgerun(ns, run, maxCost="a lot"), check=False).returncode == 0

    wait_for(admitted, "the spec policy to be lifted")
    st = wait_phase(kube, ns, run, "Failed")
    assert st["reason"] == "InvalidSpec"
    assert st["message"].startswith("spec.maxCost: ")
    (event,) = warnings(kube, ns, run, "InvalidSpec")
    assert event["message"] == st["message"]
    assert get_json(kube, "job", f"{run}-forge", "-n", ns) is None
