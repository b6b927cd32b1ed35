"""Which existing children a resource waits for rather than refusing."""

from __future__ import annotations

from typing import Any

from neam_operator.builders.common import Owner
from neam_operator.stale import left_by_predecessor

OWNER = Owner("ForgeRun", "hello", "team", "uid-new")


def child(**meta: Any) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "metadata": {"name": "hello-reporter", **meta}}


def ref(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {"kind": kind, "name": name, "uid": uid, "controller": True}


def test_a_child_of_an_earlier_resource_of_the_same_name_is_waited_for() -> None:
    assert left_by_predecessor(child(ownerReferences=[ref("ForgeRun", "hello", "uid-old")]), OWNER)


def test_a_child_being_deleted_is_waited_for() -> None:
    assert left_by_predecessor(child(deletionTimestamp="2026-01-01T00:00:00Z"), OWNER)


def test_anything_else_is_a_conflict() -> None:
    assert not left_by_predecessor(child(), OWNER)
    assert not left_by_predecessor(child(ownerReferences=[ref("ForgeRun", "other", "x")]), OWNER)
    assert not left_by_predecessor(child(ownerReferences=[ref("AgentDAG", "hello", "x")]), OWNER)
