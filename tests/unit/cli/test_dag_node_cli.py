"""``neam-dag-node``, the process an AgentDAG node's pod runs: its task with the
dependencies' results, one spawn against a real stub LLM, the result stored through a
stand-in API server, the termination message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub
from tests.support.patch_recorder import PatchRecorder, patch_recorder

PROGRAM = """
claw agent analyst {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You analyse."
}
"""
CONFIGMAP = "team-a/market-result-analysis"


def run_node(
    tmp_path: Path, llm: LLMStub, recorder: PatchRecorder | None, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict]:
    program = tmp_path / "dag.neam"
    program.write_text(PROGRAM)
    token = tmp_path / "token"
    token.write_text("node-token")
    termination = tmp_path / "termination-log"
    env = {**llm.env(), **FAST_RETRY_ENV, "NEAM_TERMINATION_MESSAGE_PATH": str(termination)}
    if recorder is not None:
        env |= {
            "NEAM_RESULT_CONFIGMAP": CONFIGMAP,
            "NEAM_REPORT_SERVER": recorder.url,
            "NEAM_REPORT_TOKEN_FILE": str(token),
        }
    run = subprocess.run(
        [sys.executable, "-m", "neam.cli.dag_node", "--program", str(program), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return run, json.loads(termination.read_text()) if termination.exists() else {}


@pytest.fixture
def llm():
    with LLMStub("openai", api_key="sk-node") as stub:
        yield stub


@pytest.fixture
def recorder():
    with patch_recorder() as r:
        yield r


def test_the_task_carries_the_dependencies_results_and_the_result_is_stored(
    tmp_path: Path, llm: LLMStub, recorder: PatchRecorder
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "research").write_text("Sales grew 12%.")
    (results / "survey").write_text("Users want speed.")
    llm.reply("Growth is driven by speed.", usage={"input_tokens": 1000, "output_tokens": 200})
    run, term = run_node(
        tmp_path, llm, recorder,
        "--agent", "analyst", "--node", "analysis", "--task", "Analyse the findings",
        "--depends-on", "research,survey", "--results-dir", str(results),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (request,) = llm.requests
    assert request.json["messages"][-1]["content"] == (
        "Analyse the findings\n\nResults of the steps this one depends on:\n"
        "[research]\nSales grew 12%.\n[survey]\nUsers want speed."
    )
    (call,) = recorder.calls
    assert call["path"] == "/api/v1/namespaces/team-a/configmaps/market-result-analysis"
    assert call["auth"] == "Bearer node-token"
    assert call["type"] == "application/merge-patch+json"
    data = call["body"]["data"]
    assert data["result"] == "Growth is driven by speed."
    assert data["outcome"] == "completed" and data["cost"] == "0.00027"
    assert term == {"outcome": "completed", "cost": "0.00027", "message": data["result"]}
    assert json.loads(run.stdout) == term


def test_a_long_result_is_bounded_with_a_marker(
    tmp_path: Path, llm: LLMStub, recorder: PatchRecorder
) -> None:
    llm.reply("x" * 70_000)
    run, _ = run_node(tmp_path, llm, recorder, "--agent", "analyst", "--node", "n")
    assert run.returncode == 0, run.stderr
    stored = recorder.calls[0]["body"]["data"]["result"]
    assert stored == "x" * 65536 + "\n…[truncated: 4464 more characters]"


def test_a_missing_dependency_result_fails_before_any_call(
    tmp_path: Path, llm: LLMStub, recorder: PatchRecorder
) -> None:
    run, term = run_node(
        tmp_path, llm, recorder, "--agent", "analyst", "--node", "n",
        "--depends-on", "research", "--results-dir", str(tmp_path / "none"),
    )  # fmt: skip
    assert run.returncode == 1
    assert term["outcome"] == "error"
    assert term["message"].startswith("the result of research is not readable at ")
    assert llm.requests == [] and recorder.calls == []
    assert "Traceback" not in run.stderr


def test_a_result_that_cannot_be_stored_fails_the_node(
    tmp_path: Path, llm: LLMStub, recorder: PatchRecorder
) -> None:
    recorder.status = 403
    run, term = run_node(tmp_path, llm, recorder, "--agent", "analyst", "--node", "n")
    assert run.returncode == 1
    assert term["message"] == f"storing the result in ConfigMap {CONFIGMAP} failed"


def test_an_unknown_agent_or_a_provider_failure_is_an_error(tmp_path: Path, llm: LLMStub) -> None:
    run, term = run_node(tmp_path, llm, None, "--agent", "ghost", "--node", "n")
    assert run.returncode == 1 and term["message"] == "Agent not found: ghost"
    llm.fail(401)
    run, term = run_node(tmp_path, llm, None, "--agent", "analyst", "--node", "n")
    assert run.returncode == 1 and term["outcome"] == "error"
    assert "sk-node" not in run.stderr + run.stdout
