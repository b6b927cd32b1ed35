"""neam-forge and neam-api find an agent's workspace in the same place."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from neam.agents.runtime import default_dirs
from neam.api.loader import load_runtime
from neam.cli.api import build_parser, settings_from_args

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub
from tests.unit.api.conftest import ApiServer
from tests.unit.cli.test_forge_cli import command, run_env

PROGRAM = """
fun verify_code(ctx) { return ctx.iteration >= 2; }
forge agent code_builder {
  provider: "openai"
  model: "stub-model"
  verify: verify_code
  workspace: "./generated_code"
}
"""


def test_both_default_to_the_same_directories() -> None:
    args = build_parser().parse_args(["--program", "p.neam"])
    for env in ({}, {"NEAM_WORKSPACE_DIR": "/data/ws"}, {"NEAM_SESSIONS_DIR": "/data/s"}):
        settings = settings_from_args(args, env)
        dirs = default_dirs(env)
        assert (settings.workspace_dir, settings.sessions_dir) == (
            dirs["workspace_dir"],
            dirs["sessions_dir"],
        )
    assert default_dirs({}) == {
        "sessions_dir": Path("sessions"),
        "workspace_dir": Path("workspace"),
    }
    # a pod that sets only the workspace keeps its sessions on that (writable) volume
    assert default_dirs({"NEAM_WORKSPACE_DIR": "/w"}) == {
        "sessions_dir": Path("/w/sessions"),
        "workspace_dir": Path("/w"),
    }


def test_the_api_reports_the_run_the_cli_made(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = tmp_path / "agents.neam"
    program.write_text(PROGRAM)
    with LLMStub("openai") as stub:
        env = run_env(tmp_path, stub)
        del env["NEAM_WORKSPACE_DIR"]  # the defaults, from the current directory
        proc = subprocess.run(
            command("--agent", str(program)),
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
        )
        outcome = json.loads(proc.stdout)
        assert (outcome["outcome"], outcome["iterations"]) == ("completed", 2), proc.stderr
        saved = tmp_path / "workspace" / "generated_code" / ".neam-forge" / "code_builder.json"
        assert json.loads(saved.read_text())["iteration"] == 2

        monkeypatch.chdir(tmp_path)
        argv = ["--program", str(program), "--host", "127.0.0.1", "--port", "0"]
        argv += ["--audit-sink", "file", "--audit-log", str(tmp_path / "audit.jsonl")]
        settings = settings_from_args(
            build_parser().parse_args(argv), {**stub.env(), **FAST_RETRY_ENV}
        )
        server = ApiServer(settings, load_runtime).start().wait_loaded()
        try:
            status = server.client.get("/api/v1/forge/code_builder/status").json()
            assert (status["iteration"], status["last_outcome"]) == (2, "completed")
            r = server.client.post("/api/v1/forge/code_builder/start")
            assert r.status_code == 409 and r.json()["reason"] == "completed"
        finally:
            server.stop()
