"""The stub as a standalone process, as used by demos and other test suites."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from neam.providers import get_provider

REPO = Path(__file__).resolve().parents[3]


def test_standalone_openai_stub(tmp_path: Path) -> None:
    replies = tmp_path / "replies.json"
    replies.write_text(
        json.dumps(
            [
                {"tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt"}}]},
                {"text": "done", "usage": {"input_tokens": 3, "output_tokens": 4}},
            ]
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.llm_stubs", "--port", "0", "--kind", "openai",
         "--replies", str(replies), "--api-key", "sk-demo"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        url = line.rsplit(" ", 1)[-1].strip()
        provider = get_provider(
            {"provider": "openai", "model": "gpt-4o-mini"},
            env={"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-demo"},
        )
        first = provider.chat([{"role": "user", "content": "make a.txt"}])
        assert first.tool_calls[0].name == "write_file"
        assert provider.chat([{"role": "user", "content": "again"}]).text == "done"
        assert provider.chat([{"role": "user", "content": "then"}]).text == "echo: then"

        root = url.removesuffix("/v1")
        queued = httpx.post(f"{root}/_stub/replies", json=[{"text": "via control"}])
        assert queued.json() == {"queued": 1}
        assert provider.chat([{"role": "user", "content": "x"}]).text == "via control"
        recorded = httpx.get(f"{root}/_stub/requests").json()
        assert len(recorded) == 4
        assert recorded[0]["json"]["messages"][0]["content"] == "make a.txt"
        assert recorded[0]["headers"]["authorization"] == "Bearer sk-demo"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
