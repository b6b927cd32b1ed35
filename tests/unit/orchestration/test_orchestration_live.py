"""spawn and dag_execute through the real runtime and a real stub LLM, from Python
and from Neam code run by ``neam run`` (agents live)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from neam.agents.runtime import AgentNotFoundError, AgentRuntime
from neam.lang import compile_source
from neam.orchestration.dag import DagError

from tests.support.llm_stubs import FAST_RETRY_ENV

AGENTS = """
claw agent researcher {
  provider: "openai"
  model: "stub-model"
  system: "You research."
}

forge agent builder {
  provider: "openai"
  model: "stub-model"
  system: "You build."
  verify: ok
}

agent writer {
  provider: "openai"
  model: "stub-model"
  system: "You write."
}

claw agent writer_claw {
  provider: "openai"
  model: "stub-model"
  system: "Claw writer."
}

fun ok(ctx) { return true; }
"""

NEAM_BIN = Path(sys.executable).parent / "neam"


@pytest.fixture
def rt(stub, tmp_path):
    program = compile_source(AGENTS, str(tmp_path / "p.neam")).program
    assert program is not None
    return AgentRuntime(
        program,
        sessions_dir=tmp_path / "sessions",
        workspace_dir=tmp_path,
        env={**stub.env(), **FAST_RETRY_ENV},
    )


def test_spawn_resolves_each_kind_with_one_call(rt, stub, tmp_path):
    stub.reply("found it")
    assert rt.spawn("researcher", "look") == "found it"
    stub.reply("built", usage={"input_tokens": 1, "output_tokens": 1})
    outcome = rt.spawn("builder", "make")
    assert outcome["outcome"] == "completed" and outcome["message"] == "built"
    assert outcome["iterations"] == 1
    stub.reply("words")
    assert rt.spawn("writer", "write") == "words"
    assert [r.json["messages"][0]["content"] for r in stub.requests] == [
        "You research.",
        "You build.",
        "You write.",
    ]
    assert "tools" not in stub.requests[0].json  # a simplified single turn
    assert not (tmp_path / "sessions" / "researcher").exists()  # no session involved
    with pytest.raises(AgentNotFoundError, match="Agent not found: ghost"):
        rt.spawn("ghost", "x")


def test_dag_runs_in_order_with_dependency_results(rt, stub):
    results = rt.dag_execute(
        [
            {
                "id": "report",
                "agent": "writer",
                "task": "Summarise",
                "depends_on": ["research", "analysis"],
            },
            {"id": "research", "agent": "researcher", "task": "Gather", "depends_on": []},
            {
                "id": "analysis",
                "agent": "writer_claw",
                "task": "Analyse",
                "depends_on": ["research"],
            },
        ],
        parallelism=2,
    )
    assert results["research"] == "echo: Gather"
    assert results["analysis"].startswith("echo: Analyse")
    assert "[research]\necho: Gather" in results["analysis"]
    assert "[analysis]\necho: Analyse" in results["report"]
    order = [r.json["messages"][-1]["content"].splitlines()[0] for r in stub.requests]
    assert order == ["Gather", "Analyse", "Summarise"]


def test_dag_reports_cycles_and_unknown_agents(rt, stub):
    with pytest.raises(DagError, match="cycle detected among nodes: a, b"):
        rt.dag_execute(
            [
                {"id": "a", "agent": "writer", "depends_on": ["b"]},
                {"id": "b", "agent": "writer", "depends_on": ["a"]},
            ]
        )
    with pytest.raises(DagError, match="Agent not found: nobody"):
        rt.dag_execute([{"id": "a", "agent": "nobody"}])
    assert stub.requests == []


def test_neam_run_executes_top_level_code_with_agents_live(stub, tmp_path):
    program = tmp_path / "main.neam"
    program.write_text(
        AGENTS
        + """
let direct = researcher.ask("hello there", "user_1");
emit "ask: " + direct;
let spawned = spawn writer("draft it");
emit "spawn: " + spawned;
let results = dag_execute([
  {"id": "one", "agent": "researcher", "task": "step one", "depends_on": []},
  {"id": "two", "agent": "writer", "task": "step two", "depends_on": ["one"]}
]);
emit "dag: " + results["one"];
let outcome = builder.run();
emit "forge: " + outcome["outcome"];
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEAM_", "OPENAI_"))}
    env.update({**stub.env(), **FAST_RETRY_ENV, "NEAM_WORKSPACE_DIR": str(tmp_path)})
    command = [str(NEAM_BIN)] if NEAM_BIN.exists() else [sys.executable, "-m", "neam.cli.neam_run"]
    proc = subprocess.run(
        [*command, "run", str(program)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "ask: echo: hello there",
        "spawn: echo: draft it",
        "dag: echo: step one",
        "forge: completed",
    ]
    session = tmp_path / "sessions" / "researcher" / "user_1.jsonl"
    assert json.loads(session.read_text())["user"] == "hello there"
