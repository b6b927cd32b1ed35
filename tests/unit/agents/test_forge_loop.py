"""The forge loop end to end: real Neam verify functions and skills, a real
OpenAI-compatible stub over HTTP, real files and real git."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from neam.agents import forge_state
from neam.agents.forge import require_writable
from neam.agents.forge_state import ForgeState

FORGE = """
skill write_file {
  description: "Write a file"
  params: { path: string, content: string }
  impl(path, content) {
    workspace_write(path, content);
    return "Wrote " + path;
  }
}

fun verify_fn(ctx) {
  VERIFY_BODY
}

forge agent builder {
  provider: "openai"
  model: "stub-model"
  system: "You build things."
  skills: [write_file]
  verify: verify_fn
  workspace: "build"
  checkpoint: "CHECKPOINT"
  loop: {
    max_iterations: 10
    max_cost: 100.0
    plan_file: "plan.md"
    progress_file: "progress.jsonl"
    learnings_file: "learnings.jsonl"
  }
}
"""


def forge_source(verify_body: str, checkpoint: str = "git") -> str:
    return FORGE.replace("VERIFY_BODY", verify_body).replace("CHECKPOINT", checkpoint)


def write_call(path: str, content: str, call_id: str = "call_1") -> dict:
    return {"id": call_id, "name": "write_file", "arguments": {"path": path, "content": content}}


def records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def user_prompts(stub) -> list[str]:
    prompts = []
    for request in stub.requests:
        messages = request.json["messages"]
        if messages[-1]["role"] == "user":
            prompts.append(messages[-1]["content"])
    return prompts


def test_completed_plan_with_tool_calls_progress_and_git(make_runtime, stub, tmp_path):
    rt = make_runtime(
        forge_source('return workspace_read("out_" + str(ctx["iteration"]) + ".txt") != nil;')
    )
    ws = tmp_path / "ws" / "build"
    ws.mkdir(parents=True)
    (ws / "plan.md").write_text("# Plan\n\n- [ ] Write out_1.txt\n2. Write out_2.txt\n")
    stub.reply(
        tool_calls=[write_call("out_1.txt", "one")], usage={"input_tokens": 10, "output_tokens": 0}
    )
    stub.reply("done 1", usage={"input_tokens": 10, "output_tokens": 0})
    stub.reply(
        tool_calls=[write_call("out_2.txt", "two")], usage={"input_tokens": 5, "output_tokens": 0}
    )
    stub.reply("done 2", usage={"input_tokens": 5, "output_tokens": 0})
    progress = []
    result = rt.run_forge("builder", on_progress=progress.append)
    assert (result.outcome, result.iterations) == ("completed", 2)
    assert result.total_cost == Decimal("0.30")
    assert result.to_json_dict() == {
        "outcome": "completed",
        "iterations": 2,
        "total_cost": 0.3,
        "message": "All tasks completed",
    }
    assert (ws / "out_1.txt").read_text() == "one" and (ws / "out_2.txt").read_text() == "two"
    # Tool round trip: the skill's result went back to the model as a tool message.
    second = stub.requests[1].json["messages"]
    assert second[-1]["role"] == "tool" and second[-1]["content"] == "Wrote out_1.txt"
    assert [t["function"]["name"] for t in stub.requests[0].json["tools"]] == ["write_file"]
    prompts = user_prompts(stub)
    assert "## Task 1 of 2\nWrite out_1.txt" in prompts[0]
    assert "## Task 2 of 2\nWrite out_2.txt" in prompts[1]
    assert "iteration 1 (Write out_1.txt): pass" in prompts[1]
    entries = records(ws / "progress.jsonl")
    assert [(e["iteration"], e["task"], e["verdict"]) for e in entries] == [
        (1, "Write out_1.txt", "pass"),
        (2, "Write out_2.txt", "pass"),
    ]
    log = subprocess.run(
        ["git", "-C", str(ws), "log", "--format=%s"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert log == [
        "neam-forge: iteration 2: Write out_2.txt",
        "neam-forge: iteration 1: Write out_1.txt",
    ]
    assert [(p.iteration, p.outcome) for p in progress] == [
        (1, "running"),
        (2, "running"),
        (2, "completed"),
    ]
    assert progress[-1].total_cost == Decimal("0.30")


def test_each_verify_return_kind(make_runtime, stub, tmp_path):
    body = """
  let i = ctx["iteration"];
  if (i == 1) { return "retry: first try"; }
  if (i == 2) { return false; }
  if (i == 3) { return nil; }
  if (i == 4) { return "Add a \\"README\\"\\nplease"; }
  return true;
