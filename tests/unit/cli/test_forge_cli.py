"""``neam-forge`` as a real subprocess: flags, JSON on stdout, exit codes, the
offline example, resume after SIGKILL with the budget holding, and SIGTERM.

The loop is paused deterministically where a test needs it: the verify function
calls ``input()``, which blocks on the process's stdin until the test writes a
line, so no test depends on timing.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.forge_process import command, forge, run_env
from tests.support.llm_stubs import LLMStub

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "forge" / "hello_builder.neam"

GATED = """
fun verify_fn(ctx) {
  let go = input();
  return false;
}

forge agent first {
  provider: "openai"
  model: "stub-model"
  system: "first"
  verify: verify_fn
  checkpoint: "git"
}

forge agent gated {
  provider: "openai"
  model: "stub-model"
  system: "Build."
  verify: verify_fn
  workspace: "gated"
  checkpoint: "git"
  loop: {
    max_iterations: 4
    max_cost: 100.0
  }
}
"""


def spent(workspace: Path, agent: str) -> Decimal:
    return Decimal(state(workspace, agent).get("total_cost", "0"))


def state(workspace: Path, agent: str) -> dict:
    path = workspace / ".neam-forge" / f"{agent}.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def wait_for(predicate, what: str, proc: subprocess.Popen) -> None:
    """Polls until ``predicate()``; a generous deadline only guards against a hang."""
    deadline = time.monotonic() + 60
    while not predicate():
        assert proc.poll() is None, f"neam-forge exited early waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def stub():
    with LLMStub("openai") as server:
        yield server


@pytest.fixture
def gated(tmp_path):
    path = tmp_path / "gated.neam"
    path.write_text(GATED)
    return path


def test_help_lists_every_flag():
    proc = subprocess.run(command("--help"), capture_output=True, text=True, check=True)
    flags = ("--agent", "--name", "--workspace", "--max-iterations", "--max-cost", "--task")
    for flag in (*flags, "--task-file", "--verbose"):
        assert flag in proc.stdout


def test_offline_example_writes_files_and_completes(tmp_path):
    ws = tmp_path / "out"
    proc, outcome = forge(tmp_path, "--agent", str(EXAMPLE), "--workspace", str(ws), "--verbose")
    assert proc.returncode == 0, proc.stderr
    assert outcome["outcome"] == "completed" and outcome["iterations"] == 2
    assert set(outcome) == {"outcome", "iterations", "total_cost", "message"}
    assert "def greet" in (ws / "hello.py").read_text()
    assert "test_greet" in (ws / "test_hello.py").read_text()
    for line in (
        f"[neam-forge] Compiling {EXAMPLE}...",
        "[neam-forge] Registered 2 skills, 0 guards, 0 channels",
        "[neam-forge] Found forge agent: hello_builder",
        f"[neam-forge] Applied overrides: workspace={ws}",
        "[neam-forge] Starting forge loop...",
    ):
        assert line in proc.stderr
    log = subprocess.run(
        ["git", "-C", str(ws), "log", "--format=%s"], capture_output=True, text=True, check=True
    ).stdout
    assert "neam-forge: iteration 2:" in log and "neam-forge: iteration 1:" in log


def test_example_default_workspace_is_relative_to_workspace_dir(tmp_path):
    proc, outcome = forge(tmp_path, "--agent", str(EXAMPLE))
    assert proc.returncode == 0 and outcome["outcome"] == "completed"
    assert (tmp_path / "hello_workspace" / "hello.py").exists()
    assert proc.stderr == ""  # quiet without --verbose


def test_compile_error_prints_diagnostics_and_exits_1(tmp_path):
    bad = tmp_path / "bad.neam"
    bad.write_text('forge agent x {\n  provider: "openai"\n  model: "m"\n  verify: missing_fn\n}\n')
    proc, outcome = forge(tmp_path, "--agent", str(bad))
    assert proc.returncode == 1 and outcome["outcome"] == "error"
    assert f"{bad}:4:" in proc.stderr


def test_unknown_name_and_missing_file_exit_1(tmp_path, gated):
    proc, outcome = forge(tmp_path, "--agent", str(gated), "--name", "nope")
    assert proc.returncode == 1 and "Agent not found: nope" in outcome["message"]
    proc, outcome = forge(tmp_path, "--agent", str(tmp_path / "missing.neam"))
    assert proc.returncode == 1 and outcome["outcome"] == "error"


def test_name_selects_the_agent_and_overrides_apply(tmp_path, gated, stub):
    ws = tmp_path / "chosen"
    proc, outcome = forge(
        tmp_path,
        "--agent",
        str(gated),
        "--name",
        "gated",
        "--workspace",
        str(ws),
        "--max-iterations",
        "2",
        stub=stub,
        stdin="\n" * 5,
    )
    assert proc.returncode == 1
    assert (outcome["outcome"], outcome["iterations"]) == ("iteration_limit", 2)
    assert state(ws, "gated")["iteration"] == 2
    assert stub.requests[0].json["messages"][0]["content"] == "Build."


def test_task_file_sets_the_task_and_a_missing_one_is_an_error(tmp_path, gated, stub):
    task = tmp_path / "task.txt"
    task.write_text("Write the summary of [research].")
    ws = tmp_path / "ws"
    proc, _ = forge(
        tmp_path, "--agent", str(gated), "--name", "gated", "--workspace", str(ws),
        "--max-iterations", "1", "--task-file", str(task), stub=stub, stdin="\n",
    )  # fmt: skip
    assert "Write the summary of [research]." in stub.requests[0].json["messages"][-1]["content"]
    assert state(ws, "gated")["current_task"] == "Write the summary of [research]."
    proc, outcome = forge(
        tmp_path, "--agent", str(gated), "--task-file", str(tmp_path / "none"), stub=stub
    )
    assert proc.returncode == 1 and outcome["outcome"] == "error"
    assert outcome["message"].startswith("cannot read --task-file")


def test_termination_message_file(tmp_path, gated, stub):
    target = tmp_path / "termination-log"
    proc, outcome = forge(
        tmp_path,
        "--agent",
        str(gated),
        "--name",
        "gated",
        "--max-cost",
        "0.05",
        stub=stub,
        stdin="\n" * 5,
        NEAM_TERMINATION_MESSAGE_PATH=str(target),
    )
    assert outcome["outcome"] == "cost_limit" and proc.returncode == 1
    written = json.loads(target.read_text())
    assert written["outcome"] == "cost_limit" and written["iterations"] == outcome["iterations"]
    assert Decimal(written["total_cost"]) == Decimal(str(outcome["total_cost"]))
    assert written["message"] == outcome["message"]


def test_resume_after_sigkill_keeps_the_budget(tmp_path, gated, stub):
    ws = tmp_path / "gated"
    stub.enqueue(*[{"text": "work", "usage": {"input_tokens": 10, "output_tokens": 0}}] * 10)
    args = ("--agent", str(gated), "--name", "gated")
    proc = subprocess.Popen(
        command(*args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=run_env(tmp_path, stub),
    )
    try:
        proc.stdin.write("\n\n")  # let iterations 1 and 2 finish verification
        proc.stdin.flush()
        # Iteration 3 has called the model (its cost is on disk) and waits in verify.
        wait_for(
            lambda: (
                state(ws, "gated").get("iteration") == 3 and spent(ws, "gated") == Decimal("0.3")
            ),
            "iteration 3",
            proc,
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
        proc.stdout.close()
        proc.stderr.close()
    assert len(stub.requests) == 3

    # The second run continues: the killed iteration counted, only iteration 4 runs.
    proc2, outcome = forge(tmp_path, *args, stub=stub, stdin="\n" * 10)
    assert proc2.returncode == 1
    assert (outcome["outcome"], outcome["iterations"]) == ("iteration_limit", 4)
    assert Decimal(str(outcome["total_cost"])) == Decimal("0.40")
    assert len(stub.requests) == 4
    progress = (ws / ".neam-forge" / "gated.progress.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in progress] == [1, 2, 4]

    # Budgets hold: no new iteration starts once they are spent.
    _, again = forge(tmp_path, *args, stub=stub, stdin="\n")
    assert (again["outcome"], again["iterations"]) == ("iteration_limit", 4)
    _, cost = forge(tmp_path, *args, "--max-iterations", "9", "--max-cost", "0.4", stub=stub)
    assert (cost["outcome"], cost["iterations"]) == ("cost_limit", 4)
    assert len(stub.requests) == 4


def test_sigterm_finishes_the_iteration_then_aborts(tmp_path, gated, stub):
    ws = tmp_path / "gated"
    stub.enqueue(*[{"text": "work", "usage": {"input_tokens": 10, "output_tokens": 0}}] * 10)
    proc = subprocess.Popen(
        command("--agent", str(gated), "--name", "gated", "--verbose"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=run_env(tmp_path, stub),
    )
    proc.stdin.write("\n")
    proc.stdin.flush()
    wait_for(lambda: spent(ws, "gated") == Decimal("0.2"), "iteration 2", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate("\n" * 5, timeout=120)  # release verify of iteration 2
    outcome = json.loads(out)
    assert proc.returncode == 1
    assert outcome == {
        "outcome": "aborted",
        "iterations": 2,
        "total_cost": 0.2,
        "message": "Stopped by request after iteration 2",
    }
    assert "Received SIGTERM" in err
    # The iteration in flight was finished properly: verified, recorded, committed.
    assert len((ws / ".neam-forge" / "gated.progress.jsonl").read_text().splitlines()) == 2
    log = subprocess.run(
        ["git", "-C", str(ws), "log", "--format=%s"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert log[0].startswith("neam-forge: iteration 2:")


def test_example_runs_from_a_copy_with_relative_paths(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "prog.neam")
    shutil.copy(EXAMPLE.with_name("hello_builder.replies.yaml"), tmp_path)
    proc, outcome = forge(tmp_path, "--agent", "prog.neam")
    assert proc.returncode == 0 and outcome["outcome"] == "completed"


def test_compiled_neamb_runs_and_a_broken_one_fails_cleanly(tmp_path):
    shutil.copy(EXAMPLE.with_name("hello_builder.replies.yaml"), tmp_path)
    shutil.copy(EXAMPLE, tmp_path / "prog.neam")
    neamc = Path(sys.executable).parent / "neamc"
    subprocess.run(
        [str(neamc), "compile", "prog.neam", "-o", "prog.neamb"], cwd=tmp_path, check=True
    )
    proc, outcome = forge(tmp_path, "--agent", "prog.neamb", "--workspace", "out")
    assert proc.returncode == 0 and outcome["outcome"] == "completed"
    assert (tmp_path / "out" / "hello.py").exists()
    (tmp_path / "broken.neamb").write_text("{not json")
    proc, outcome = forge(tmp_path, "--agent", "broken.neamb")
    assert proc.returncode == 1 and outcome["outcome"] == "error"
    assert "cannot load broken.neamb" in outcome["message"]


class _StatusAPI(BaseHTTPRequestHandler):
    """A stand-in for the Kubernetes API: records status PATCHes."""

    patches: list[tuple[str, str, dict]] = []

    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.patches.append((self.path, self.headers.get("Authorization", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_progress_goes_to_the_in_pod_reporter(tmp_path, gated, stub):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StatusAPI)
    _StatusAPI.patches = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token = tmp_path / "token"
    token.write_text("pod-token\n")
    try:
        _, outcome = forge(
            tmp_path,
            "--agent",
            str(gated),
            "--name",
            "gated",
            "--max-iterations",
            "2",
            stub=stub,
            stdin="\n" * 5,
            NEAM_REPORT_RESOURCE="neam.dev/v1alpha1/namespaces/demo/forgeruns/run-1",
            NEAM_REPORT_SERVER=f"http://127.0.0.1:{server.server_address[1]}",
            NEAM_REPORT_TOKEN_FILE=str(token),
        )
    finally:
        server.shutdown()
        server.server_close()
    assert outcome["outcome"] == "iteration_limit"
    paths = {p for p, _, _ in _StatusAPI.patches}
    assert paths == {"/apis/neam.dev/v1alpha1/namespaces/demo/forgeruns/run-1/status"}
    assert {auth for _, auth, _ in _StatusAPI.patches} == {"Bearer pod-token"}
    progress = [body["status"]["progress"] for _, _, body in _StatusAPI.patches]
    assert [(p["iteration"], p["outcome"]) for p in progress] == [
        (1, "running"),
        (2, "running"),
        (2, "iteration_limit"),
    ]
    assert progress[-1]["maxIterations"] == 2


@pytest.mark.parametrize(
    "args", [(), ("--agent", "x.neam", "--max-iterations", "0"), ("--agent", "x.neam", "--bogus")]
)
def test_usage_errors_exit_1_with_an_error_outcome(tmp_path, args):
    proc, outcome = forge(tmp_path, *args)
    assert proc.returncode == 1 and outcome["outcome"] == "error"
    assert "usage: neam-forge" in proc.stderr


def test_corrupt_state_is_reported_not_reset(tmp_path, gated, stub):
    state_file = tmp_path / "gated" / ".neam-forge" / "gated.json"
    state_file.parent.mkdir(parents=True)
    state_file.write_text("{torn")
    proc, outcome = forge(tmp_path, "--agent", str(gated), "--name", "gated", stub=stub)
    assert proc.returncode == 1 and outcome["outcome"] == "error"
    assert "corrupt" in outcome["message"]
    assert stub.requests == []


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("file", "File exists"),
        ("timeout", "NEAM_CALL_TIMEOUT_SECONDS must be a positive number of seconds"),
    ],
)
def test_problems_are_one_line_without_a_traceback(tmp_path, gated, stub, setup, needle):
    (tmp_path / "taken").write_text("a file where the workspace should go")
    extra = {"NEAM_CALL_TIMEOUT_SECONDS": "soon"} if setup == "timeout" else {}
    args = ("--agent", str(gated), "--name", "gated", "--workspace", str(tmp_path / "taken"))
    proc, outcome = forge(tmp_path, *args, stub=stub, **extra)
    assert proc.returncode == 1 and outcome["outcome"] == "error"
    assert needle in outcome["message"]
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr
    assert "Traceback" not in proc.stderr
