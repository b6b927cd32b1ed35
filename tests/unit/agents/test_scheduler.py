"""Schedulable: heartbeats every heartbeat_interval ms and on_cron on a cron schedule,
run as the agent by the runtime; bad schedules are reported, not fatal. Waits are for
observable effects with a generous bound; no duration is asserted."""

from __future__ import annotations

import threading
import time

import pytest
from neam.agents.scheduler import DEFAULT_HEARTBEAT_MS, Scheduler

BOUND = 30.0

PROGRAM = """
claw agent bot {
  provider: "openai"
  model: "stub-model"
  workspace: "botspace"
}

impl Schedulable for bot {
  fn heartbeat_interval(self) { return 50; }
  fn on_heartbeat(self) {
    workspace_append("beats.txt", "beat\\n");
    return "alive";
  }
  fn cron(self) { return { "every_second": "* * * * * *", "yearly": "@yearly" }; }
  fn on_cron(self, id) { workspace_append("cron.txt", id + "\\n"); }
}
"""

BAD = """
claw agent a { provider: "openai" model: "stub-model" }
claw agent b { provider: "openai" model: "stub-model" }
claw agent c { provider: "openai" model: "stub-model" }
claw agent d { provider: "openai" model: "stub-model" }
impl Schedulable for a {
  fn heartbeat_interval(self) { return "soon"; }
  fn on_heartbeat(self) { return nil; }
  fn on_cron(self, id) { return nil; }
}
impl Schedulable for b {
  fn schedule(self) { return ["not cron", "0 3 * * *"]; }
  fn on_cron(self, id) { return nil; }
}
impl Schedulable for c {
  fn on_heartbeat(self) { return nil; }
}
impl Schedulable for d {
  fn heartbeat_interval(self) { return 20; }
  fn on_heartbeat(self) { return 1 / 0; }
}
"""


def lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def started():
    schedulers: list[Scheduler] = []

    def start(runtime, agents, **kwargs) -> Scheduler:
        scheduler = Scheduler(runtime, agents, **kwargs)
        schedulers.append(scheduler)
        scheduler.start()
        return scheduler

    yield start
    for scheduler in schedulers:
        scheduler.stop()
        scheduler.join(BOUND)


def test_heartbeats_and_cron_hooks_run_until_stopped(make_runtime, tmp_path, started):
    rt = make_runtime(PROGRAM)
    scheduler = started(rt, ["bot"])
    space = tmp_path / "ws" / "botspace"
    wait_until(lambda: len(lines(space / "beats.txt")) >= 5, "five heartbeats")
    wait_until(lambda: lines(space / "cron.txt")[:2] == ["every_second"] * 2, "two cron runs")
    scheduler.stop()
    scheduler.join(BOUND)
    assert not any(t.is_alive() for t in threading.enumerate() if t.name == "schedule-bot")
    status = scheduler.status("bot")
    assert status["heartbeats"] == len(lines(space / "beats.txt"))
    assert status["heartbeat_interval_ms"] == 50 and status["last_result"] == "alive"
    assert status["cron"]["every_second"]["runs"] == len(lines(space / "cron.txt"))
    assert status["cron"]["yearly"]["expression"] == "@yearly"
    assert status["cron"]["yearly"]["runs"] == 0
    assert status["cron"]["yearly"]["next"].endswith("-01-01T00:00:00Z")
    assert status["problems"] == [] and status["failures"] == 0


def test_an_inactive_agent_skips_its_due_calls(make_runtime, tmp_path, started):
    asked: list[str] = []

    def active(agent: str) -> bool:
        asked.append(agent)
        return False

    scheduler = started(make_runtime(PROGRAM), ["bot"], active=active)
    wait_until(lambda: len(asked) >= 5, "five due calls")
    assert scheduler.status("bot")["heartbeats"] == 0
    assert not (tmp_path / "ws" / "botspace" / "beats.txt").exists()


def test_bad_schedules_are_reported_and_failing_hooks_counted(make_runtime, started):
    scheduler = started(make_runtime(BAD), ["a", "b", "c", "d"])
    a, b, c = (scheduler.status(name) for name in "abc")
    assert a["heartbeat_interval_ms"] is None
    assert a["problems"] == [
        "no heartbeat: heartbeat_interval() must return a positive number of ms, not 'soon'",
        "on_cron is defined but no cron() declares a schedule",
    ]
    assert list(b["cron"]) == ["0 3 * * *"]
    assert len(b["problems"]) == 1 and b["problems"][0].startswith("cron schedule 'not cron':")
    assert c["heartbeat_interval_ms"] == DEFAULT_HEARTBEAT_MS  # no heartbeat_interval()
    wait_until(lambda: scheduler.status("d")["failures"] >= 2, "two failed heartbeats")
    d = scheduler.status("d")
    assert d["heartbeats"] == 0 and "division by zero" in d["last_error"]
    assert d["last_error"].startswith("on_heartbeat: ")
