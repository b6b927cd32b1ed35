"""neam-api server overhead, next to a minimal uvicorn app on the same machine.

Everything runs as separate processes on 127.0.0.1: the zero-latency
OpenAI-compatible stub (``tests/support/llm_stubs.py``), ``neam-api`` serving
``examples/api/agents.neam``, and a minimal raw-ASGI uvicorn app that parses a
JSON body and answers JSON. The load generator is this process (httpx).

Reported:
1. serial latency p50/p99 of the minimal app, of the stub called directly, of
   ``GET /health`` and of claw messages; server overhead = claw message minus
   the direct stub call (what neam-api adds: HTTP, auth, routing, thread hop,
   session file append, prompt building);
2. requests/s with concurrent clients, claw message vs minimal app, and the ratio;
3. claw latency in a fresh session vs a session that already holds 10,000 turns.

Run: ``python -m bench api``.
"""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from neam.agents.sessions import SessionStore
from neam.api.metrics import percentile

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "examples" / "api" / "agents.neam"
SERIAL_REQUESTS = 400
CONCURRENT_REQUESTS = 1600
CLIENTS = 8
SESSION_REQUESTS = 300
BIG_SESSION_TURNS = 10_000

MINIMAL_APP = """
import json, sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    data = json.loads(body) if body else {}
    out = json.dumps({"response": "echo: " + str(data.get("message", ""))}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


def _spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _serial(call: Callable[[httpx.Client], httpx.Response], n: int, url: str) -> list[float]:
    with httpx.Client(base_url=url) as client:
        for _ in range(20):  # warm-up
            call(client)
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            response = call(client)
            samples.append(time.perf_counter() - start)
            response.raise_for_status()
    return sorted(samples)


def _concurrent(call: Callable[[httpx.Client, int], httpx.Response], url: str) -> float:
    """Requests per second with CLIENTS threads sharing CONCURRENT_REQUESTS requests."""
    per_client = CONCURRENT_REQUESTS // CLIENTS
    errors: list[int] = []

    def worker(index: int) -> None:
        with httpx.Client(base_url=url) as client:
            for i in range(per_client):
                response = call(client, index * per_client + i)
                if response.status_code != 200:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return per_client * CLIENTS / elapsed


def _ms(samples: list[float], q: float) -> float:
    return percentile(samples, q) * 1000.0


def _row(name: str, samples: list[float]) -> str:
    return f"| {name} | {_ms(samples, 50):.2f} | {_ms(samples, 99):.2f} |"


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}, {cpu}), Python {platform.python_version()}"
    )


def _build_big_session(sessions_dir: Path) -> None:
    store = SessionStore(sessions_dir)
    with store.open("support_bot", "big", 50) as session:
        for i in range(BIG_SESSION_TURNS):
            store.append_turn(
                session, {"user": f"question {i}", "assistant": f"answer {i}", "tools": []}
            )


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    procs: list[subprocess.Popen] = []
    try:
        stub_port, api_port, min_port = _free_port(), _free_port(), _free_port()
        stub = _spawn([sys.executable, "-m", "tests.support.llm_stubs", "--port", str(stub_port)])
        procs.append(stub)
        stub_url = f"http://127.0.0.1:{stub_port}"
        _wait_http(f"{stub_url}/v1/models", stub)
        _build_big_session(tmp / "sessions")
        api = _spawn(
            [
                sys.executable, "-m", "neam.cli.api", "--program", str(PROGRAM),
                "--host", "127.0.0.1", "--port", str(api_port), "--workers", str(CLIENTS),
                "--sessions-dir", str(tmp / "sessions"), "--workspace-dir", str(tmp / "ws"),
                "--audit-sink", "file", "--audit-log", str(tmp / "audit.jsonl"),
                "--log-level", "warning",
            ],
            env={"OPENAI_BASE_URL": f"{stub_url}/v1", "OPENAI_API_KEY": "sk-bench"},
        )  # fmt: skip
        procs.append(api)
        minimal = _spawn([sys.executable, "-c", MINIMAL_APP, str(min_port)])
        procs.append(minimal)
        api_url, min_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{min_port}"
        _wait_http(f"{api_url}/ready", api)
        _wait_http(min_url, minimal)

        chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        body = {"message": "hello"}
        minimal_s = _serial(lambda c: c.post("/", json=body), SERIAL_REQUESTS, min_url)
        stub_s = _serial(
            lambda c: c.post("/v1/chat/completions", json=chat), SERIAL_REQUESTS, stub_url
        )
        health_s = _serial(lambda c: c.get("/health"), SERIAL_REQUESTS, api_url)
        counter = iter(range(10**9))
        claw_s = _serial(
            lambda c: c.post(
                f"/api/v1/claw/support_bot/sessions/s{next(counter) % 64}/message", json=body
            ),
            SERIAL_REQUESTS,
            api_url,
        )
        minimal_rps = _concurrent(lambda c, i: c.post("/", json=body), min_url)
        claw_rps = _concurrent(
            lambda c, i: c.post(f"/api/v1/claw/support_bot/sessions/c{i % 64}/message", json=body),
            api_url,
        )
        fresh = _serial(
            lambda c: c.post("/api/v1/claw/support_bot/sessions/fresh/message", json=body),
            SESSION_REQUESTS,
            api_url,
        )
        big = _serial(
            lambda c: c.post("/api/v1/claw/support_bot/sessions/big/message", json=body),
            SESSION_REQUESTS,
            api_url,
        )

        print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        print(f"machine: {_machine()}")
        print("| serial, 1 client | p50 ms | p99 ms |")
        print("|---|---|---|")
        print(_row("minimal uvicorn app, POST JSON", minimal_s))
        print(_row("stub LLM called directly", stub_s))
        print(_row("neam-api GET /health", health_s))
        print(_row("neam-api claw message (stub LLM)", claw_s))
        print(
            f"| server overhead (claw minus stub) | {_ms(claw_s, 50) - _ms(stub_s, 50):.2f} "
            f"| {_ms(claw_s, 99) - _ms(stub_s, 99):.2f} |"
        )
        print()
        print(f"| {CLIENTS} concurrent clients | requests/s |")
        print("|---|---|")
        print(f"| minimal uvicorn app | {minimal_rps:.0f} |")
        print(f"| neam-api claw message | {claw_rps:.0f} |")
        print(f"| ratio claw / minimal | {claw_rps / minimal_rps:.2f} |")
        print()
        print(f"| session, {SESSION_REQUESTS} messages | p50 ms | p99 ms |")
        print("|---|---|---|")
        print(_row("fresh session", fresh))
        print(_row(f"session with {BIG_SESSION_TURNS:,} turns", big))
        print(f"ratio p50 big / fresh: {_ms(big, 50) / _ms(fresh, 50):.2f}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
