"""Schedulable in neam-api: heartbeats of the served claw agents every
heartbeat_interval ms, cron hooks, the kill switch, and the drain that stops them
(a real process). Waits are for observable effects with a generous bound."""

from __future__ import annotations

import signal
import threading
import time

import httpx

from tests.support.api_process import WAIT, launch, wait_started
from tests.support.llm_stubs import FAST_RETRY_ENV

PROGRAM = """
claw agent pulse {
  provider: "openai"
  model: "gpt-4o-mini"
  workspace: "pulse"
}

claw agent quiet {
  provider: "openai"
  model: "gpt-4o-mini"
  workspace: "quiet"
}

impl Schedulable for pulse {
  fn heartbeat_interval(self) { return 100; }
  fn on_heartbeat(self) { workspace_append("beats.txt", "beat\\n"); }
  fn cron(self) { return "* * * * * *"; }
  fn on_cron(self, id) { workspace_append("cron.txt", id + "\\n"); }
}

impl Schedulable for quiet {
  fn heartbeat_interval(self) { return 100; }
  fn on_heartbeat(self) { workspace_append("beats.txt", "beat\\n"); }
}
"""
ADMIN = {"Authorization": "Bearer admin"}


def count(path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_heartbeats_are_counted_in_the_admin_status(api_server, llm, tmp_path) -> None:
    program = tmp_path / "pulse.neam"
    program.write_text(PROGRAM)
    server = api_server(
        program=program,
        env={**llm.env(), **FAST_RETRY_ENV},
        admin_keys=("admin",),
        claw_agents=("pulse",),
    ).wait_loaded()
    beats = tmp_path / "workspace" / "pulse" / "beats.txt"
    wait_until(lambda: count(beats) >= 5, "five heartbeats")
    wait_until(lambda: count(beats.with_name("cron.txt")) >= 2, "two cron runs")
    status = server.client.get("/api/v1/admin/status", headers=ADMIN).json()
    schedules = {a["name"]: a.get("schedule") for a in status["agents"] if a["kind"] == "claw"}
    assert schedules["pulse"]["heartbeat_interval_ms"] == 100
    assert schedules["pulse"]["heartbeats"] >= 5
    assert schedules["pulse"]["cron"]["* * * * * *"]["runs"] >= 2
    # quiet is not served (--claw-agents): no heartbeats for it
    assert schedules["quiet"] is None
    assert not (tmp_path / "workspace" / "quiet").exists()
    # a disabled agent's heartbeats are skipped until it is enabled again
    server.client.post("/api/v1/admin/disable", headers=ADMIN, json={"agent": "pulse"})
    time.sleep(0.5)  # let a hook that was already running finish
    frozen = count(beats)
    time.sleep(1.0)  # ten intervals
    assert count(beats) == frozen
    server.client.post("/api/v1/admin/enable", headers=ADMIN, json={"agent": "pulse"})
    wait_until(lambda: count(beats) >= frozen + 2, "heartbeats after enabling")


def test_the_drain_stops_the_heartbeats(tmp_path, llm) -> None:
    program = tmp_path / "pulse.neam"
    program.write_text(PROGRAM)
    env = {**llm.env(), **FAST_RETRY_ENV}
    proc, url = launch(tmp_path, env, "--program", str(program), "--drain-seconds", "60")
    beats = tmp_path / "w" / "pulse" / "beats.txt"
    try:
        wait_started(proc, url)
        wait_until(lambda: count(beats) >= 3, "three heartbeats")
        llm.reply("late answer", gate="held")  # an in-flight turn keeps the server draining
        reply: dict[str, httpx.Response] = {}
        sent = threading.Thread(
            target=lambda: reply.setdefault(
                "r",
                httpx.post(
                    f"{url}/api/v1/claw/quiet/sessions/k/message",
                    json={"message": "hold on"},
                    timeout=WAIT,
                ),
            )
        )
        sent.start()
        wait_until(lambda: llm.requests, "the turn to reach the model")
        proc.send_signal(signal.SIGTERM)
        wait_until(lambda: httpx.get(f"{url}/ready").status_code == 503, "the drain")
        time.sleep(0.5)  # a hook that was already running finishes
        drained = count(beats)
        time.sleep(1.0)  # ten intervals while the server is still up, draining
        assert httpx.get(f"{url}/health").status_code == 200
        assert count(beats) == drained
        llm.release("held")
        sent.join(WAIT)
        assert reply["r"].status_code == 200
        proc.communicate(timeout=WAIT)
        assert proc.returncode == 0
    finally:
        llm.release("held")
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
