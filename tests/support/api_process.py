"""``neam-api`` as a real process on 127.0.0.1, for tests that need separate processes
(signals, exit codes, several servers sharing one sessions directory)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.operator_harness import free_port

WAIT = 30.0


def launch(tmp_path: Path, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen, str]:
    """Start ``neam-api`` with sessions and workspaces under ``tmp_path``; returns the
    process and its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "neam.cli.api", "--host", "127.0.0.1", "--port", str(port),
            "--sessions-dir", str(tmp_path / "s"), "--workspace-dir", str(tmp_path / "w"),
            *extra,
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}"


def wait_started(proc: subprocess.Popen, url: str) -> None:
    """Until ``/startup`` answers 200 (the program is loaded)."""
    deadline = time.monotonic() + WAIT
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(f"{url}/startup").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "neam-api did not start"
        time.sleep(0.05)