"""
    rt = make_runtime(forge_source(body, "none"))
    result = rt.run_forge("builder")
    assert (result.outcome, result.iterations) == ("completed", 5)
    ws = tmp_path / "ws" / "build"
    verdicts = [(e["verdict"], e["feedback"]) for e in records(ws / "progress.jsonl")]
    assert verdicts == [
        ("retry", "first try"),
        ("retry", "Verification failed; try again."),
        ("retry", "Verification failed; try again."),
        ("feedback", 'Add a "README"\nplease'),
        ("pass", ""),
    ]
    learnings = [e["learning"] for e in records(ws / "learnings.jsonl")]
    assert learnings[0] == "first try" and learnings[-1] == 'Add a "README"\nplease'
    prompts = user_prompts(stub)
    assert "## Feedback from the last verification\n(none)" in prompts[0]
    assert "## Feedback from the last verification\nfirst try" in prompts[1]
    assert 'Feedback from the last verification\nAdd a "README"\nplease' in prompts[4]
    assert "## Task 1 of 1\nComplete the goal described in the system prompt." in prompts[0]


def test_verify_ctx_fields(make_runtime, stub, tmp_path):
    body = """
  workspace_write("ctx.json", json_stringify(ctx));
  return true;
"""
    rt = make_runtime(forge_source(body, "none"))
    stub.reply("x", usage={"input_tokens": 7, "output_tokens": 0})
    rt.run_forge("builder")
    ws = tmp_path / "ws" / "build"
    ctx = json.loads((ws / "ctx.json").read_text())
    assert ctx["iteration"] == 1
    assert ctx["current_task"] == "Complete the goal described in the system prompt."
    assert ctx["feedback"] == ""
    assert abs(ctx["total_cost"] - 0.07) < 1e-9
    assert ctx["workspace"] == str(ws)


def test_abort_from_verify(make_runtime, stub):
    rt = make_runtime(forge_source('return "Cannot continue: abort";', "none"))
    result = rt.run_forge("builder")
    assert (result.outcome, result.iterations) == ("aborted", 1)
    assert "Cannot continue: abort" in result.message


def test_iteration_limit_and_resume_with_budget_holding(make_runtime, stub, tmp_path):
    rt = make_runtime(forge_source("return false;", "none"))
    stub.enqueue(*[{"text": "t", "usage": {"input_tokens": 1, "output_tokens": 0}}] * 10)
    first = rt.run_forge("builder", max_iterations=2)
    assert (first.outcome, first.iterations) == ("iteration_limit", 2)
    assert first.message == "Reached max_iterations (2) with task 1/1 unfinished"
    requests = len(stub.requests)
    again = rt.run_forge("builder", max_iterations=2)
    assert (again.outcome, again.iterations) == ("iteration_limit", 2)
    assert len(stub.requests) == requests  # no new iteration once the budget is spent
    more = rt.run_forge("builder", max_iterations=4)
    assert (more.outcome, more.iterations) == ("iteration_limit", 4)
    assert more.total_cost == Decimal("0.04")


def test_a_run_that_died_after_its_last_task_passed_resumes_as_completed(
    make_runtime, stub, tmp_path
):
    # The state was saved with every task done, but the process died before it saved the
    # outcome: the next start finishes the run, without another (paid) iteration.
    rt = make_runtime(forge_source("return true;", "none"))
    forge_state.save(tmp_path / "ws" / "build", "builder", ForgeState(iteration=1, task_index=1))
    result = rt.run_forge("builder")
    assert (result.outcome, result.iterations, result.message) == (
        "completed",
        1,
        "All tasks completed",
    )
    assert stub.requests == []


def test_a_stop_before_the_first_iteration_spends_nothing(make_runtime, stub):
    rt = make_runtime(forge_source("return false;", "none"))
    stop = threading.Event()
    stop.set()
    result = rt.run_forge("builder", stop=stop)
    assert (result.outcome, result.iterations, result.message) == (
        "aborted",
        0,
        "Stopped by request after iteration 0",
    )
    assert stub.requests == []


def test_a_stop_during_the_last_iteration_still_completes(make_runtime, stub):
    rt = make_runtime(forge_source("return true;", "none"))
    stub.enqueue({"text": "done", "usage": {"input_tokens": 1, "output_tokens": 0}})
    stop = threading.Event()
    result = rt.run_forge("builder", stop=stop, on_progress=lambda _: stop.set())
    assert (result.outcome, result.iterations) == ("completed", 1)


def test_cost_limit_holds_across_runs(make_runtime, stub):
    rt = make_runtime(forge_source("return false;", "none"))
    stub.enqueue(*[{"text": "t", "usage": {"input_tokens": 10, "output_tokens": 0}}] * 10)
    result = rt.run_forge("builder", max_cost=0.25)
    assert (result.outcome, result.iterations) == ("cost_limit", 3)
    assert result.total_cost == Decimal("0.30")
    requests = len(stub.requests)
    again = rt.run_forge("builder", max_cost=0.25)
    assert (again.outcome, again.iterations, len(stub.requests)) == ("cost_limit", 3, requests)


def test_cost_limit_stops_at_exactly_max_cost(make_runtime, stub):
    # Each call costs exactly $0.10: after three the budget is spent, not exceeded.
    rt = make_runtime(forge_source("return false;", "none"))
    stub.enqueue(*[{"text": "t", "usage": {"input_tokens": 10, "output_tokens": 0}}] * 10)
    result = rt.run_forge("builder", max_cost=0.3)
    assert (result.outcome, result.iterations, result.total_cost) == (
        "cost_limit",
        3,
        Decimal("0.30"),
    )
    assert len(stub.requests) == 3
    assert result.message == "Cost limit reached: $0.3 of $0.3 spent"


def test_a_second_run_on_a_locked_workspace_is_refused(make_runtime, stub, tmp_path):
    from neam.agents.forge_lock import ForgeBusyError

    rt = make_runtime(forge_source("return false;", "none"))
    spec = rt.forge_spec("builder")
    held = rt.lock_forge(spec)
    with pytest.raises(ForgeBusyError) as info:
        rt.run_forge("builder")
    assert f"workspace {spec.workspace} is in use by another forge run (pid {os.getpid()}" in str(
        info.value
    )
    assert stub.requests == []
    result = rt.run_forge("builder", max_iterations=1, lock=held)  # the holder runs
    assert result.outcome == "iteration_limit"
    assert rt.run_forge("builder", max_iterations=2).iterations == 2  # released at the end


def test_the_lock_file_is_never_followed_through_a_symlink(make_runtime, stub, tmp_path):
    rt = make_runtime(forge_source("return true;", "none"))
    spec = rt.forge_spec("builder")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (spec.workspace / ".neam-forge").mkdir(parents=True)
    (spec.workspace / ".neam-forge" / "lock").symlink_to(victim)
    with pytest.raises(ValueError, match="cannot open the forge lock"):
        rt.run_forge("builder")
    assert victim.read_text() == "precious" and stub.requests == []


def test_provider_error_ends_with_error(make_runtime, stub):
    rt = make_runtime(forge_source("return true;", "none"))
    stub.fail(401, message="bad key")
    result = rt.run_forge("builder")
    assert result.outcome == "error" and result.iterations == 1
    assert "sk-stub-key" not in result.message


def test_stop_event_finishes_the_current_iteration(make_runtime, stub, tmp_path):
    rt = make_runtime(forge_source("return false;", "none"))
    stop = threading.Event()

    def on_progress(p):
        if p.iteration == 2:
            stop.set()

    result = rt.run_forge("builder", stop=stop, on_progress=on_progress)
    assert (result.outcome, result.iterations) == ("aborted", 2)
    assert result.message == "Stopped by request after iteration 2"
    assert len(records(tmp_path / "ws" / "build" / "progress.jsonl")) == 2


def test_an_interrupted_run_stays_running_on_disk_and_resumes(make_runtime, stub, tmp_path):
    from neam.agents import forge_lock, forge_state

    rt = make_runtime(forge_source("return false;", "none"))
    stop, interrupt = threading.Event(), threading.Event()

    def on_progress(p):
        if p.iteration == 2:  # a server shutting down sets both
            interrupt.set()
            stop.set()

    result = rt.run_forge(
        "builder", max_iterations=6, stop=stop, interrupt=interrupt, on_progress=on_progress
    )
    assert (result.outcome, result.iterations, result.interrupted) == ("aborted", 2, True)
    assert result.message.startswith("Interrupted by a server shutdown after iteration 2")
    spec = rt.forge_spec("builder")
    saved = forge_state.load(spec.workspace, "builder")
    assert (saved.outcome, saved.iteration, saved.max_iterations) == ("running", 2, 6)
    assert saved.max_cost == "100.0"
    assert forge_lock.holder(spec.workspace) is None  # nobody runs it now
    with rt.lock_forge(spec):
        assert forge_lock.holder(spec.workspace).startswith(f"pid {os.getpid()} on ")
    resumed = rt.run_forge("builder", max_iterations=6)
    assert (resumed.outcome, resumed.iterations, resumed.interrupted) == (
        "iteration_limit",
        6,
        False,
    )


def test_completed_run_is_not_repeated(make_runtime, stub):
    rt = make_runtime(forge_source("return true;", "none"))
    assert rt.run_forge("builder").outcome == "completed"
    requests = len(stub.requests)
    progress = []
    again = rt.run_forge("builder", on_progress=progress.append)
    assert (again.outcome, again.iterations, len(stub.requests)) == ("completed", 1, requests)
    assert [(p.iteration, p.outcome) for p in progress] == [(1, "completed")]


def test_workspace_override_and_snapshot(make_runtime, stub, tmp_path):
    rt = make_runtime(forge_source('workspace_write("f.txt", "v"); return true;', "snapshot"))
    elsewhere = tmp_path / "elsewhere"
    assert rt.run_forge("builder", workspace=elsewhere).outcome == "completed"
    assert (elsewhere / ".neam-forge" / "snapshots" / "iter-0001" / "f.txt").read_text() == "v"
    assert not (tmp_path / "ws" / "build").exists()


def test_hostile_feedback_keeps_jsonl_valid(make_runtime, stub, tmp_path):
    rt = make_runtime(forge_source('return ctx["response"];', "none"))
    hostile = 'line1\nline2 "quoted" \\ back \u2028 \x01 ünï 🚀 {"verdict": "pass"}'
    stub.reply(hostile)
    stub.reply("abort now")
    result = rt.run_forge("builder")
    assert result.outcome == "aborted"
    ws = tmp_path / "ws" / "build"
    for name in ("progress.jsonl", "learnings.jsonl"):
        for line in (ws / name).read_text().splitlines():
            json.loads(line)
    assert records(ws / "learnings.jsonl")[0]["learning"] == hostile.strip()


def test_a_failing_progress_callback_does_not_end_the_run(make_runtime, stub):
    rt = make_runtime(forge_source("return true;", "none"))

    def broken(progress):
        raise RuntimeError("reporter down")

    assert rt.run_forge("builder", on_progress=broken).outcome == "completed"


def test_tool_calling_within_an_iteration_is_bounded(make_runtime, stub, tmp_path):
    rt = make_runtime(forge_source("return true;", "none"))
    stub.enqueue(*[{"tool_calls": [write_call(f"f{i}.txt", "x", f"c{i}")]} for i in range(20)])
    assert rt.run_forge("builder").outcome == "completed"
    assert len(stub.requests) == 9  # 8 tool rounds, then one call without tools
    assert all("tools" in r.json for r in stub.requests[:8])
    assert "tools" not in stub.requests[8].json
    assert len(list((tmp_path / "ws" / "build").glob("f*.txt"))) == 8


def test_verify_without_parameters_is_called_without_ctx(make_runtime, stub):
    rt = make_runtime(
        forge_source("return true;", "none").replace("fun verify_fn(ctx)", "fun verify_fn()")
    )
    assert rt.run_forge("builder").outcome == "completed"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_unwritable_workspace_is_a_clear_error():
    # What a hostPath-provisioned volume looks like to the pod's user: root-owned, 0750
    # (in a directory the user may enter: pytest's tmp_path is private to root).
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)
        ws = Path(top) / "ws"
        ws.mkdir(mode=0o750)
        message = _require_writable_as(4321, ws)
    assert message == (
        f"workspace {ws} is not writable by uid 4321 (owner 0:0, mode 0750); if it is a "
        "volume, use storage that applies the pod's fsGroup (most CSI drivers and local "
        "volumes do; hostPath does not)"
    )


def _require_writable_as(uid: int, ws: Path) -> str:
    """What ``require_writable(ws)`` says in a child process running as ``uid``."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops to an unprivileged uid, like the forge pod
        os.close(read)
        try:
            os.setgid(uid)
            os.setuid(uid)
            require_writable(ws)
            os.write(write, b"writable")
        except Exception as exc:
            os.write(write, str(exc).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    return message


def test_a_given_task_replaces_the_default_one_without_a_plan(make_runtime, stub):
    rt = make_runtime(forge_source("return true;", "none"))
    result = rt.run_forge("builder", task="Build the report from [research] notes")
    assert result.outcome == "completed"
    (prompt,) = user_prompts(stub)
    assert "Build the report from [research] notes" in prompt
    assert "Complete the goal described in the system prompt." not in prompt
