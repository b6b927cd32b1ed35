"""Faults in Neam code reach the caller as a normal reply, never as an HTTP 500."""

from __future__ import annotations

from pathlib import Path

from tests.support.llm_stubs import FAST_RETRY_ENV

PROGRAM = """
skill explode {
  description: "Fails"
  params: { text: string }
  impl(text) { return text.split(""); }
}
guard picky {
  description: "Fails on one input"
  on_observation(text) { if text == "crash" { return {}.get([1]); } return nil; }
}
claw agent bot {
  provider: "openai"
  model: "stub-model"
  skills: [explode]
  guards: [picky]
}
"""


def test_faults_in_skills_and_guards_are_answers(api_server, llm, tmp_path: Path) -> None:
    program = tmp_path / "faults.neam"
    program.write_text(PROGRAM)
    server = api_server(program=program, env={**llm.env(), **FAST_RETRY_ENV}).wait_loaded()
    llm.reply(tool_calls=[{"id": "c1", "name": "explode", "arguments": {"text": "x"}}])
    llm.reply("the tool broke")
    r = server.client.post("/api/v1/claw/bot/sessions/k/message", json={"message": "go"})
    assert r.status_code == 200 and r.json()["response"] == "the tool broke"
    tool = next(m for m in llm.requests[1].json["messages"] if m["role"] == "tool")
    assert tool["content"].startswith(f"error: {program}:5:")
    assert "split() separator must not be empty" in tool["content"]
    r = server.client.post("/api/v1/claw/bot/sessions/k/message", json={"message": "crash"})
    assert r.status_code == 200
    assert r.json()["response"].startswith("[blocked by guard picky (input): the guard failed: ")
    assert "map keys are strings, not list" in r.json()["response"]
