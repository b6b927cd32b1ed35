"""Workspace checkpoints after every forge iteration: ``git``, ``snapshot`` or ``none``.

``git`` initialises a repository in the workspace itself when it has none (even
if the workspace sits inside another repository), stages everything and commits
(``--allow-empty``, so every iteration has a commit). The workspace is trusted
explicitly (``safe.directory``): volumes mounted with an ``fsGroup`` have a root
directory owned by root, not by the runtime's user, and git refuses such
repositories as "dubious ownership" otherwise. ``snapshot`` copies the
workspace to ``.neam-forge/snapshots/iter-NNNN``. The runtime's own state
directory is excluded from both.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from neam.agents.forge_state import STATE_DIR

MODES = ("git", "snapshot", "none")
_GIT_IDENTITY = [
    "-c",
    "user.name=neam-forge",
    "-c",
    "user.email=neam-forge@localhost",
    "-c",
    "commit.gpgsign=false",
]


class CheckpointError(RuntimeError):
    pass


def _git(workspace: Path, *args: str) -> str:
    # Command-line configuration is "protected", so git honours safe.directory here.
    trust = ["-c", f"safe.directory={workspace.resolve()}"]
    proc = subprocess.run(
        ["git", "-C", str(workspace), *_GIT_IDENTITY, *trust, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise CheckpointError(f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def git_commit(workspace: Path, message: str) -> None:
    if not (workspace / ".git").exists():
        _git(workspace, "init", "-q")
        exclude = workspace / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with open(exclude, "a", encoding="utf-8") as fh:
            fh.write(f"/{STATE_DIR}/\n")
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-q", "--allow-empty", "--no-verify", "-m", message)


def snapshot(workspace: Path, iteration: int) -> Path:
    target = workspace / STATE_DIR / "snapshots" / f"iter-{iteration:04d}"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(
        workspace, target, symlinks=True, ignore=shutil.ignore_patterns(STATE_DIR, ".git")
    )
    return target


def commit_message(iteration: int, task: str) -> str:
    """``neam-forge: iteration N: <task>``, the task on one printable line."""
    printable = "".join(ch if ch.isprintable() else " " for ch in task)
    short = " ".join(printable.split())[:120]
    return f"neam-forge: iteration {iteration}: {short}"


def checkpoint(mode: str, workspace: Path, iteration: int, task: str) -> None:
    """Records the workspace after ``iteration`` (which worked on ``task``)."""
    if mode == "git":
        git_commit(workspace, commit_message(iteration, task))
    elif mode == "snapshot":
        snapshot(workspace, iteration)
    elif mode != "none":
        raise CheckpointError(f"unknown checkpoint mode {mode!r}; use one of {MODES}")
