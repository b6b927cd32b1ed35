"""neam-api restarts (real processes on one workspace and sessions directory): a forge
run its server did not finish (a crash, or the drain of a SIGTERM) is listed as
interrupted with its persisted state and resumes on start with the limits it was
started with, or by itself with --resume-forge; a run stopped on request is not
resumed; claw sessions survive."""

from __future__ import annotations

import json
import signal
import time

import httpx

from tests.support.api_process import WAIT, launch, wait_started
from tests.support.llm_stubs import FAST_RETRY_ENV

PROGRAM = """
fun never_done(ctx) { return "retry: keep going"; }

forge agent builder {
  provider: "openai"
  model: "gpt-4o"
  system: "You build."
  verify: never_done
  loop: { max_iterations: 50 }
}

claw agent helper {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You help."
}
"""
FORGE = "/api/v1/forge"
STATUS = f"{FORGE}/builder/status"
START = f"{FORGE}/builder/start"


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Servers:
    """Starts neam-api processes on one set of directories; stops them at the end."""

    def __init__(self, tmp_path, llm) -> None:
        self.tmp_path = tmp_path
        self.program = tmp_path / "restart.neam"
        self.program.write_text(PROGRAM)
        self.env = {**llm.env(), **FAST_RETRY_ENV}
        self.procs: list = []

    def start(self, *flags: str) -> str:
        proc, url = launch(self.tmp_path, self.env, "--program", str(self.program), *flags)
        self.procs.append(proc)
        wait_started(proc, url)
        return url

    def stop(self, sig: int = signal.SIGTERM) -> int:
        proc = self.procs[-1]
        proc.send_signal(sig)
        proc.communicate(timeout=WAIT)
        return proc.returncode

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def state_file(tmp_path) -> dict:
    return json.loads((tmp_path / "w" / "builder" / ".neam-forge" / "builder.json").read_text())


def listed(url: str) -> dict:
    [entry] = httpx.get(f"{url}{FORGE}").json()["forge_agents"]
    return entry


def test_a_crashed_run_is_listed_interrupted_and_resumes_on_start(tmp_path, llm) -> None:
    servers = Servers(tmp_path, llm)
    try:
        url = servers.start()
        llm.reply("step one")
        llm.reply("step two")
        llm.reply("step three", gate="crash")  # the third iteration's call never returns
        r = httpx.post(f"{url}{START}", json={"max_iterations": 7})
        assert r.json()["max_iterations"] == 7
        wait_for(lambda: len(llm.requests) == 3, "the third model call")
        assert servers.stop(signal.SIGKILL) == -signal.SIGKILL
        saved = state_file(tmp_path)
        assert (saved["outcome"], saved["iteration"], saved["max_iterations"]) == ("running", 3, 7)

        url = servers.start()
        entry = listed(url)
        assert entry["running"] is False and entry["interrupted"] is True
        assert (entry["iteration"], entry["last_outcome"]) == (3, "aborted")
        assert entry["total_cost"] > 0 and entry["total_cost"] == float(saved["total_cost"])
        status = httpx.get(f"{url}{STATUS}").json()
        assert status["interrupted"] is True and status["max_iterations"] == 7
        assert "interrupted at iteration 3" in status["message"]

        # start without a body: the run resumes with the limits it was started with
        r = httpx.post(f"{url}{START}")
        assert r.status_code == 200 and r.json()["max_iterations"] == 7
        final = wait_for(
            lambda: (s := httpx.get(f"{url}{STATUS}").json())["running"] is False and s,
            "the resumed run to end",
        )
        assert (final["last_outcome"], final["iteration"]) == ("iteration_limit", 7)
        assert final["interrupted"] is False and listed(url)["interrupted"] is False
    finally:
        llm.release("crash")
        servers.close()


def test_a_drained_run_resumes_by_itself_with_resume_forge(tmp_path, llm) -> None:
    servers = Servers(tmp_path, llm)
    try:
        url = servers.start("--drain-seconds", "30")
        llm.reply("step one")
        llm.reply("step two", gate="drain")
        assert httpx.post(f"{url}{START}", json={"max_iterations": 5}).status_code == 200
        wait_for(lambda: len(llm.requests) == 2, "the second model call")
        servers.procs[-1].send_signal(signal.SIGTERM)
        wait_for(lambda: httpx.get(f"{url}/ready").status_code == 503, "the drain")
        llm.release("drain")  # the iteration in progress finishes, then the loop stops
        servers.procs[-1].communicate(timeout=WAIT)
        assert servers.procs[-1].returncode == 0
        saved = state_file(tmp_path)
        assert (saved["outcome"], saved["iteration"]) == ("running", 2)
        assert saved["message"].startswith("Interrupted by a server shutdown after iteration 2")

        url = servers.start()  # without the flag: listed, not started
        entry = listed(url)
        assert (entry["interrupted"], entry["running"], entry["iteration"]) == (True, False, 2)
        assert servers.stop() == 0
        assert state_file(tmp_path)["iteration"] == 2

        url = servers.start("--resume-forge")
        final = wait_for(
            lambda: (
                (s := httpx.get(f"{url}{STATUS}").json())["last_outcome"] == "iteration_limit" and s
            ),
            "the resumed run to end",
        )
        assert final["iteration"] == 5 and final["max_iterations"] == 5
    finally:
        llm.release("drain")
        servers.close()


def test_a_run_stopped_on_request_is_not_resumed(tmp_path, llm) -> None:
    servers = Servers(tmp_path, llm)
    try:
        url = servers.start()
        llm.reply("step one", gate="stop")
        assert httpx.post(f"{url}{START}").status_code == 200
        wait_for(lambda: llm.requests, "the first model call")
        assert httpx.post(f"{url}{FORGE}/builder/stop").status_code == 200
        llm.release("stop")
        wait_for(lambda: not httpx.get(f"{url}{STATUS}").json()["running"], "the stop")
        assert servers.stop() == 0
        url = servers.start("--resume-forge")
        entry = listed(url)
        assert (entry["last_outcome"], entry["interrupted"], entry["running"]) == (
            "aborted",
            False,
            False,
        )
        assert len(llm.requests) == 1  # nothing was resumed
    finally:
        llm.release("stop")
        servers.close()


def test_claw_sessions_survive_a_restart(tmp_path, llm) -> None:
    servers = Servers(tmp_path, llm)
    message = "/api/v1/claw/helper/sessions/user_42/message"
    try:
        url = servers.start()
        llm.reply("Nice to meet you, Ada.")
        assert httpx.post(f"{url}{message}", json={"message": "My name is Ada."}).status_code == 200
        assert servers.stop() == 0
        url = servers.start()
        r = httpx.post(f"{url}{message}", json={"message": "What is my name?"})
        assert r.status_code == 200
        sent = [(m["role"], m["content"]) for m in llm.requests[-1].json["messages"]]
        assert sent[1:] == [
            ("user", "My name is Ada."),
            ("assistant", "Nice to meet you, Ada."),
            ("user", "What is my name?"),
        ]
    finally:
        servers.close()
