"""The operator's /metrics, scraped over HTTP while it drives runs on the real API server:
reconciles counted, resources by phase kept current (deletions too), LLM cost counted
once per run across re-delivered events and restarts (and a DAG's once per node), API
errors counted."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.apiserver_metrics import apiserver, by
from tests.support.cluster import ClusterHandle
from tests.support.dag import agentdag, dag_node, finish_node, wait_dag
from tests.support.operator_harness import (
    PROGRAM,
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    finish_pod,
    forgerun,
    get_json,
    install_crds,
    new_name,
    run_status,
    scratch_namespace,
    start,
    start_running,
    wait_for,
    wait_phase,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def ns(kube: ClusterHandle) -> Iterator[str]:
    install_crds(kube)
    with scratch_namespace(kube, "metrics") as name:
        yield name


@pytest.fixture(scope="module")
def op(
    kube: ClusterHandle, ns: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """An operator that watches only ``ns``, so the gauges count this module's runs."""
    process = OperatorProcess(kube, tmp_path_factory.mktemp("operator"), ("--namespace", ns))
    process.start()
    try:
        yield process
    finally:
        process.stop()


def scrape(op: OperatorProcess) -> Samples:
    url = f"http://127.0.0.1:{op.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not exported (a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def resources(op: OperatorProcess, kind: str = "ForgeRun") -> dict[str, float]:
    """The resources gauge of ``kind``, by phase, without the phases at 0."""
    return {
        dict(labels)["phase"]: v
        for (name, labels), v in scrape(op).items()
        if name == "neam_operator_resources" and dict(labels)["kind"] == kind and v
    }


def scraped_until(op: OperatorProcess, what: str, check: Callable[[Samples], object]) -> Samples:
    def probe() -> Samples | None:
        samples = scrape(op)
        return samples if check(samples) else None

    return wait_for(probe, what)


def cost(samples: Samples, ns: str, kind: str = "ForgeRun") -> float:
    return sample(samples, "neam_operator_llm_cost_usd_total", namespace=ns, kind=kind)


def succeeded(samples: Samples, ns: str, kind: str = "ForgeRun") -> float:
    labels = {"namespace": ns, "kind": kind, "phase": "Succeeded"}
    return sample(samples, "neam_operator_runs_finished_total", **labels)


def reconciles(samples: Samples, result: str = "success") -> float:
    return sample(samples, "neam_operator_reconciles_total", kind="ForgeRun", result=result)


def end(kube: ClusterHandle, ns: str, run: str, total_cost: str) -> None:
    message = {"outcome": "completed", "iterations": 1, "total_cost": total_cost}
    finish_pod(kube, ns, f"{run}-forge", 0, message)


def test_runs_through_their_phases_and_cost_counted_once(
    kube: ClusterHandle, ns: str, op: OperatorProcess
) -> None:
    running, pending = new_name("run"), new_name("wait")
    start_running(kube, ns, running, backoffLimit=0)
    start(kube, ns, pending, resources=UNSCHEDULABLE, backoffLimit=0)
    wait_for(lambda: resources(op) == {"Running": 1, "Pending": 1}, "one run Running, one Pending")
    samples = scrape(op)
    assert reconciles(samples) > 0
    labels = {"kind": "ForgeRun", "result": "success"}
    assert sample(samples, "neam_operator_reconcile_duration_seconds_count", **labels) == (
        reconciles(samples)
    )
    assert sample(samples, "neam_operator_delayed_reconciles", kind="ForgeRun", state="waiting")
    in_flight = "neam_operator_reconciles_in_flight"
    scraped_until(op, "the reconciles done", lambda s: sample(s, in_flight, kind="ForgeRun") == 0)

    end(kube, ns, running, "0.25")
    wait_phase(kube, ns, running, "Succeeded")
    samples = scraped_until(op, "the cost of the ended run", lambda s: cost(s, ns) == 0.25)
    assert succeeded(samples, ns) == 1
    wait_for(lambda: resources(op) == {"Succeeded": 1, "Pending": 1}, "Succeeded counted")

    # Re-delivered events of the ended run are reconciled, and count nothing again.
    before = reconciles(samples)
    kube.kubectl("annotate", "forgerun", running, "-n", ns, "touched=1")
    kube.kubectl("annotate", "forgerun", running, "-n", ns, "touched=2", "--overwrite")
    samples = scraped_until(op, "the touched run reconciled", lambda s: reconciles(s) > before)
    assert (cost(samples, ns), succeeded(samples, ns)) == (0.25, 1)

    # The other run ends while the operator is down: the restarted operator writes its
    # end and counts it; the run that ended before the restart is not counted again.
    op.stop()
    end(kube, ns, pending, "0.5")
    op.start()
    wait_phase(kube, ns, pending, "Succeeded")
    samples = scraped_until(op, "the cost of the run ended while down", lambda s: cost(s, ns))
    assert (cost(samples, ns), succeeded(samples, ns)) == (0.5, 1)
    wait_for(lambda: resources(op) == {"Succeeded": 2}, "both runs seen as Succeeded")

    # A second restart sees two ended runs and counts no cost at all.
    op.stop()
    op.start()
    wait_for(lambda: resources(op) == {"Succeeded": 2}, "both runs seen after the restart")
    samples = scraped_until(op, "the runs reconciled", lambda s: reconciles(s) >= 2)
    assert (cost(samples, ns), succeeded(samples, ns)) == (0, 0)

    # A deleted run leaves the gauge.
    kube.kubectl("delete", "forgerun", running, "-n", ns, "--wait=true")
    wait_for(lambda: resources(op) == {"Succeeded": 1}, "the deleted run gone from the gauge")


