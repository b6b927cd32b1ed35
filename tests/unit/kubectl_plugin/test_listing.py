"""kubectl neam list: filters, order and columns."""

from __future__ import annotations

from typing import Any

import pytest
from neam_operator.kubectl_plugin.errors import PluginError
from neam_operator.kubectl_plugin.listing import PHASES, agents, phase_filter, render, select
from neam_operator.kubectl_plugin.resources import AGENTDAG, CLAWAGENT, FORGERUN


def _run(name: str, created: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "creationTimestamp": created},
        "spec": {"agent": "spec_agent"},
        "status": status,
    }


RUNS = [
    _run("late", "2026-01-01T00:00:00Z", startTime="2026-01-01T00:05:00Z", phase="Running"),
    _run("early", "2026-01-01T00:03:00Z", startTime="2026-01-01T00:01:00Z", phase="Failed"),
    _run("unstarted", "2026-01-01T00:02:00Z", phase="Pending", agent="other"),
]


def test_phases_come_from_the_models() -> None:
    assert PHASES[FORGERUN] == ("Pending", "Running", "Succeeded", "Failed", "Stopped")
    assert PHASES[CLAWAGENT] == ("Pending", "Ready", "Degraded", "Failed")
    assert phase_filter(FORGERUN, ["failed,RUNNING", "Stopped"]) == {"Failed", "Running", "Stopped"}
    with pytest.raises(PluginError, match="unknown forgerun phase done; phases are Pending"):
        phase_filter(FORGERUN, ["done"])


def test_sorted_by_start_time_then_creation() -> None:
    assert [r["metadata"]["name"] for r in select(FORGERUN, RUNS, None, set())] == [
        "early",
        "unstarted",
        "late",
    ]


def test_agent_and_phase_filters() -> None:
    # the status' agent wins; without one the spec's counts
    assert [r["metadata"]["name"] for r in select(FORGERUN, RUNS, "other", set())] == ["unstarted"]
    assert len(select(FORGERUN, RUNS, "spec_agent", set())) == 2
    assert [r["metadata"]["name"] for r in select(FORGERUN, RUNS, None, {"Failed"})] == ["early"]


def test_agents_of_dags_and_claws() -> None:
    dag = {"spec": {"nodes": [{"id": "a", "agent": "x"}, {"id": "b", "agent": "y"}]}}
    assert agents(AGENTDAG, dag) == ["x", "y"]
    assert agents(CLAWAGENT, {"spec": {"agents": ["s"]}, "status": {"agents": ["t"]}}) == ["t"]


def test_columns_with_and_without_namespaces() -> None:
    run = _run("r", "2026-01-01T00:00:00Z", agent="builder", phase="Succeeded", iteration=3)
    run["status"].update(
        maxIterations=4,
        totalCost="0.0042",
        startTime="2026-01-01T00:00:00Z",
        completionTime="2026-01-01T00:01:10Z",
    )
    assert render(FORGERUN, [run], False).splitlines() == [
        "NAME   AGENT     PHASE       ITER   COST     DURATION",
        "r      builder   Succeeded   3/4    0.0042   1m10s",
    ]
    assert render(FORGERUN, [run], True).splitlines()[1].startswith("ns          r      builder")
