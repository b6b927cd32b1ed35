"""AgentDAG end to end on real pods: each node's pod runs ``neam-dag-node`` against the
OpenAI-compatible stub on 127.0.0.1, stores its result in its ConfigMap, and the pods of
the nodes depending on it read those results."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from neam.providers.pricing import shipped_table
from neam.providers.types import Usage

from tests.support.cluster import ClusterHandle
from tests.support.dag import agentdag, dag_node, wait_dag
from tests.support.llm_stubs import LLMStub, StubReply
from tests.support.operator_harness import apply, get_json, wait_for

USAGE = {"input_tokens": 800, "output_tokens": 150}
CALL_COST = shipped_table().lookup("gpt-4o-mini").cost(Usage(**USAGE))

# Chapter 28's three agents (section 28.6), without the skills and guards.
PROGRAM = """
claw agent researcher {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You are a research assistant. Gather and summarize information."
}

claw agent analyst {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You are a data analyst. Identify patterns and key insights."
}

claw agent writer {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You are a technical writer. Create clear, well-structured reports."
}
"""


def launch(kube: ClusterHandle, ns: str, llm: LLMStub, name: str, nodes: list, **spec: Any) -> None:
    assert llm.api_key is not None
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "llm-provider", "namespace": ns},
        "stringData": {"OPENAI_API_KEY": llm.api_key, "OPENAI_BASE_URL": llm.url},
    }
    dag = agentdag(
        ns, name, nodes, source={"inline": PROGRAM}, secretRefs=[{"name": "llm-provider"}], **spec
    )
    apply(kube, secret, dag)


def prompt(request: Any) -> str:
    return request.json["messages"][-1]["content"]


def system(request: Any) -> str:
    return request.json["messages"][0]["content"]


def test_the_chapter_28_research_analysis_report_dag(
    kube: ClusterHandle, namespace: str, llm: LLMStub
) -> None:
    llm.enqueue(
        StubReply(text="Three trends: agents, evals, small models.", usage=USAGE),
        StubReply(text="Agents drive 60% of the growth.", usage=USAGE),
        StubReply(text="# Executive summary\nAgents lead the market.", usage=USAGE),
    )
    launch(
        kube,
        namespace,
        llm,
        "market",
        [
            {**dag_node("research", "researcher"), "task": "Gather data on market trends"},
            {
                **dag_node("analysis", "analyst", "research"),
                "task": "Analyze the research findings",
            },
            {
                **dag_node("report", "writer", "research", "analysis"),
                "task": "Write executive summary",
            },
        ],
    )
    status = wait_dag(
        kube,
        namespace,
        "market",
        "finished",
        lambda s: s.get("phase") in ("Succeeded", "Failed"),
        240,
    )
    assert status["phase"] == "Succeeded", status
    assert status["progress"] == "3/3"
    assert Decimal(status["totalCost"]) == 3 * CALL_COST > 0
    research, analysis, report = llm.requests
    assert system(research).startswith("You are a research assistant")
    assert prompt(research) == "Gather data on market trends"
    # Each node's prompt carries its dependencies' results, read from their ConfigMaps.
    assert prompt(analysis) == (
        "Analyze the research findings\n\nResults of the steps this one depends on:\n"
        "[research]\nThree trends: agents, evals, small models."
    )
    assert prompt(report) == (
        "Write executive summary\n\nResults of the steps this one depends on:\n"
        "[research]\nThree trends: agents, evals, small models.\n"
        "[analysis]\nAgents drive 60% of the growth."
    )
    assert system(report).startswith("You are a technical writer")
    nodes = {n["id"]: n for n in status["nodes"]}
    assert nodes["report"]["result"] == "# Executive summary\nAgents lead the market."
    assert {n["phase"] for n in nodes.values()} == {"Succeeded"}
    stored = get_json(kube, "configmap", "market-result-report", "-n", namespace)["data"]
    assert stored["result"] == "# Executive summary\nAgents lead the market."
    assert Decimal(stored["cost"]) == CALL_COST


def test_a_fan_out_runs_its_nodes_at_the_same_time(
    kube: ClusterHandle, namespace: str, llm: LLMStub
) -> None:
    parts = ["north", "south", "east"]
    llm.enqueue(
        *(StubReply(text=f"part {i}", usage=USAGE, gate="fan") for i in range(3)),
        StubReply(text="All regions grew.", usage=USAGE),
    )
    launch(
        kube,
        namespace,
        llm,
        "regions",
        [*(dag_node(p, "researcher") for p in parts), dag_node("merge", "writer", *parts)],
        parallelism=3,
    )
    try:
        # All three model calls are in flight together: the nodes run concurrently.
        wait_for(lambda: len(llm.requests) == 3, "three concurrent node calls", timeout=180)
        assert {prompt(r) for r in llm.requests} == {f"do {p}" for p in parts}
    finally:
        llm.release("fan")
    status = wait_dag(
        kube,
        namespace,
        "regions",
        "finished",
        lambda s: s.get("phase") in ("Succeeded", "Failed"),
        240,
    )
    assert status["phase"] == "Succeeded", status
    results = {n["id"]: n["result"] for n in status["nodes"]}
    assert sorted(results[p] for p in parts) == ["part 0", "part 1", "part 2"]
    merge = prompt(llm.requests[-1])
    for p in parts:
        assert f"[{p}]\n{results[p]}" in merge
    assert results["merge"] == "All regions grew."
    # The merge started only after all three had finished.
    nodes = {n["id"]: n for n in status["nodes"]}
    assert nodes["merge"]["startTime"] >= max(nodes[p]["completionTime"] for p in parts)