def test_api_errors_are_counted(kube: ClusterHandle, ns: str, op: OperatorProcess) -> None:
    """A child name taken by someone else: the API server answers the create with 409,
    and the run is rejected (ChildConflict)."""
    run = new_name("squat")
    squatter = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": f"{run}-reporter", "namespace": ns},
    }
    labels = {"verb": "create", "kind": "ServiceAccount", "code": "409"}
    before = scrape(op)
    apply(kube, squatter)
    apply(kube, forgerun(ns, run))
    st = wait_phase(kube, ns, run, "Failed")
    assert st["reason"] == "ChildConflict"
    after = scraped_until(
        op,
        "the rejected reconcile",
        lambda s: reconciles(s, "rejected") > reconciles(before, "rejected"),
    )
    errors = "neam_operator_api_errors_total"
    assert sample(after, errors, **labels) > sample(before, errors, **labels)


def test_a_dags_cost_is_its_pod_nodes_and_its_run_nodes_forgeruns(
    kube: ClusterHandle, ns: str, op: OperatorProcess
) -> None:
    """A pod node's cost counts under AgentDAG, a run node's under its ForgeRun: the
    DAG's totalCost (both) is never counted on top."""
    dag = new_name("dag")
    nodes = [dag_node("spec", "second"), dag_node("build", "builder", "spec", run=True)]
    before = scrape(op)
    apply(kube, agentdag(ns, dag, nodes, source={"inline": PROGRAM}, resources=UNSCHEDULABLE))
    wait_for(lambda: get_json(kube, "job", f"{dag}-node-spec", "-n", ns), "the pod node's Job")
    finish_node(kube, ns, dag, "spec", "Build it.", cost="0.125")
    wait_for(lambda: get_json(kube, "job", f"{dag}-build-forge", "-n", ns), "the run node's Job")
    end(kube, ns, f"{dag}-build", "0.5")
    st = wait_dag(kube, ns, dag, "succeeded", lambda s: s.get("phase") == "Succeeded")
    assert st["totalCost"] == "0.625"
    after = scraped_until(
        op,
        "the DAG's end counted",
        lambda s: succeeded(s, ns, "AgentDAG") > succeeded(before, ns, "AgentDAG"),
    )
    assert cost(after, ns, "AgentDAG") - cost(before, ns, "AgentDAG") == 0.125
    assert cost(after, ns) - cost(before, ns) == 0.5
    assert succeeded(after, ns, "AgentDAG") - succeeded(before, ns, "AgentDAG") == 1
    wait_for(lambda: resources(op, "AgentDAG") == {"Succeeded": 1}, "the DAG seen Succeeded")


def test_a_pending_run_is_not_polled(kube: ClusterHandle, ns: str, op: OperatorProcess) -> None:
    """Why a pod cannot start reaches the operator as pod events: once the run shows the
    reason, nothing reconciles it again until something changes (its next check is the
    pending timeout, minutes away), however many runs wait."""
    run = new_name("idle")
    start(kube, ns, run, resources=UNSCHEDULABLE, backoffLimit=0)
    wait_for(
        lambda: run_status(kube, ns, run).get("reason") == "Unschedulable",
        "the run to show its pod's reason",
    )
    time.sleep(2)  # the last events of the launch (the Job's status, the pod's condition)
    in_flight = "neam_operator_reconciles_in_flight"
    settled = scraped_until(
        op, "no reconcile running", lambda s: not sample(s, in_flight, kind="ForgeRun")
    )
    time.sleep(8)  # polling with backoff would have reconciled it at 1, 2 and 4 s
    assert reconciles(scrape(op)) == reconciles(settled)
    assert run_status(kube, ns, run)["reason"] == "Unschedulable"


def forgerun_reads(kube: ClusterHandle) -> float:
    """GETs of single ForgeRuns the API server has served (all clients, all codes)."""
    name = "apiserver_request_total"
    served = by(apiserver(kube, [name]), name, ("verb", "resource", "subresource"))
    return served.get(("GET", "forgeruns", ""), 0.0)


def all_reconciles(samples: Samples) -> float:
    return sum(reconciles(samples, r) for r in ("success", "rejected", "error"))


def reads_while_launching(kube: ClusterHandle, ns: str, op: OperatorProcess) -> float:
    """Create a run whose program does not compile (its launch is its one reconcile: no
    Job, no later events) and count the ForgeRun reads until it is reconciled."""
    in_flight = "neam_operator_reconciles_in_flight"
    settled = scraped_until(
        op, "no reconcile running", lambda s: not sample(s, in_flight, kind="ForgeRun")
    )
    before, done = forgerun_reads(kube), all_reconciles(settled)
    run = new_name("bad")
    bad = forgerun(ns, run, source={"inline": "forge agent {"})
    kube.kubectl("create", "-f", "-", input=json.dumps(bad))  # a create reads nothing
    scraped_until(op, "the launch reconciled", lambda s: all_reconciles(s) > done)
    reads = forgerun_reads(kube) - before
    assert run_status(kube, ns, run)["reason"] == "CompileError"
    return reads


def test_a_new_run_is_launched_from_its_watch_event(
    kube: ClusterHandle, ns: str, op: OperatorProcess
) -> None:
    """A free launcher takes the new run's body from the watch event: nothing reads the
    run before it is launched. The API server counts the reads of every client, so a
    read by something else in the cluster can spoil an attempt; it may not spoil all
    three, while reading the run afresh reads it in every one."""
    deltas = []
    while len(deltas) < 3 and 0 not in deltas:
        deltas.append(reads_while_launching(kube, ns, op))
    assert 0 in deltas, f"reads of ForgeRuns during each launch: {deltas}"
