"""AgentDAG against the real control plane, with the operator running.

Node pods request more CPU than the KWOK node has, so they stay unscheduled and each
test decides when a node ends: it stores the node's result in its ConfigMap (what the
node's pod does) and marks the pod terminated, as the runtime would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import ClusterHandle
from tests.support.dag import agentdag as _agentdag
from tests.support.dag import dag_node, finish_node, node_phases, wait_dag
from tests.support.operator_harness import (
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    condition,
    events,
    finish_pod,
    get_json,
    new_name,
    scratch_namespace,
    wait_for,
)

PROGRAM = """
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

claw agent writer {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You write."
}

fun done(ctx) { return true; }

forge agent builder {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Build what the report asks for."
  verify: done
}
"""


@pytest.fixture
def ns(kube: ClusterHandle, operator: OperatorProcess) -> Iterator[str]:
    with scratch_namespace(kube, "dag") as name:
        yield name


def agentdag(ns: str, name: str, nodes: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """Node pods stay unscheduled: the tests end them."""
    spec.setdefault("source", {"inline": PROGRAM})
    spec.setdefault("resources", UNSCHEDULABLE)
    return _agentdag(ns, name, nodes, **spec)


def node(id_: str, agent: str = "researcher", *deps: str, **extra: Any) -> dict[str, Any]:
    return dag_node(id_, agent, *deps, **extra)


def jobs(kube: ClusterHandle, ns: str) -> dict[str, dict[str, Any]]:
    found = get_json(kube, "jobs", "-n", ns, "-l", "app.kubernetes.io/component=dag-node")
    return {j["metadata"]["labels"]["neam.dev/dag-node"]: j for j in found["items"]}


def fail(kube: ClusterHandle, ns: str, dag: str, node_id: str, why: str) -> None:
    why_json = {"outcome": "error", "message": why}
    finish_pod(kube, ns, f"{dag}-node-{node_id}", 1, why_json, container="node")


def started(kube: ClusterHandle, ns: str, *ids: str) -> dict[str, dict[str, Any]]:
    return wait_for(
        lambda: (j := jobs(kube, ns)) and set(ids) <= set(j) and j, f"Jobs of {', '.join(ids)}"
    )


# ------------------------------------------------------------------ order and results


def test_nodes_run_in_dependency_order_and_get_their_dependencies_results(
    kube: ClusterHandle, ns: str
) -> None:
    dag = new_name("chain")
    apply(
        kube,
        agentdag(
            ns,
            dag,
            [
                node("research"),
                node("analysis", "analyst", "research"),
                node("report", "writer", "research", "analysis"),
            ],
        ),
    )
    assert set(started(kube, ns, "research")) == {"research"}
    st = wait_dag(kube, ns, dag, "running", lambda s: s.get("phase") == "Running")
    assert node_phases(st) == {"research": "Running", "analysis": "Pending", "report": "Pending"}
    assert st["progress"] == "0/3" and condition(st, "Succeeded")["status"] == "Unknown"
    assert condition(st, "Compiled")["status"] == "True"

    finish_node(kube, ns, dag, "research", "Markets grew 12%.", "0.002")
    analysis = started(kube, ns, "analysis")["analysis"]
    pod = analysis["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["command"] == [
        "neam-dag-node", "--program", "/neam/program/program.neamb", "--agent", "analyst",
        "--node", "analysis", "--task", "do analysis", "--depends-on", "research",
        "--results-dir", "/neam/results",
    ]  # fmt: skip
    results = next(v for v in pod["volumes"] if v["name"] == "results")
    assert results["projected"]["sources"] == [
        {
            "configMap": {
                "name": f"{dag}-result-research",
                "items": [{"key": "result", "path": "research"}],
            }
        }
    ]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["NEAM_RESULT_CONFIGMAP"] == f"{ns}/{dag}-result-analysis"
    assert pod["serviceAccountName"] == f"{dag}-node"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert "report" not in jobs(kube, ns)

    finish_node(kube, ns, dag, "analysis", "Growth comes from speed.", "0.003")
    report = started(kube, ns, "report")["report"]
    sources = next(
        v for v in report["spec"]["template"]["spec"]["volumes"] if v["name"] == "results"
    )
    assert [s["configMap"]["items"][0]["path"] for s in sources["projected"]["sources"]] == [
        "research",
        "analysis",
    ]
    finish_node(kube, ns, dag, "report", "# Report\n" + "x" * 2000, "0.005")
    st = wait_dag(kube, ns, dag, "succeeded", lambda s: s.get("phase") == "Succeeded")
    assert st["progress"] == "3/3" and st["totalCost"] == "0.01"
    nodes = {n["id"]: n for n in st["nodes"]}
    assert nodes["research"]["result"] == "Markets grew 12%."
    assert nodes["report"]["result"] == ("# Report\n" + "x" * 2000)[:256]
    assert nodes["analysis"]["cost"] == "0.003" and nodes["analysis"]["outcome"] == "completed"
    assert nodes["report"]["child"] == f"{dag}-node-report"
    assert (
        condition(st, "Succeeded")["status"] == "True"
        and condition(st, "Ready")["status"] == "True"
    )
    assert st["completionTime"] >= st["startTime"]
    reasons = [e["reason"] for e in events(kube, ns, dag)]
    assert reasons.count("NodeSucceeded") == 3 and "Succeeded" in reasons
    row = kube.kubectl("get", "agentdags", "-n", ns).stdout.splitlines()
    assert row[0].split() == ["NAME", "PHASE", "PROGRESS", "COST", "AGE"]
    assert row[1].split()[:4] == [dag, "Succeeded", "3/3", "0.01"]
    # The node pods may patch only this DAG's result ConfigMaps.
    role = get_json(kube, "role", f"{dag}-node", "-n", ns)
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [f"{dag}-result-{n}" for n in ("research", "analysis", "report")],
            "verbs": ["get", "patch"],
        }
    ]


def test_never_more_than_parallelism_nodes_at_once(kube: ClusterHandle, ns: str) -> None:
    dag = new_name("wide")
    ids = [f"part{i}" for i in range(5)]
    apply(
        kube,
        agentdag(ns, dag, [*(node(i) for i in ids), node("merge", "writer", *ids)], parallelism=2),
    )
    assert set(started(kube, ns, "part0", "part1")) == {"part0", "part1"}
    for done, nxt in (("part0", "part2"), ("part1", "part3"), ("part2", "part4")):
        finish_node(kube, ns, dag, done, f"{done} done")
        running = started(kube, ns, nxt)
        active = [n for n, j in running.items() if not (j.get("status") or {}).get("succeeded")]
        assert len(active) <= 2, active
    for last in ("part3", "part4"):
        finish_node(kube, ns, dag, last, f"{last} done")
    started(kube, ns, "merge")
    finish_node(kube, ns, dag, "merge", "merged")
    wait_dag(kube, ns, dag, "succeeded", lambda s: s.get("phase") == "Succeeded")


# ------------------------------------------------------------------ failure and stop


def test_a_failed_node_fails_the_dag_and_skips_the_rest(kube: ClusterHandle, ns: str) -> None:
    dag = new_name("fail")
    apply(
        kube,
        agentdag(
            ns,
            dag,
            [node("a"), node("slow"), node("b", "analyst", "a"), node("c", "writer", "b")],
            backoffLimit=0,
        ),
    )
    started(kube, ns, "a", "slow")
    fail(kube, ns, dag, "a", "provider error: 429 rate limited")
    st = wait_dag(kube, ns, dag, "failing", lambda s: node_phases(s).get("a") == "Failed")
    assert st["phase"] == "Running"  # "slow" still runs and may finish
    assert node_phases(st) == {"a": "Failed", "slow": "Running", "b": "Skipped", "c": "Skipped"}
    finish_node(kube, ns, dag, "slow", "finished anyway")
    st = wait_dag(kube, ns, dag, "failed", lambda s: s.get("phase") == "Failed")
    assert st["message"] == "node a failed: provider error: 429 rate limited; skipped b, c"
    assert condition(st, "Stalled")["status"] == "True"
    assert set(jobs(kube, ns)) == {"a", "slow"}
    assert "NodeFailed" in [e["reason"] for e in events(kube, ns, dag) if e["type"] == "Warning"]


def test_stop_stops_running_nodes_and_skips_the_rest(kube: ClusterHandle, ns: str) -> None:
    dag = new_name("stop")
    apply(kube, agentdag(ns, dag, [node("a"), node("b", "analyst", "a")]))
    started(kube, ns, "a")
    kube.kubectl("patch", "agentdag", dag, "-n", ns, "--type=merge", "-p", '{"spec":{"stop":true}}')
    st = wait_dag(kube, ns, dag, "stopped", lambda s: s.get("phase") == "Stopped")
    assert jobs(kube, ns)["a"]["spec"]["suspend"] is True
    assert node_phases(st) == {"a": "Stopped", "b": "Skipped"}
    assert st["message"].startswith("stopped by spec.stop; skipped b")
    assert condition(st, "Succeeded")["status"] == "False"


# ------------------------------------------------------------------ what is checked first


@pytest.mark.parametrize(
    ("nodes", "reason", "message"),
    [
        (
            [node("a", "researcher", "b"), node("b", "analyst", "a")],
            "InvalidGraph",
            "cycle detected among nodes: a, b",
        ),
        ([node("a", "ghost")], "AgentNotFound", "node a: no agent 'ghost'"),
        ([node("a", "writer", run=True)], "AgentNotFound", "run: true needs a forge agent"),
    ],
)
def test_an_invalid_graph_is_reported_before_anything_starts(
    kube: ClusterHandle, ns: str, nodes: list[dict[str, Any]], reason: str, message: str
) -> None:
    dag = new_name("bad")
    apply(kube, agentdag(ns, dag, nodes))
    st = wait_dag(kube, ns, dag, "failed", lambda s: s.get("phase") == "Failed")
    compiled = condition(st, "Compiled")
    assert (compiled["status"], compiled["reason"]) == ("False", reason)
    assert message in compiled["message"]
    assert jobs(kube, ns) == {}
    assert get_json(kube, "configmaps", "-n", ns, "-l", f"neam.dev/agentdag={dag}")["items"] == []


def test_the_crd_rejects_duplicate_ids_and_unknown_dependencies(
    kube: ClusterHandle, ns: str
) -> None:
    dup = apply(kube, agentdag(ns, "dup", [node("a"), node("a")]), check=False)
    assert "node ids must be unique" in dup.stderr
    unknown = apply(kube, agentdag(ns, "unk", [node("a", "researcher", "nope")]), check=False)
    assert "dependsOn must name existing node ids" in unknown.stderr


# ------------------------------------------------------------------ restart and run nodes


def test_a_restarted_operator_continues_without_rerunning_or_duplicating(
    kube: ClusterHandle, ns: str, operator: OperatorProcess
) -> None:
    dag = new_name("resume")
    apply(kube, agentdag(ns, dag, [node("a"), node("b", "analyst", "a"), node("c", "writer", "b")]))
    started(kube, ns, "a")
    finish_node(kube, ns, dag, "a", "A")
    first = started(kube, ns, "b")
    uids = {n: j["metadata"]["uid"] for n, j in first.items()}
    operator.stop()
    finish_node(kube, ns, dag, "b", "B")  # while the operator is down
    operator.start()
    after = started(kube, ns, "c")
    assert {n: after[n]["metadata"]["uid"] for n in uids} == uids  # nothing re-created
    assert len(get_json(kube, "jobs", "-n", ns)["items"]) == 3
    finish_node(kube, ns, dag, "c", "C")
    st = wait_dag(kube, ns, dag, "succeeded", lambda s: s.get("phase") == "Succeeded")
    assert [n["result"] for n in st["nodes"]] == ["A", "B", "C"]


def test_a_run_node_is_a_child_forgerun_with_its_dependencies_results(
    kube: ClusterHandle, ns: str, tmp_path: Path
) -> None:
    dag = new_name("build")
    apply(
        kube,
        agentdag(
            ns,
            dag,
            [node("spec"), node("build", "builder", "spec", run=True)],
            env=[{"name": "NEAM_LLM_MAX_RETRIES", "value": "2"}],
        ),
    )
    started(kube, ns, "spec")
    finish_node(kube, ns, dag, "spec", "Build a CLI that greets.")
    run = wait_for(lambda: get_json(kube, "forgerun", f"{dag}-build", "-n", ns), "the ForgeRun")
    assert run["metadata"]["ownerReferences"][0]["kind"] == "AgentDAG"
    assert run["spec"]["agent"] == "builder"
    assert run["spec"]["task"] == (
        "do build\n\nResults of the steps this one depends on:\n[spec]\nBuild a CLI that greets."
    )
    assert run["spec"]["env"] == [{"name": "NEAM_LLM_MAX_RETRIES", "value": "2"}]
    assert run["spec"]["resources"] == UNSCHEDULABLE
    # The ForgeRun's Job ends as the runtime would end it.
    wait_for(lambda: get_json(kube, "job", f"{dag}-build-forge", "-n", ns), "its Job")
    message = {"outcome": "completed", "iterations": 3, "total_cost": "0.04", "message": "built"}
    finish_pod(kube, ns, f"{dag}-build-forge", 0, message)
    st = wait_dag(kube, ns, dag, "succeeded", lambda s: s.get("phase") == "Succeeded")
    build = next(n for n in st["nodes"] if n["id"] == "build")
    assert (build["iteration"], build["cost"], build["outcome"]) == (3, "0.04", "completed")
    assert build["child"] == f"{dag}-build"
    assert st["totalCost"] == "0.041"
    stored = get_json(kube, "configmap", f"{dag}-result-build", "-n", ns)["data"]
    assert json.loads(stored["result"]) == {
        "outcome": "completed",
        "iterations": 3,
        "total_cost": "0.04",
        "message": "built",
    }


def test_the_deadline_stops_the_dag_and_the_ttl_deletes_it(kube: ClusterHandle, ns: str) -> None:
    dag = new_name("late")
    apply(kube, agentdag(ns, dag, [node("a"), node("b", "analyst", "a")], activeDeadlineSeconds=2))
    started(kube, ns, "a")
    st = wait_dag(kube, ns, dag, "failed", lambda s: s.get("phase") == "Failed")
    assert condition(st, "Succeeded")["reason"] == "DeadlineExceeded"
    assert node_phases(st) == {"a": "Stopped", "b": "Skipped"}
    assert jobs(kube, ns)["a"]["spec"]["suspend"] is True

    short = new_name("short")
    apply(kube, agentdag(ns, short, [node("only")], ttlSecondsAfterFinished=1))
    started(kube, ns, "only")
    finish_node(kube, ns, short, "only", "done")
    wait_for(lambda: get_json(kube, "agentdag", short, "-n", ns) is None, "TTL deletion")
