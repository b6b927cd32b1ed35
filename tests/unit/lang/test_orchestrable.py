"""Orchestrable hooks: on_spawn before and on_delegate after every spawn and DAG node,
those of the calling agent (or, at the top level, of the spawned agent)."""

from __future__ import annotations

import pytest
from neam.lang import Interpreter, NeamRuntimeError

from tests.unit.lang.helpers import RecordingHost, program

AGENTS = """
agent boss { provider: "openai" model: "m" }
agent worker { provider: "openai" model: "m" }
agent helper { provider: "openai" model: "m" }

impl Orchestrable for boss {
  fn on_spawn(self, child) { emit "boss spawns " + child; }
  fn on_delegate(self, result) { emit "boss got " + result; }
}

impl Orchestrable for worker {
  fn on_spawn(self, child) { emit self + " spawned as " + child; }
  fn on_delegate(self, result) { emit self + " delivered " + result; }
}

trait Lead { fn lead(self, task); fn plan(self); }
impl Lead for boss {
  fn lead(self, task) {
    emit "before";
    let r = spawn worker(task);
    emit "after";
    return r;
  }
  fn plan(self) {
    return dag_execute([
      {"id": "a", "agent": "worker", "task": "one"},
      {"id": "b", "agent": "helper", "task": "two", "depends_on": ["a"]}
    ]);
  }
}

skill delegate {
  description: "Hand a task to the worker"
  params: { task: string }
  impl(task) { return spawn("worker", task); }
}
"""


def run(src: str) -> tuple[list, RecordingHost]:
    out: list = []
    host = RecordingHost()
    Interpreter(program(AGENTS + src), host=host, emit=out.append).run_toplevel()
    return out, host


def test_the_calling_agents_hooks_surround_a_spawn_in_order() -> None:
    out, host = run('emit boss.lead("build it");')
    assert out == [
        "before",
        "boss spawns worker",
        "boss got worker did build it",
        "after",
        "worker did build it",
    ]
    assert host.calls == [("spawn", "worker", "build it")]


def test_top_level_spawns_tell_the_spawned_agent_in_both_forms() -> None:
    out, _ = run('spawn worker("x"); let name = "worker"; spawn(name, "y"); spawn helper("z");')
    assert out == [
        "worker spawned as worker",
        "worker delivered worker did x",
        "worker spawned as worker",
        "worker delivered worker did y",
    ]  # helper implements no Orchestrable: nothing for it


def test_every_dag_node_is_surrounded_by_the_callers_hooks() -> None:
    out, host = run("emit boss.plan();")
    assert out == [
        "boss spawns worker",
        "boss got worker",
        "boss spawns helper",
        "boss got helper",
        {"a": "worker", "b": "helper"},
    ]
    assert host.calls == [("dag", ["a", "b"])]


def test_a_top_level_dag_tells_each_orchestrable_node_agent() -> None:
    out, _ = run('dag_execute([{"id": "a", "agent": "worker"}, {"id": "b", "agent": "helper"}]);')
    assert out == ["worker spawned as worker", "worker delivered worker"]


def test_a_skill_runs_as_its_agent() -> None:
    out: list = []
    interp = Interpreter(program(AGENTS), host=RecordingHost(), emit=out.append)
    assert interp.call_skill("delegate", {"task": "t"}, agent="boss") == "worker did t"
    assert out == ["boss spawns worker", "boss got worker did t"]
    out.clear()
    interp.call_skill("delegate", {"task": "t"})  # no agent: the worker is told
    assert out == ["worker spawned as worker", "worker delivered worker did t"]


def test_spawns_inside_a_hook_fire_no_hooks() -> None:
    src = """
    agent a { provider: "openai" model: "m" }
    agent b { provider: "openai" model: "m" }
    impl Orchestrable for a {
      fn on_spawn(self, child) { emit "hook " + child; spawn b("from the hook"); }
    }
    spawn a("go");
    """
    out: list = []
    host = RecordingHost()
    Interpreter(program(src), host=host, emit=out.append).run_toplevel()
    assert out == ["hook a"]
    assert host.calls == [("spawn", "b", "from the hook"), ("spawn", "a", "go")]


def test_a_failing_hook_is_a_positioned_error_at_the_spawn() -> None:
    src = """
    agent a { provider: "openai" model: "m" }
    impl Orchestrable for a {
      fn on_spawn(self, child) { return 1 / 0; }
    }
    let r = spawn a("go");
    """
    host = RecordingHost()
    with pytest.raises(NeamRuntimeError) as err:
        Interpreter(program(src), host=host).run_toplevel()
    assert "division by zero" in err.value.message
    assert (err.value.line, err.value.column) == (4, 41)
    assert [f.function for f in err.value.traceback] == ["<toplevel>", "on_spawn"]
    assert host.calls == []  # the spawn did not happen
