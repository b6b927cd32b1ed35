"""Deleted children of an unfinished run, against an in-memory API server: what is
recreated, what fails the run, and the periodic check's scheduling."""

from __future__ import annotations

import asyncio
from typing import Any

from neam_operator.builders import forgerun as b
from neam_operator.builders.common import Owner
from neam_operator.handlers.forgerun import ForgeRuns
from neam_operator.kube import path
from neam_operator.models import API_VERSION, ForgeRunSpec
from neam_operator.program import Compiled, compile_forge
from neam_operator.scheduler import Scheduler
from neam_operator.settings import Settings

from tests.support.operator_harness import PROGRAM

NS, RUN = "team-a", "demo"
OWNER = Owner("ForgeRun", RUN, NS, "uid-1")
SETTINGS = Settings.from_env({})
RUN_URL = path(API_VERSION, "ForgeRun", NS, RUN)


class FakeKube:
    """Objects by URL; records writes. Enough of ``Kube`` for the reconciler."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.pods: list[dict[str, Any]] = []

    def put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])] = obj

    async def get(self, url: str, **_: str) -> dict[str, Any] | None:
        return self.objects.get(url)

    async def metadata(self, url: str) -> dict[str, Any] | None:
        obj = self.objects.get(url)
        return None if obj is None else obj["metadata"]

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        url = path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
        if url not in self.objects:
            self.created.append(obj["kind"])
            self.objects[url] = obj
        return self.objects[url]

    async def merge_patch(self, url: str, patch: dict[str, Any]) -> dict[str, Any]:
        obj = self.objects[url.removesuffix("/status")]
        for field, value in patch.items():
            obj.setdefault(field, {}).update(value)
        return obj

    async def request(self, method: str, url: str, body: Any = None, **_: Any) -> dict[str, Any]:
        if url.endswith("/events"):
            self.events.append(body)
            return body
        return {"items": self.pods}


def _program() -> Compiled:
    result = compile_forge(PROGRAM, f"{RUN}.neam", None)
    assert isinstance(result, Compiled)
    return result


def _cluster(**spec: Any) -> tuple[FakeKube, ForgeRuns]:
    """A launched, running run with every child present."""
    spec.setdefault("source", {"inline": PROGRAM})
    kube = FakeKube()
    prog = _program()
    names = b.ForgeRunNames.of(RUN, ForgeRunSpec.model_validate(spec))
    kube.put(
        {
            "apiVersion": API_VERSION,
            "kind": "ForgeRun",
            "metadata": {"name": RUN, "namespace": NS, "uid": "uid-1", "generation": 1},
            "spec": spec,
            "status": {
                "phase": "Running",
                "agent": prog.agent,
                "programHash": prog.program_hash,
                "iteration": 0,
                "children": names.status(),
            },
        }
    )
    for obj in b.children(
        OWNER,
        ForgeRunSpec.model_validate(spec),
        prog.agent,
        prog.neamb,
        prog.program_hash,
        SETTINGS,
    ):
        kube.put(obj)
    job = kube.objects[path("batch/v1", "Job", NS, names.job)]
    job["status"] = {"active": 1}
    return kube, ForgeRuns(kube, SETTINGS)  # type: ignore[arg-type]


def _delete(kube: FakeKube, kind: str, name: str) -> None:
    api = b.RBAC if kind in ("Role", "RoleBinding") else "batch/v1" if kind == "Job" else "v1"
    del kube.objects[path(api, kind, NS, name)]


def _status(kube: FakeKube) -> dict[str, Any]:
    return kube.objects[RUN_URL]["status"]


def _reasons(kube: FakeKube) -> list[str]:
    return [e["reason"] for e in kube.events]


async def test_nothing_missing_nothing_done() -> None:
    kube, runs = _cluster()
    await runs.reconcile((NS, RUN), audit=True)
    assert kube.created == [] and kube.events == []
    runs.forget((NS, RUN))


async def test_only_the_first_reconcile_or_a_resync_checks_children() -> None:
    kube, runs = _cluster()
    await runs.reconcile((NS, RUN))  # first sight in this process: checked
    _delete(kube, "ServiceAccount", f"{RUN}-reporter")
    await runs.reconcile((NS, RUN))  # an ordinary event: not checked
    assert kube.created == []
    await runs.resync((NS, RUN))
    assert kube.created == ["ServiceAccount"]
    runs.forget((NS, RUN))


async def test_missing_children_are_recreated_in_order() -> None:
    kube, runs = _cluster()
    for kind, suffix in (("RoleBinding", "reporter"), ("Role", "reporter"), ("Job", "forge")):
        _delete(kube, kind, f"{RUN}-{suffix}")
    _delete(kube, "ServiceAccount", f"{RUN}-reporter")
    _delete(kube, "ConfigMap", f"{RUN}-program")
    await runs.resync((NS, RUN))
    created = kube.created
    assert sorted(created) == ["ConfigMap", "Job", "Role", "RoleBinding", "ServiceAccount"]
    assert created.index("ServiceAccount") < created.index("Job")
    assert created.index("Role") < created.index("RoleBinding")
    (event,) = kube.events
    assert (event["type"], event["reason"]) == ("Warning", "ChildRecreated")
    assert f"ServiceAccount {RUN}-reporter" in event["message"]
    assert f"Job {RUN}-forge" in event["message"]
    assert _status(kube)["phase"] == "Pending"  # the new Job has no pod yet
    runs.forget((NS, RUN))


async def test_unused_workspace_is_recreated() -> None:
    kube, runs = _cluster()
    kube.pods = [{"spec": {}}]  # never scheduled
    _delete(kube, "PersistentVolumeClaim", f"{RUN}-workspace")
    await runs.resync((NS, RUN))
    assert kube.created == ["PersistentVolumeClaim"]
    runs.forget((NS, RUN))


async def test_workspace_deleted_after_a_pod_was_scheduled_fails_the_run() -> None:
    kube, runs = _cluster()
    kube.pods = [{"spec": {"nodeName": "node-1"}}]
    _delete(kube, "PersistentVolumeClaim", f"{RUN}-workspace")
    _delete(kube, "Role", f"{RUN}-reporter")
    await runs.resync((NS, RUN))
    st = _status(kube)
    assert (st["phase"], st["outcome"]) == ("Failed", "error")
    stalled = next(c for c in st["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "ChildLost")
    assert f"PersistentVolumeClaim {RUN}-workspace" in st["message"]
    assert kube.created == []  # nothing is recreated for a run that cannot go on
    job = kube.objects[path("batch/v1", "Job", NS, f"{RUN}-forge")]
    assert job["spec"]["suspend"] is True
    assert _reasons(kube)[0] == "ChildLost"
    runs.forget((NS, RUN))


async def test_terminating_workspace_with_progress_fails_the_run() -> None:
    kube, runs = _cluster()
    _status(kube)["progress"] = {"iteration": 2}
    pvc = kube.objects[path("v1", "PersistentVolumeClaim", NS, f"{RUN}-workspace")]
    pvc["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await runs.resync((NS, RUN))
    assert _status(kube)["phase"] == "Failed"
    runs.forget((NS, RUN))


async def test_program_lost_when_the_source_changed() -> None:
    kube, runs = _cluster(source={"configMapRef": {"name": "src"}})
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "src", "namespace": NS},
            "data": {"main.neam": PROGRAM.replace("Build it.", "Build more.")},
        }
    )
    _delete(kube, "ConfigMap", f"{RUN}-program")
    await runs.resync((NS, RUN))
    st = _status(kube)
    assert st["phase"] == "Failed"
    compiled = next(c for c in st["conditions"] if c["type"] == "Compiled")
    assert (compiled["status"], compiled["reason"]) == ("False", "ProgramLost")
    assert f"ConfigMap {RUN}-program" in st["message"]
    assert "compiles to a different program" in st["message"]
    assert kube.created == []
    runs.forget((NS, RUN))


async def test_program_lost_when_the_source_is_gone() -> None:
    kube, runs = _cluster(source={"configMapRef": {"name": "src"}})
    _delete(kube, "ConfigMap", f"{RUN}-program")
    await runs.resync((NS, RUN))
    st = _status(kube)
    assert st["phase"] == "Failed"
    assert "source is not available (ConfigMap src not found)" in st["message"]
    runs.forget((NS, RUN))


async def test_a_finished_job_needs_no_children() -> None:
    kube, runs = _cluster()
    job = kube.objects[path("batch/v1", "Job", NS, f"{RUN}-forge")]
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    _delete(kube, "ServiceAccount", f"{RUN}-reporter")
    await runs.resync((NS, RUN))
    assert kube.created == []
    assert _status(kube)["phase"] == "Succeeded"
    runs.forget((NS, RUN))


async def test_unfinished_runs_get_one_periodic_check() -> None:
    kube, runs = _cluster()
    key = (NS, RUN)
    await runs.reconcile(key)
    first = runs.scheduler._handles[key].when()
    await runs.reconcile(key)  # a later event never postpones the pending check
    assert runs.scheduler._handles[key].when() <= first
    loop = asyncio.get_running_loop()
    assert 0.8 * SETTINGS.resync_seconds <= first - loop.time() <= 1.2 * SETTINGS.resync_seconds
    job = kube.objects[path("batch/v1", "Job", NS, f"{RUN}-forge")]
    job["status"] = {"conditions": [{"type": "Failed", "status": "True"}]}
    await runs.reconcile(key)  # finished: no more checks
    assert key not in runs.scheduler._handles
    runs.forget(key)


async def test_scheduler_soon_keeps_an_earlier_timer() -> None:
    fired: list[tuple[str, str]] = []

    async def action(key: tuple[str, str]) -> None:
        fired.append(key)

    s = Scheduler(action)
    s.at(("a", "b"), 0.01)
    s.soon(("a", "b"), 100)
    await asyncio.sleep(0.05)
    assert fired == [("a", "b")]
    s.soon(("a", "b"), 100)
    s.soon(("a", "b"), 0.01)
    await asyncio.sleep(0.05)
    assert fired == [("a", "b"), ("a", "b")]
