"""kubectl neam rerun: the new run's name and body."""

from __future__ import annotations

from neam_operator.kubectl_plugin.actions import RERUN_OF, rerun_body, rerun_name

RUN = {
    "apiVersion": "neam.dev/v1alpha1",
    "kind": "ForgeRun",
    "metadata": {
        "name": "hello",
        "namespace": "team",
        "uid": "u1",
        "resourceVersion": "42",
        "labels": {"team": "a", "neam.dev/phase": "Succeeded"},
        "annotations": {
            "note": "keep",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
        "ownerReferences": [{"kind": "AgentDAG", "name": "d", "uid": "u0"}],
    },
    "spec": {"source": {"inline": "x"}, "maxIterations": 3, "stop": True},
    "status": {"phase": "Stopped"},
}


def test_names_count_up_past_the_highest_rerun() -> None:
    assert rerun_name("hello", {"hello", "other"}) == "hello-rerun-1"
    taken = {"hello-rerun-1", "hello-rerun-7", "hello-rerun-x", "hello-2-rerun-9"}
    assert rerun_name("hello", taken) == "hello-rerun-8"
    assert len(rerun_name("a" * 253, set())) <= 253


def test_the_body_keeps_the_spec_without_stop_status_or_owner() -> None:
    new = rerun_body(RUN, "hello-rerun-1")
    assert new == {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ForgeRun",
        "metadata": {
            "name": "hello-rerun-1",
            "namespace": "team",
            "labels": {"team": "a"},
            "annotations": {"note": "keep", RERUN_OF: "hello"},
        },
        "spec": {"source": {"inline": "x"}, "maxIterations": 3},
    }
    assert RUN["spec"]["stop"] is True  # the original is not modified


def test_a_rerun_of_a_rerun_names_the_first_run() -> None:
    second = rerun_body(rerun_body(RUN, "hello-rerun-1"), "hello-rerun-2")
    assert second["metadata"]["annotations"][RERUN_OF] == "hello"
