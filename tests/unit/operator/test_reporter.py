"""The in-pod reporter against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from neam.report import reporter_from_env, write_termination_message

from tests.support.patch_recorder import PatchRecorder, patch_recorder

RESOURCE = "neam.dev/v1alpha1/namespaces/team-a/forgeruns/demo"


@dataclass
class Progress:
    iteration: int = 2
    max_iterations: int | None = 5
    total_cost: Decimal = Decimal("0.00420")
    current_task: str | None = "write the parser"
    outcome: str = "running"
    message: str | None = None
    git: dict[str, str] | None = None


@pytest.fixture
def recorder() -> Iterator[PatchRecorder]:
    with patch_recorder() as r:
        yield r


def _env(recorder: PatchRecorder, tmp_path: Path) -> dict[str, str]:
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    return {
        "NEAM_REPORT_RESOURCE": RESOURCE,
        "NEAM_REPORT_SERVER": recorder.url,
        "NEAM_REPORT_TOKEN_FILE": str(token),
    }


def test_no_resource_means_no_reporter() -> None:
    assert reporter_from_env({}) is None
    assert reporter_from_env({"NEAM_REPORT_RESOURCE": "not/a/path"}) is None
    assert reporter_from_env({"NEAM_REPORT_RESOURCE": RESOURCE}) is None  # no API server


def test_patches_status_progress(recorder: PatchRecorder, tmp_path: Path) -> None:
    report = reporter_from_env(_env(recorder, tmp_path))
    assert report is not None
    report(Progress())
    (call,) = recorder.calls
    assert call["path"] == f"/apis/{RESOURCE}/status"
    assert call["auth"] == "Bearer secret-token"
    assert call["type"] == "application/merge-patch+json"
    progress = call["body"]["status"]["progress"]
    assert progress["iteration"] == 2 and progress["maxIterations"] == 5
    assert progress["totalCost"] == "0.0042"
    assert progress["currentTask"] == "write the parser"
    assert progress["outcome"] == "running"


def test_failures_are_never_fatal_and_never_log_the_token(
    recorder: PatchRecorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = _env(recorder, tmp_path)
    recorder.status = 403
    report = reporter_from_env(env)
    assert report is not None
    report(Progress())
    dead = reporter_from_env({**env, "NEAM_REPORT_SERVER": "http://127.0.0.1:9"})
    assert dead is not None
    dead(Progress())
    assert "HTTP 403" in caplog.text
    assert "secret-token" not in caplog.text


def test_termination_message(tmp_path: Path) -> None:
    target = tmp_path / "termination-log"
    env = {"NEAM_TERMINATION_MESSAGE_PATH": str(target)}
    write_termination_message("completed", 3, Decimal("0.10"), "done", env=env)
    assert json.loads(target.read_text()) == {
        "outcome": "completed",
        "iterations": 3,
        "total_cost": "0.1",
        "message": "done",
    }
    write_termination_message("completed", 3, 0, env={})  # unset: nothing happens
