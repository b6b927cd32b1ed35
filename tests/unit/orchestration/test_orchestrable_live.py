"""Orchestrable hooks through the real runtime and a stub LLM: a claw agent's skill
spawns, a forge agent's verify runs a DAG, and the seed's DAG program under
``neam run``; the hooks' emits come in order around each delegation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from neam.agents.runtime import AgentRuntime
from neam.lang import compile_source

from tests.support.llm_stubs import FAST_RETRY_ENV

PROGRAM = """
skill delegate {
  description: "Hand a task to the worker"
  params: { task: string }
  impl(task) { return spawn worker(task); }
}

claw agent lead {
  provider: "openai"
  model: "stub-model"
  system: "You lead."
  skills: [delegate]
}

agent worker {
  provider: "openai"
  model: "stub-model"
  system: "You work."
}

fun check(ctx) {
  let r = dag_execute([{"id": "w", "agent": "worker", "task": "check " + ctx.iteration}]);
  return true;
}

forge agent builder {
  provider: "openai"
  model: "stub-model"
  system: "You build."
  verify: check
}

impl Orchestrable for lead {
  fn on_spawn(self, child) { emit "lead -> " + child; }
  fn on_delegate(self, result) { emit "lead <- " + result; }
}

impl Orchestrable for builder {
  fn on_spawn(self, child) { emit "builder -> " + child; }
  fn on_delegate(self, result) { emit "builder <- " + result; }
}
"""

SEED_DAG = Path(__file__).resolve().parents[3] / "examples" / "dag_research.neam"
NEAM_BIN = Path(sys.executable).parent / "neam"


def runtime(stub, tmp_path, emitted: list) -> AgentRuntime:
    program = compile_source(PROGRAM, str(tmp_path / "p.neam")).program
    assert program is not None
    return AgentRuntime(
        program,
        sessions_dir=tmp_path / "sessions",
        workspace_dir=tmp_path / "ws",
        env={**stub.env(), **FAST_RETRY_ENV},
        emit=emitted.append,
    )


def test_a_claw_skill_that_spawns_runs_its_agents_hooks(stub, tmp_path) -> None:
    emitted: list = []
    rt = runtime(stub, tmp_path, emitted)
    stub.reply("", tool_calls=[{"name": "delegate", "arguments": {"task": "dig"}}])
    stub.reply("dug")  # the worker's single turn
    stub.reply("The worker dug.")
    assert rt.ask("lead", "k", "please dig") == "The worker dug."
    assert emitted == ["lead -> worker", "lead <- dug"]
    worker_call = stub.requests[1].json["messages"]
    assert worker_call[0]["content"] == "You work." and worker_call[-1]["content"] == "dig"


def test_a_forge_verify_running_a_dag_runs_the_forge_agents_hooks(stub, tmp_path) -> None:
    emitted: list = []
    rt = runtime(stub, tmp_path, emitted)
    stub.reply("built")
    stub.reply("checked")
    assert rt.run_forge("builder").outcome == "completed"
    assert emitted == ["builder -> worker", "builder <- checked"]


def test_the_seed_dag_program_emits_the_researchers_hooks_in_order(stub, tmp_path) -> None:
    for reply in ("gathered", "analysed", "written"):
        stub.reply(reply)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEAM_", "OPENAI_"))}
    env.update({**stub.env(), **FAST_RETRY_ENV, "NEAM_WORKSPACE_DIR": str(tmp_path)})
    command = [str(NEAM_BIN)] if NEAM_BIN.exists() else [sys.executable, "-m", "neam.cli.neam_run"]
    proc = subprocess.run(
        [*command, "run", str(SEED_DAG)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # top-level code has no calling agent: the researcher's impl sees its own node
    assert proc.stdout.splitlines() == [
        "Researcher spawning: researcher",
        "Researcher received delegation result",
        "Research: gathered",
        "Analysis: analysed",
        "Report: written",
    ]
