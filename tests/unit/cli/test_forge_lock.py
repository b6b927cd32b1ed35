"""One forge run per workspace, across processes: two real ``neam-forge`` processes,
and ``neam-forge`` next to ``neam-api``, on one workspace never spend past the
budget. The first run is paused in its verify function (``input()`` on its stdin),
so nothing here depends on timing."""

from __future__ import annotations

import json
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from neam.api.settings import Settings

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub
from tests.unit.api.conftest import ApiServer
from tests.unit.cli.test_forge_cli import GATED, command, forge, run_env, spent, state, wait_for

ARGS = ("--name", "gated", "--max-iterations", "4")


@pytest.fixture
def stub():
    with LLMStub("openai") as server:
        server.enqueue(*[{"text": "work", "usage": {"input_tokens": 10, "output_tokens": 0}}] * 20)
        yield server


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "gated.neam"
    path.write_text(GATED)
    return path


def paused_run(tmp_path: Path, program: Path, stub: LLMStub) -> subprocess.Popen:
    """A neam-forge run holding the workspace, waiting in verify of iteration 1."""
    proc = subprocess.Popen(
        command("--agent", str(program), *ARGS),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=run_env(tmp_path, stub),
    )
    wait_for(lambda: len(stub.requests) == 1, "iteration 1 to reach verify", proc)
    return proc


def finish(proc: subprocess.Popen) -> tuple[int, dict]:
    out, _ = proc.communicate("\n" * 10, timeout=120)
    return proc.returncode, json.loads(out)


def test_a_second_neam_forge_on_the_same_workspace_exits_at_once(tmp_path, program, stub):
    first = paused_run(tmp_path, program, stub)
    try:
        proc, outcome = forge(tmp_path, "--agent", str(program), *ARGS, stub=stub, stdin="\n" * 10)
        assert proc.returncode == 1
        assert outcome["outcome"] == "error" and outcome["iterations"] == 0
        holder = f"pid {first.pid} on {socket.gethostname()}, agent gated"
        assert f"is in use by another forge run ({holder})" in outcome["message"]
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert len(stub.requests) == 1  # the second run never called the model
    finally:
        code, outcome = finish(first)
    assert code == 1 and (outcome["outcome"], outcome["iterations"]) == ("iteration_limit", 4)
    ws = tmp_path / "gated"
    assert state(ws, "gated")["iteration"] == 4 and spent(ws, "gated") == Decimal("0.4")
    assert len(stub.requests) == 4


def test_concurrent_runs_never_exceed_the_budget(tmp_path, program, stub):
    # Three processes started together (verify answers at once): whichever runs
    # first spends the budget, the others exit or find it spent.
    def run(_: int) -> dict:
        return forge(tmp_path, "--agent", str(program), *ARGS, stub=stub, stdin="\n" * 10)[1]

    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(run, range(3)))
    assert len(stub.requests) == 4
    assert state(tmp_path / "gated", "gated")["iteration"] == 4
    assert {o["outcome"] for o in outcomes} <= {"iteration_limit", "error"}
    assert sum(o["outcome"] == "iteration_limit" for o in outcomes) >= 1


def test_neam_api_refuses_to_start_a_run_a_cli_process_holds(tmp_path, program, stub):
    first = paused_run(tmp_path, program, stub)
    settings = Settings(
        program=program,
        host="127.0.0.1",
        port=0,
        sessions_dir=tmp_path / "sessions",
        workspace_dir=tmp_path,  # the CLI's NEAM_WORKSPACE_DIR
        audit_sink="file",
        audit_log=tmp_path / "audit.jsonl",
        env={**stub.env(), **FAST_RETRY_ENV},
    )
    from neam.api.loader import load_runtime

    server = ApiServer(settings, load_runtime).start().wait_loaded()
    try:
        r = server.client.post("/api/v1/forge/gated/start", json={})
        assert r.status_code == 409
        body = r.json()
        assert body["reason"] == "workspace_locked"
        assert f"in use by another forge run (pid {first.pid} on" in body["error"]
        assert server.client.get("/api/v1/forge/gated/status").json()["running"] is False
    finally:
        server.stop()
        code, outcome = finish(first)
    assert code == 1 and outcome["iterations"] == 4 and len(stub.requests) == 4
