"""Several neam-api processes on one sessions directory (ClawAgent replicas on shared
storage): each session takes one turn at a time across processes, and no turn is lost
or torn."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.api_process import launch, wait_started
from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

PROGRAM = """
claw agent helper {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Answer briefly."
  session { max_history_turns 500 }
}

claw agent other {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Not served."
}
"""
MESSAGES = 100


def test_two_servers_serialise_one_session_and_lose_nothing(tmp_path: Path) -> None:
    program = tmp_path / "shared.neam"
    program.write_text(PROGRAM)
    with LLMStub("openai") as llm:
        env = {**llm.env(), **FAST_RETRY_ENV}
        servers = [launch(tmp_path, env, "--program", str(program)) for _ in range(2)]
        try:
            for proc, url in servers:
                wait_started(proc, url)
            urls = [url for _, url in servers]

            def send(i: int) -> int:
                url = f"{urls[i % 2]}/api/v1/claw/helper/sessions/shared/message"
                return httpx.post(url, json={"message": f"m{i}"}, timeout=60).status_code

            with ThreadPoolExecutor(16) as pool:
                statuses = list(pool.map(send, range(MESSAGES)))
            history_sizes = sorted(
                sum(1 for m in r.json["messages"] if m["role"] == "user") - 1 for r in llm.requests
            )
        finally:
            for proc, _ in servers:
                proc.terminate()
                proc.communicate(timeout=30)
    assert statuses == [200] * MESSAGES
    # One turn at a time: the k-th turn saw exactly the k-1 turns before it, whichever
    # process served it.
    assert history_sizes == list(range(MESSAGES))
    lines = (tmp_path / "s" / "helper" / "shared.jsonl").read_text().splitlines()
    turns = [json.loads(line) for line in lines]
    assert sorted(t["user"] for t in turns) == sorted(f"m{i}" for i in range(MESSAGES))


def test_claw_agents_flag_serves_only_the_named_agents(tmp_path: Path) -> None:
    program = tmp_path / "two.neam"
    program.write_text(PROGRAM)
    with LLMStub("openai") as llm:
        proc, url = launch(
            tmp_path, {**llm.env(), **FAST_RETRY_ENV}, "--program", str(program),
            "--claw-agents", "helper",
        )  # fmt: skip
        try:
            wait_started(proc, url)
            listed = httpx.get(f"{url}/api/v1/claw").json()["claw_agents"]
            hidden = httpx.post(
                f"{url}/api/v1/claw/other/sessions/k/message", json={"message": "hi"}
            )
            served = httpx.post(
                f"{url}/api/v1/claw/helper/sessions/k/message", json={"message": "hi"}
            )
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
    assert [a["name"] for a in listed] == ["helper"]
    assert hidden.status_code == 404
    assert served.status_code == 200


def test_claw_agents_flag_naming_no_claw_agent_fails_to_start(tmp_path: Path) -> None:
    program = tmp_path / "two.neam"
    program.write_text(PROGRAM)
    proc, _ = launch(tmp_path, {}, "--program", str(program), "--claw-agents", "helper,ghost")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "--claw-agents: ghost is not a claw agent" in err
    assert "(have: helper, other)" in err
