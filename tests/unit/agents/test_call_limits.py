"""Faults in Neam code during a turn: a tool error for the model (skills), a block
(guards), an error outcome (verify); never an exception out of the runtime. Calls
have time limits (per agent, or the runtime's) and end when the runtime cancels."""

from __future__ import annotations

import threading
import time

import pytest
from neam.agents.runtime import DEFAULT_CALL_TIMEOUT, AgentRuntime, call_timeout_from_env

PROGRAM = """
skill spin {
  description: "Never returns"
  params: { n: number }
  impl(n) { workspace_write("spinning", "yes"); while true { n = n + 1; } }
}
skill split_nothing {
  description: "Splits on nothing"
  params: { text: string }
  impl(text) { return text.split(""); }
}
skill itself {
  description: "Returns a list that contains itself"
  params: {}
  impl() { let xs = []; xs.push(xs); return xs; }
}
guard stuck {
  description: "Loops on one input"
  on_observation(text) { while text == "loop" { } return nil; }
}
claw agent bot {
  provider: "openai"
  model: "stub-model"
  skills: [spin, split_nothing, itself]
  guards: [stuck]
  TIMEOUT
}
fun verify_spin(ctx) { while true { } }
forge agent builder {
  provider: "openai"
  model: "stub-model"
  verify: verify_spin
  TIMEOUT
  loop: { max_iterations: 3 }
}
"""


def source(timeout: str = "call_timeout_seconds: 0.2") -> str:
    return PROGRAM.replace("TIMEOUT", timeout)


def tool_result(request) -> str:
    return next(m["content"] for m in request.json["messages"] if m["role"] == "tool")


@pytest.mark.parametrize(
    ("skill", "arguments", "needle"),
    [
        ("spin", {"n": 1}, "time limit exceeded: this call ran Neam code for over 0.2 s"),
        ("split_nothing", {"text": "a"}, "split() separator must not be empty"),
        ("itself", {}, "containing itself"),
    ],
)
def test_a_failing_skill_is_a_tool_error_for_the_model(
    make_runtime, stub, skill, arguments, needle
) -> None:
    rt = make_runtime(source())
    stub.reply(tool_calls=[{"id": "c1", "name": skill, "arguments": arguments}])
    stub.reply("The tool failed, sorry.")
    assert rt.ask("bot", "k", "go") == "The tool failed, sorry."
    result = tool_result(stub.requests[1])
    assert result.startswith("error: ") and "prog.neam:" in result and needle in result


def test_a_guard_that_fails_blocks_the_input(make_runtime, stub) -> None:
    rt = make_runtime(source())
    reply = rt.ask("bot", "k", "loop")
    assert reply.startswith("[blocked by guard stuck (input): the guard failed: ")
    assert "time limit exceeded" in reply
    assert stub.requests == []  # the model never saw the input
    assert rt.ask("bot", "k", "fine") == "echo: fine"


def test_a_verify_that_never_returns_ends_the_run_with_an_error(make_runtime, stub) -> None:
    result = make_runtime(source()).run_forge("builder")
    assert result.outcome == "error"
    assert "iteration 1" in result.message and "time limit exceeded" in result.message


def test_the_runtime_default_comes_from_the_environment(make_runtime, stub) -> None:
    rt = make_runtime(source(""), NEAM_CALL_TIMEOUT_SECONDS="0.1")
    assert rt.call_timeout == 0.1
    stub.reply(tool_calls=[{"id": "c1", "name": "spin", "arguments": {"n": 1}}])
    rt.ask("bot", "k", "go")
    assert "over 0.1 s" in tool_result(stub.requests[1])
    assert call_timeout_from_env({}) == DEFAULT_CALL_TIMEOUT
    for bad in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(ValueError, match="NEAM_CALL_TIMEOUT_SECONDS must be a positive"):
            call_timeout_from_env({"NEAM_CALL_TIMEOUT_SECONDS": bad})


def test_cancel_calls_ends_a_running_call_without_waiting_for_its_limit(
    make_runtime, stub, tmp_path
) -> None:
    rt = make_runtime(source("call_timeout_seconds: 3600"))
    stub.reply(tool_calls=[{"id": "c1", "name": "spin", "arguments": {"n": 1}}])
    stub.reply("done")
    replies: list[str] = []
    turn = threading.Thread(target=lambda: replies.append(rt.ask("bot", "k", "go")))
    turn.start()
    marker = tmp_path / "ws" / "bot" / "spinning"
    deadline = time.monotonic() + 60
    while not marker.exists():  # the skill is inside its loop
        assert time.monotonic() < deadline
        time.sleep(0.01)
    rt.cancel_calls()
    turn.join(60)
    assert not turn.is_alive() and replies == ["done"]
    assert "cancelled: the runtime is shutting down" in tool_result(stub.requests[1])


def test_an_agent_without_a_limit_uses_the_runtime_one(tmp_path, stub) -> None:
    from neam.lang import compile_source

    program = compile_source(source(""), str(tmp_path / "prog.neam")).program
    rt = AgentRuntime(
        program, sessions_dir=tmp_path / "s", workspace_dir=tmp_path, call_timeout=0.05, env={}
    )
    assert rt.timeout_of(program.claw_agents["bot"]) == 0.05
    limited = compile_source(source(), str(tmp_path / "p2.neam")).program
    assert rt.timeout_of(limited.claw_agents["bot"]) == 0.2
