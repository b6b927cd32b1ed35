import os
import subprocess

import pytest
from neam.agents.checkpoint import CheckpointError, checkpoint


def _git(ws, *args):
    return subprocess.run(
        ["git", "-C", str(ws), *args], capture_output=True, text=True, check=True
    ).stdout


def test_git_checkpoint_inits_commits_each_iteration_and_excludes_state(tmp_path):
    # The workspace sits inside another repository: it still gets its own.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "main.py").write_text("print(1)\n")
    (ws / ".neam-forge").mkdir()
    (ws / ".neam-forge" / "builder.json").write_text("{}")
    checkpoint("git", ws, 1, "Write main.py\nwith a twist")
    checkpoint("git", ws, 2, "Nothing changed")
    assert (ws / ".git").is_dir()
    log = _git(ws, "log", "--format=%s").splitlines()
    assert log == [
        "neam-forge: iteration 2: Nothing changed",
        "neam-forge: iteration 1: Write main.py with a twist",
    ]
    files = _git(ws, "ls-files").split()
    assert files == ["main.py"]
    assert _git(tmp_path, "log", "--oneline", "--all") == ""  # outer repo untouched


def test_snapshot_copies_workspace(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    checkpoint("snapshot", tmp_path, 3, "t")
    (tmp_path / "a.txt").write_text("two")
    checkpoint("snapshot", tmp_path, 4, "t")
    snaps = tmp_path / ".neam-forge" / "snapshots"
    assert (snaps / "iter-0003" / "a.txt").read_text() == "one"
    assert (snaps / "iter-0004" / "a.txt").read_text() == "two"
    assert not (snaps / "iter-0004" / ".neam-forge").exists()


def test_none_does_nothing_and_unknown_mode_fails(tmp_path):
    checkpoint("none", tmp_path, 1, "t")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(CheckpointError, match="unknown checkpoint mode"):
        checkpoint("zip", tmp_path, 1, "t")


def test_commit_message_survives_control_characters(tmp_path):
    checkpoint("git", tmp_path, 7, "bad\x00task\x1b[31m\ttab")
    log = _git(tmp_path, "log", "--format=%s").strip()
    assert log == "neam-forge: iteration 7: bad task [31m tab"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the workspace another owner")
def test_git_checkpoint_trusts_a_workspace_owned_by_another_user(tmp_path):
    # An fsGroup volume: its root directory belongs to root (here: uid 4321), not to
    # the runtime's user, which git refuses as "dubious ownership" unless trusted.
    ws = tmp_path / "ws"
    ws.mkdir()
    os.chown(ws, 4321, 4321)
    (ws / "main.py").write_text("print(1)\n")
    subprocess.run(["git", "-C", str(ws), "init", "-q"], check=True)
    refused = subprocess.run(["git", "-C", str(ws), "status"], capture_output=True, text=True)
    assert "dubious ownership" in refused.stderr
    checkpoint("git", ws, 1, "Write main.py")
    checkpoint("git", ws, 2, "Again")
    log = subprocess.run(
        ["git", "-C", str(ws), "-c", f"safe.directory={ws}", "log", "--format=%s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert log == ["neam-forge: iteration 2: Again", "neam-forge: iteration 1: Write main.py"]
