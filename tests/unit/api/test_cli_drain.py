"""The neam-api process: flags, load failure, and the SIGTERM drain (real subprocess)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from neam.cli.api import build_parser, settings_from_args

from tests.support.api_process import WAIT, launch, wait_started
from tests.support.llm_stubs import FAST_RETRY_ENV
from tests.support.operator_harness import free_port

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "api" / "agents.neam"


def test_flags_of_chapter_28_5(tmp_path) -> None:
    args = build_parser().parse_args(
        [
            "--program", "agents.neam", "--host", "127.0.0.1", "--port", "9090",
            "--workers", "8", "--pool-size", "6", "--llm-pool-size", "16",
            "--timeout", "120000", "--drain-seconds", "30", "--audit-sink", "file",
            "--audit-log", str(tmp_path / "audit.jsonl"), "--bytecode", str(tmp_path),
        ]
    )  # fmt: skip
    env = {
        "NEAM_API_KEY": "k1, k2",
        "NEAM_ADMIN_KEY": "adm",
        "NEAM_SESSIONS_DIR": "/data/sessions",
        "NEAM_WORKSPACE_DIR": "/data/ws",
    }
    s = settings_from_args(args, env)
    assert (s.host, s.port, s.workers, s.effective_pool_size) == ("127.0.0.1", 9090, 8, 6)
    assert (s.llm_pool_size, s.timeout_seconds, s.drain_seconds) == (16, 120.0, 30.0)
    assert s.api_keys == ("k1", "k2") and s.admin_keys == ("adm",)
    assert s.sessions_dir == Path("/data/sessions") and s.workspace_dir == Path("/data/ws")
    assert s.bytecode_dir == tmp_path and s.audit_sink == "file"
    defaults = settings_from_args(build_parser().parse_args(["--program", "x.neam"]), {})
    assert (defaults.host, defaults.port, defaults.workers) == ("0.0.0.0", 8080, 4)
    assert (defaults.effective_pool_size, defaults.llm_pool_size) == (4, 8)
    assert (defaults.timeout_ms, defaults.drain_seconds, defaults.audit_sink) == (
        60_000, 10.0, "stderr",
    )  # fmt: skip
    assert defaults.dev_mode


def test_bind_address_from_the_environment() -> None:
    # A platform can keep every server on loopback without touching command lines.
    env = {"NEAM_API_HOST": "127.0.0.1"}
    from_env = settings_from_args(build_parser().parse_args(["--program", "x.neam"]), env)
    assert from_env.host == "127.0.0.1"
    flag = build_parser().parse_args(["--program", "x.neam", "--host", "::1"])
    assert settings_from_args(flag, env).host == "::1"


@pytest.mark.parametrize(
    "argv",
    [[], ["--program", "x.neam", "--audit-sink", "file"], ["--program", "x", "--workers", "0"]],
)
def test_bad_flag_combinations_exit_2(argv) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "neam.cli.api", *argv], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert "neam-api: error:" in run.stderr


def test_a_program_that_does_not_compile_exits_1(tmp_path) -> None:
    bad = tmp_path / "bad.neam"
    bad.write_text("claw agent broken {\n  provider: \n}\n")
    proc, _ = launch(tmp_path, {}, "--program", str(bad))
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 1
    assert "cannot load the program" in err and "bad.neam" in err
    assert "development mode" in err  # no NEAM_API_KEY: warned at start


def test_sigterm_drains_in_flight_work_then_exits_0(tmp_path, llm) -> None:
    env = {**llm.env(), **FAST_RETRY_ENV, "NEAM_API_KEY": "k"}
    proc, url = launch(tmp_path, env, "--program", str(EXAMPLE), "--drain-seconds", "20")
    auth = {"Authorization": "Bearer k"}
    try:
        wait_started(proc, url)
        assert httpx.get(f"{url}/ready").status_code == 200
        # a forge loop whose iterations take a while, and a slow claw turn
        for _ in range(10):
            llm.reply("working", delay=1.0)
        start = httpx.post(f"{url}/api/v1/forge/code_builder/start", headers=auth, json={})
        assert start.status_code == 200
        # wait until the loop's first LLM call is in flight
        deadline = time.monotonic() + WAIT
        while not llm.requests:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        reply: dict[str, httpx.Response] = {}

        def slow_message() -> None:
            reply["r"] = httpx.post(
                f"{url}/api/v1/claw/support_bot/sessions/drain/message",
                headers=auth, json={"message": "still there?"}, timeout=WAIT,
            )  # fmt: skip

        sent = len(llm.requests)
        client = threading.Thread(target=slow_message)
        client.start()
        while len(llm.requests) == sent:  # the claw turn reached the LLM: it is in flight
            assert time.monotonic() < deadline
            time.sleep(0.01)

        proc.send_signal(signal.SIGTERM)
        ready = httpx.get(f"{url}/ready")
        assert ready.status_code == 503
        assert "draining" in ready.json()["reason"]
        client.join(WAIT)
        assert reply["r"].status_code == 200  # the in-flight request finished
        _, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0
        assert "asked forge loops to stop after their iteration: code_builder" in err
        assert "drain period over" not in err
        # the loop stopped well before its 25 iterations
        assert len(llm.requests) < 25
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_bytecode_dir_resolution(tmp_path) -> None:
    from neam.api.loader import ProgramNotFoundError, resolve_program
    from neam.api.settings import Settings

    def resolve(**kw):
        return resolve_program(Settings(env={}, **kw))

    (tmp_path / "a.neamb").write_text("{}")
    assert resolve(bytecode_dir=tmp_path) == tmp_path / "a.neamb"
    (tmp_path / "b.neamb").write_text("{}")
    with pytest.raises(ProgramNotFoundError, match=r"a\.neamb, b\.neamb"):
        resolve(bytecode_dir=tmp_path)
    assert resolve(bytecode_dir=tmp_path, program=Path("b")) == tmp_path / "b.neamb"
    (tmp_path / "main.neamb").write_text("{}")
    assert resolve(bytecode_dir=tmp_path) == tmp_path / "main.neamb"
    with pytest.raises(ProgramNotFoundError, match="not found in --bytecode"):
        resolve(bytecode_dir=tmp_path, program=Path("zzz"))
    with pytest.raises(ProgramNotFoundError, match="no such file"):
        resolve(program=tmp_path / "missing.neam")


STUCK = """
skill spin {
  description: "Never returns"
  params: {}
  impl() { while true { } }
}
claw agent bot {
  provider: "openai"
  model: "stub-model"
  skills: [spin]
  call_timeout_seconds: 3600
}
"""


def test_a_stuck_call_does_not_keep_the_server_alive_after_sigterm(tmp_path, llm) -> None:
    program = tmp_path / "stuck.neam"
    program.write_text(STUCK)
    env = {**llm.env(), **FAST_RETRY_ENV}
    proc, url = launch(
        tmp_path, env, "--program", str(program), "--drain-seconds", "1", "--timeout", "600000"
    )
    try:
        wait_started(proc, url)
        llm.reply(tool_calls=[{"id": "c1", "name": "spin", "arguments": {}}])
        llm.reply("gave up")
        replies: dict[str, httpx.Response] = {}

        def message() -> None:
            try:
                replies["r"] = httpx.post(
                    f"{url}/api/v1/claw/bot/sessions/k/message",
                    json={"message": "go"},
                    timeout=WAIT,
                )
            except httpx.HTTPError as exc:  # the server may close the connection on shutdown
                replies["error"] = exc  # type: ignore[assignment]

        client = threading.Thread(target=message)
        client.start()
        deadline = time.monotonic() + WAIT
        while httpx.get(f"{url}/api/v1/health").json()["pool"]["busy"] == 0:
            assert time.monotonic() < deadline  # wait until a worker runs the skill
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=WAIT)  # without cancellation this never returns
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        client.join(WAIT)
        # At the end of the drain the skill was cancelled; the turn still answered.
        assert replies["r"].status_code == 200
        assert replies["r"].json()["response"] == "gave up"
        tool = [m for m in llm.requests[-1].json["messages"] if m["role"] == "tool"]
        assert "cancelled: the runtime is shutting down" in tool[0]["content"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_call_timeout_flag_and_environment() -> None:
    parse = build_parser().parse_args
    assert settings_from_args(parse(["--program", "x"]), {}).call_timeout_seconds == 10.0
    env = {"NEAM_CALL_TIMEOUT_SECONDS": "2.5"}
    assert settings_from_args(parse(["--program", "x"]), env).call_timeout_seconds == 2.5
    flag = parse(["--program", "x", "--call-timeout", "7"])
    assert settings_from_args(flag, env).call_timeout_seconds == 7.0
    for argv, environ in ((["--call-timeout", "0"], {}), ([], {"NEAM_CALL_TIMEOUT_SECONDS": "x"})):
        run = subprocess.run(
            [sys.executable, "-m", "neam.cli.api", "--program", "x.neam", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **environ},
        )
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr and "neam-api: error:" in run.stderr


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NEAM_API_KEY": ""}, "NEAM_API_KEY is set but holds no key"),
        ({"NEAM_API_KEY": " , ,"}, "NEAM_API_KEY is set but holds no key"),
        ({"NEAM_API_KEY": "k", "NEAM_ADMIN_KEY": "   "}, "NEAM_ADMIN_KEY is set but holds no key"),
        ({"NEAM_API_KEY": "good, has space"}, "NEAM_API_KEY: key 2 is empty or holds spaces"),
        ({"NEAM_ADMIN_KEY": "clé"}, "NEAM_ADMIN_KEY: key 1 is empty or holds spaces"),
    ],
)
def test_an_empty_or_unusable_key_refuses_to_start(tmp_path, env, needle) -> None:
    port = free_port()
    run = subprocess.run(
        [sys.executable, "-m", "neam.cli.api", "--program", str(EXAMPLE), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("NEAM_")}, **env},
        cwd=tmp_path,
    )
    assert run.returncode == 2
    assert needle in run.stderr and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("neam-api: error: ")
    with pytest.raises(ValueError, match=needle):
        settings_from_args(build_parser().parse_args(["--program", "x"]), env)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--port", "99999"], "--port must be from 0 to 65535, not 99999"),
        (["--port", "-1"], "--port must be from 0 to 65535, not -1"),
        (["--audit-sink", "file", "--audit-log", "/proc/version/a.jsonl"], "--audit-log /proc"),
        (["--sessions-dir", "/proc/version/sessions"], "--sessions-dir /proc/version/sessions: "),
        (["--workspace-dir", "/proc/version/ws"], "--workspace-dir /proc/version/ws: "),
        (["--max-body-bytes", "0"], "--max-body-bytes must be at least 1"),
    ],
)
def test_bad_ports_and_paths_are_one_line_errors(tmp_path, argv, needle) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "neam.cli.api", "--program", str(EXAMPLE), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # the default directories are created here
    )
    assert run.returncode == 2, run.stderr
    assert needle in run.stderr and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("neam-api: error: ")
