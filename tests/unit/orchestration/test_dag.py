"""Scheduling of dag_execute, with a recording runtime (agents are checked by name only).

End-to-end DAG runs against a real stub LLM are in test_orchestration_live.py.
"""

import threading
from types import SimpleNamespace

import pytest
from neam.orchestration.dag import DagError, dag_execute, parse_nodes, topological_levels


class RecordingRuntime:
    def __init__(self, agents=("a", "b", "c"), fail=(), gate=None):
        self.agents = set(agents)
        self.fail = set(fail)
        self.gate = gate
        self.lock = threading.Lock()
        self.calls = []
        self.active = 0
        self.max_active = 0

    def decl(self, name, kind=None):
        if name not in self.agents:
            raise LookupError(f"Agent not found: {name}")
        return SimpleNamespace(name=name, kind="agent")

    def spawn(self, agent, task):
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.calls.append(task.splitlines()[0])
        try:
            if self.gate is not None:
                self.gate.wait()
            if agent in self.fail:
                raise RuntimeError(f"{agent} broke")
            return f"<{task.splitlines()[0]} by {agent}>"
        finally:
            with self.lock:
                self.active -= 1


def _node(i, agent="a", deps=()):
    return {"id": i, "agent": agent, "task": f"task {i}", "depends_on": list(deps)}


def test_levels_follow_kahn_order():
    nodes = parse_nodes(
        [
            _node("report", deps=["research", "analysis"]),
            _node("analysis", deps=["research"]),
            _node("research"),
        ]
    )
    assert topological_levels(nodes) == [["research"], ["analysis"], ["report"]]


def test_results_and_dependency_results_in_task():
    rt = RecordingRuntime()
    results = dag_execute(rt, [_node("r"), _node("x", "b", ["r"]), _node("w", "c", ["r", "x"])])
    assert list(results) == ["r", "x", "w"]
    assert rt.calls == ["task r", "task x", "task w"]
    assert results["r"] == "<task r by a>"


def test_dependents_see_their_dependencies_results():
    seen = {}

    class Rt(RecordingRuntime):
        def spawn(self, agent, task):
            seen[task.splitlines()[0]] = task
            return f"result-of-{task.splitlines()[0]}"

    dag_execute(Rt(), [_node("r"), _node("w", deps=["r"])])
    assert "[r]\nresult-of-task r" in seen["task w"]
    assert seen["task r"] == "task r"


def test_independent_nodes_run_concurrently_up_to_parallelism():
    # Three nodes must be in flight together to pass the barrier; a fourth waits.
    barrier = threading.Barrier(3, timeout=30)
    rt = RecordingRuntime(gate=barrier)
    dag_execute(rt, [_node(str(i)) for i in range(6)], parallelism=3)
    assert rt.max_active == 3


def test_parallelism_one_is_sequential():
    rt = RecordingRuntime()
    dag_execute(rt, [_node(str(i)) for i in range(5)], parallelism=1)
    assert rt.max_active == 1


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        (
            [_node("a", deps=["b"]), _node("b", deps=["a"]), _node("c")],
            "cycle detected among nodes: a, b",
        ),
        ([_node("a", deps=["a"])], "cycle detected among nodes: a"),
        ([_node("a", deps=["ghost"])], "node 'a' depends on unknown id(s): ghost"),
        ([_node("a"), _node("a")], "duplicate node id 'a'"),
        ([{"agent": "a"}], "node #0 has no id"),
        ([_node("a", agent="nobody")], "node 'a': Agent not found: nobody"),
        ("not a list", "expects a list"),
    ],
)
def test_invalid_graphs_are_reported_before_anything_runs(nodes, message):
    rt = RecordingRuntime()
    with pytest.raises(DagError) as info:
        dag_execute(rt, nodes)
    assert message in str(info.value)
    assert rt.calls == []


def test_a_failed_node_stops_its_dependents():
    rt = RecordingRuntime(fail={"b"})
    with pytest.raises(DagError, match="node 'x' failed: b broke"):
        dag_execute(rt, [_node("x", "b"), _node("y", "a", ["x"])], parallelism=1)
    assert rt.calls == ["task x"]


def test_non_text_results_reach_dependents_as_json():
    seen = {}

    class Rt(RecordingRuntime):
        def spawn(self, agent, task):
            seen[task.splitlines()[0]] = task
            return {"outcome": "completed", "iterations": 1}

    dag_execute(Rt(), [_node("f"), _node("g", deps=["f"])])
    assert '[f]\n{"outcome": "completed", "iterations": 1}' in seen["task g"]
