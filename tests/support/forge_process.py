"""``neam-forge`` as a real subprocess, for the CLI tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.llm_stubs import FAST_RETRY_ENV, LLMStub

FORGE_BIN = Path(sys.executable).parent / "neam-forge"
PRICE_ENV = {"NEAM_PRICE_STUB_MODEL": "10000,0"}  # $0.01 per input token


def command(*args: str) -> list[str]:
    if FORGE_BIN.exists():
        return [str(FORGE_BIN), *args]
    return [sys.executable, "-m", "neam.cli.forge", *args]


def run_env(tmp_path: Path, stub: LLMStub | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEAM_", "OPENAI_"))}
    env.update({**FAST_RETRY_ENV, **PRICE_ENV, "NEAM_WORKSPACE_DIR": str(tmp_path), **extra})
    if stub is not None:
        env.update(stub.env())
    return env


def forge(
    tmp_path: Path, *args: str, stub: LLMStub | None = None, stdin: str = "", **env: str
) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run ``neam-forge`` to its end; its one JSON line, parsed."""
    proc = subprocess.run(
        command(*args),
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=run_env(tmp_path, stub, **env),
        timeout=120,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout + proc.stderr
    return proc, json.loads(lines[0])
