"""Deleted children of an unfinished ForgeRun: recreated, or the run fails with a reason.

The operator checks the children of every unfinished run periodically; this module runs
it with ``--resync-seconds 1`` so a deletion is noticed quickly. A deleted Job is also
seen as an event (``test_forgerun.py`` covers that). Pods stay unscheduled (KWOK does not
run them), so the runs sit in Running until a test changes something.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import (
    PROGRAM,
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    condition,
    events,
    get_json,
    install_crds,
    new_name,
    run_status,
    running_operator,
    scratch_namespace,
    source_configmap,
    start,
    start_running,
    wait_for,
    wait_phase,
)

# (kubectl kind, child-name suffix, kind as named in the operator's events)
CHILDREN = [
    ("configmap", "program", "ConfigMap"),
    ("serviceaccount", "reporter", "ServiceAccount"),
    ("role", "reporter", "Role"),
    ("rolebinding", "reporter", "RoleBinding"),
    ("persistentvolumeclaim", "workspace", "PersistentVolumeClaim"),
]


@pytest.fixture(scope="module")
def operator(
    kube: ClusterHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    install_crds(kube)
    log_dir = tmp_path_factory.mktemp("operator")
    with running_operator(kube, log_dir, ("--resync-seconds", "1")) as op:
        yield op


@pytest.fixture
def ns(kube: ClusterHandle, operator: OperatorProcess) -> Iterator[str]:
    with scratch_namespace(kube, "kids") as name:
        yield name


def _uid(obj: dict | None) -> str | None:
    return obj["metadata"]["uid"] if obj else None


def _running(kube: ClusterHandle, ns: str, **spec: object) -> str:
    run = new_name("kid")
    start_running(kube, ns, run, **spec)
    return run


def _replaced(kube: ClusterHandle, ns: str, kind: str, name: str, old_uid: str) -> dict:
    """Wait for ``kind/name`` to exist again as a new object (a new uid)."""

    def check() -> dict | None:
        obj = get_json(kube, kind, name, "-n", ns)
        fresh = obj and obj["metadata"]["uid"] != old_uid
        return obj if fresh and not obj["metadata"].get("deletionTimestamp") else None

    return wait_for(check, f"{kind} {name} to be recreated")


def _report_progress(kube: ClusterHandle, ns: str, run: str) -> None:
    """What the reporter in the pod does after an iteration."""
    progress = {"iteration": 1, "totalCost": "0.01", "outcome": "running"}
    kube.kubectl(
        "patch", "forgerun", run, "-n", ns, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"progress": progress}}),
    )  # fmt: skip
    wait_for(lambda: run_status(kube, ns, run).get("iteration") == 1, "progress folded")


@pytest.mark.parametrize(("kind", "suffix", "event_kind"), CHILDREN)
def test_deleted_child_is_recreated(
    kube: ClusterHandle, ns: str, kind: str, suffix: str, event_kind: str
) -> None:
    run = _running(kube, ns)
    name = f"{run}-{suffix}"
    before = get_json(kube, kind, name, "-n", ns)
    job_uid = _uid(get_json(kube, "job", f"{run}-forge", "-n", ns))
    kube.kubectl("delete", kind, name, "-n", ns, "--wait=false")

    after = _replaced(kube, ns, kind, name, before["metadata"]["uid"])
    (ref,) = after["metadata"]["ownerReferences"]
    assert (ref["kind"], ref["name"]) == ("ForgeRun", run)
    for field in ("data", "rules", "roleRef", "subjects"):
        assert after.get(field) == before.get(field), field
    if kind == "persistentvolumeclaim":
        assert after["spec"]["resources"] == before["spec"]["resources"]
    wait_for(
        lambda: any(
            e["reason"] == "ChildRecreated" and f"{event_kind} {name}" in e["message"]
            for e in events(kube, ns, run)
        ),
        "a ChildRecreated event naming the child",
    )
    # The run goes on with the same Job: nothing was duplicated or restarted.
    assert _uid(get_json(kube, "job", f"{run}-forge", "-n", ns)) == job_uid
    assert len(get_json(kube, "jobs", "-n", ns)["items"]) == 1
    assert run_status(kube, ns, run)["phase"] == "Running"


def test_every_reporter_child_at_once(kube: ClusterHandle, ns: str) -> None:
    """ServiceAccount, Role and RoleBinding deleted together all come back."""
    run = _running(kube, ns)
    name = f"{run}-reporter"
    uids = {k: _uid(get_json(kube, k, name, "-n", ns)) for k in ("sa", "role", "rolebinding")}
    kube.kubectl("delete", "sa,role,rolebinding", name, "-n", ns, "--wait=false")
    for kind, uid in uids.items():
        _replaced(kube, ns, kind, name, uid)
    assert run_status(kube, ns, run)["phase"] == "Running"


def test_used_workspace_deleted_fails_the_run(kube: ClusterHandle, ns: str) -> None:
    """After the run reported progress its workspace holds state: a new, empty claim
    cannot restore it, so the run fails with ChildLost and its Job is suspended."""
    run = _running(kube, ns)
    _report_progress(kube, ns, run)
    pvc = f"{run}-workspace"
    kube.kubectl("delete", "pvc", pvc, "-n", ns, "--wait=false")

    st = wait_phase(kube, ns, run, "Failed")
    assert st["outcome"] == "error"
    for type_, value in (("Succeeded", "False"), ("Stalled", "True"), ("Ready", "False")):
        cond = condition(st, type_)
        assert (cond["status"], cond["reason"]) == (value, "ChildLost"), cond
    assert f"PersistentVolumeClaim {pvc}" in st["message"]
    assert condition(st, "Succeeded")["message"] == st["message"]
    job = get_json(kube, "job", f"{run}-forge", "-n", ns)
    assert job["spec"]["suspend"] is True
    warnings = {e["reason"] for e in events(kube, ns, run) if e["type"] == "Warning"}
    assert "ChildLost" in warnings and "Failed" not in warnings  # one event, not two
    wait_for(lambda: get_json(kube, "pvc", pvc, "-n", ns) is None, "the claim to be gone")
    assert run_status(kube, ns, run)["phase"] == "Failed"  # and it is not recreated


def test_program_lost_when_the_source_changed(kube: ClusterHandle, ns: str) -> None:
    """The snapshot is gone and the source now compiles to another program."""
    apply(kube, source_configmap(ns, "src"))
    run = _running(kube, ns, source={"configMapRef": {"name": "src"}})
    apply(kube, source_configmap(ns, "src", PROGRAM.replace("Build it.", "Build more.")))
    kube.kubectl("delete", "configmap", f"{run}-program", "-n", ns, "--wait=false")

    st = wait_phase(kube, ns, run, "Failed")
    assert condition(st, "Compiled")["reason"] == "ProgramLost"
    assert condition(st, "Stalled")["status"] == "True"
    assert f"ConfigMap {run}-program" in st["message"]
    assert get_json(kube, "job", f"{run}-forge", "-n", ns)["spec"]["suspend"] is True
    assert get_json(kube, "configmap", f"{run}-program", "-n", ns) is None
    assert any(e["reason"] == "ProgramLost" for e in events(kube, ns, run))


def test_program_rebuilt_from_an_unchanged_source(kube: ClusterHandle, ns: str) -> None:
    apply(kube, source_configmap(ns, "src"))
    run = _running(kube, ns, source={"configMapRef": {"name": "src"}})
    name = f"{run}-program"
    before = get_json(kube, "configmap", name, "-n", ns)
    kube.kubectl("delete", "configmap", name, "-n", ns, "--wait=false")
    after = _replaced(kube, ns, "configmap", name, before["metadata"]["uid"])
    assert after["data"] == before["data"]
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]


def test_finished_run_is_left_alone(kube: ClusterHandle, ns: str) -> None:
    """Only unfinished runs are checked: a finished run's deleted child stays deleted."""
    run = new_name("done")
    start(kube, ns, run, resources=UNSCHEDULABLE)
    kube.kubectl("patch", "forgerun", run, "-n", ns, "--type=merge", "-p", '{"spec":{"stop":true}}')
    wait_phase(kube, ns, run, "Stopped")
    kube.kubectl("delete", "sa", f"{run}-reporter", "-n", ns, "--wait=true")
    # Another, unfinished run's deleted child comes back within a check interval; by
    # then a check of the finished run would have recreated its account too.
    other = _running(kube, ns)
    uid = _uid(get_json(kube, "sa", f"{other}-reporter", "-n", ns))
    kube.kubectl("delete", "sa", f"{other}-reporter", "-n", ns, "--wait=false")
    _replaced(kube, ns, "sa", f"{other}-reporter", uid)
    assert get_json(kube, "sa", f"{run}-reporter", "-n", ns) is None
    assert run_status(kube, ns, run)["phase"] == "Stopped"


def test_child_deleted_while_the_operator_was_down(
    kube: ClusterHandle, ns: str, operator: OperatorProcess, tmp_path: Path
) -> None:
    """The first reconcile of each run after a restart checks its children: an operator
    whose periodic check is an hour away still recreates the child at once."""
    run = _running(kube, ns)
    name = f"{run}-reporter"
    uid = _uid(get_json(kube, "rolebinding", name, "-n", ns))
    operator.stop()
    try:
        kube.kubectl("delete", "rolebinding", name, "-n", ns, "--wait=true")
        with running_operator(kube, tmp_path, ("--resync-seconds", "3600")):
            _replaced(kube, ns, "rolebinding", name, uid)
    finally:
        operator.start()
    assert len(get_json(kube, "jobs", "-n", ns)["items"]) == 1
