"""``neam-forge --git-url``: the workspace is a clone, the result a pushed branch.
Real Git servers on 127.0.0.1 (``git http-backend`` behind basic auth, ``git daemon``),
a real OpenAI-compatible stub, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from neam.agents.git_workspace import GitSource, GitWorkspace, strip_credentials

from tests.support.forge_process import command, forge, run_env
from tests.support.git_server import bare_repo, git, git_daemon, http_git_server
from tests.support.llm_stubs import LLMStub, StubReply

PROGRAM = """
skill write_file {
  description: "Write a file"
  params: { path: string, content: string }
  impl(path, content) {
    workspace_write(path, content);
    return "Wrote " + path;
  }
}

fun verify_fn(ctx) {
  if (ctx.current_task == "Write feature.py") {
    return workspace_read("feature.py") != nil;
  }
  return workspace_read("test_feature.py") != nil;
}

forge agent builder {
  provider: "openai"
  model: "stub-model"
  system: "Follow PLAN.md."
  skills: [write_file]
  verify: verify_fn
  loop: { max_iterations: 6, plan_file: "PLAN.md" }
}
"""
PLAN = "# Plan\n- Write feature.py\n- Write test_feature.py\n"
PASSWORD = "s3cr3t-token-5f2e9"


def write(path: str, content: str, **extra: object) -> StubReply:
    call = {"name": "write_file", "arguments": {"path": path, "content": content}}
    return StubReply(tool_calls=[call], **extra)  # type: ignore[arg-type]


def two_tasks(llm: LLMStub, gate: str | None = None) -> None:
    llm.enqueue(
        write("feature.py", "def feature():\n    return 1\n"),
        StubReply(text="wrote feature.py"),
        write("test_feature.py", "from feature import feature\n", gate=gate),
        StubReply(text="wrote the test"),
    )


@pytest.fixture
def repos(tmp_path: Path) -> Path:
    root = tmp_path / "repos"
    root.mkdir()
    bare = bare_repo(root, "app", {"README.md": "v1\n", "PLAN.md": PLAN})
    # A second commit on main, tagged v2; v1 stays the first one.
    git(bare, "tag", "v1", "main")
    work = root / ".app-seed"
    (work / "README.md").write_text("v2\n")
    git(work, "commit", "-qam", "second commit")
    git(work, "push", "-q", str(bare), "main")
    return root


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "builder.neam"
    path.write_text(PROGRAM)
    return path


@pytest.fixture
def creds(tmp_path: Path) -> Path:
    directory = tmp_path / "git-creds"
    directory.mkdir()
    (directory / "username").write_text("forge")
    (directory / "password").write_text(PASSWORD)
    return directory


@pytest.fixture
def llm():
    with LLMStub("openai") as stub:
        yield stub


def remote_log(bare: Path, ref: str) -> list[str]:
    return git(bare, "log", "--format=%s", ref).splitlines()


def everything_under(path: Path) -> str:
    """Every file's bytes under ``path`` (the workspace and its .git), as text."""
    return "".join(
        p.read_bytes().decode("utf-8", "replace") for p in path.rglob("*") if p.is_file()
    )


def test_clone_at_a_revision_push_per_task_and_no_credentials_anywhere(
    tmp_path: Path, repos: Path, program: Path, creds: Path, llm: LLMStub
) -> None:
    bare = repos / "app.git"
    v1 = git(bare, "rev-parse", "v1").strip()
    ws = tmp_path / "ws"
    termination = tmp_path / "termination-log"
    two_tasks(llm, gate="task-2")
    with http_git_server(repos, "forge", PASSWORD) as server:
        url = f"{server.url}/app.git"
        proc = subprocess.Popen(
            command(
                "--agent", str(program), "--workspace", str(ws), "--git-url", url,
                "--git-revision", "v1", "--git-author", "Ada Lovelace <ada@example.invalid>",
                "--git-credentials", str(creds), "--verbose",
            ),
            env=run_env(tmp_path, llm, NEAM_TERMINATION_MESSAGE_PATH=str(termination)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            # While task 2's model call is held, task 1 is verified and already pushed.
            deadline = time.monotonic() + 60
            while len(llm.requests) < 3:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            assert remote_log(bare, "neam/builder") == [
                "neam-forge: iteration 1: Write feature.py",
                "initial commit",
            ]
        finally:
            llm.release("task-2")
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["outcome"] == "completed" and result["iterations"] == 2
    head = git(bare, "rev-parse", "neam/builder").strip()
    assert result["git"] == {
        "url": url,
        "branch": "neam/builder",
        "baseCommit": v1,
        "headCommit": head,
    }
    assert remote_log(bare, "neam/builder") == [
        "neam-forge: iteration 2: Write test_feature.py",
        "neam-forge: iteration 1: Write feature.py",
        "initial commit",
    ]
    author = git(bare, "log", "-1", "--format=%an <%ae>", "neam/builder").strip()
    assert author == "Ada Lovelace <ada@example.invalid>"
    assert (ws / "README.md").read_text() == "v1\n"  # the revision asked for, not main
    assert git(bare, "show", "neam/builder:feature.py").startswith("def feature")
    assert ".neam-forge" not in git(bare, "ls-tree", "-r", "--name-only", "neam/builder")
    assert json.loads(termination.read_text())["git"]["headCommit"] == head
    # The token is in no file of the workspace (.git included) and in no output.
    for where, text in {
        "workspace": everything_under(ws),
        "stdout": out,
        "stderr": err,
        "termination message": termination.read_text(),
    }.items():
        assert PASSWORD not in text, where
    assert {user for _, _, user in server.requests} == {None, "forge"}


def test_git_daemon_default_revision_and_a_commit_id(
    tmp_path: Path, repos: Path, program: Path, llm: LLMStub
) -> None:
    bare = repos / "app.git"
    main = git(bare, "rev-parse", "main").strip()
    v1 = git(bare, "rev-parse", "v1").strip()
    with git_daemon(repos) as base:
        two_tasks(llm)
        _, result = forge(
            tmp_path, "--agent", str(program), "--workspace", str(tmp_path / "a"),
            "--git-url", f"{base}/app.git", "--push-branch", "work/a", stub=llm,
        )  # fmt: skip
        assert result["outcome"] == "completed", result
        assert result["git"]["baseCommit"] == main  # the remote's HEAD
        two_tasks(llm)
        _, result = forge(
            tmp_path, "--agent", str(program), "--workspace", str(tmp_path / "b"),
            "--git-url", f"{base}/app.git", "--git-revision", v1, "--push-branch", "work/b",
            stub=llm,
        )  # fmt: skip
    assert result["outcome"] == "completed", result
    assert result["git"]["baseCommit"] == v1
    assert git(bare, "rev-parse", "work/b~2").strip() == v1


def test_resume_after_sigkill_pushes_the_rest_without_rewriting_history(
    tmp_path: Path, repos: Path, program: Path, creds: Path, llm: LLMStub
) -> None:
    bare = repos / "app.git"
    ws = tmp_path / "ws"
    two_tasks(llm, gate="task-2")
    with http_git_server(repos, "forge", PASSWORD) as server:
        args = (
            "--agent", str(program), "--workspace", str(ws), "--git-url",
            f"{server.url}/app.git", "--git-credentials", str(creds),
        )  # fmt: skip
        first = subprocess.Popen(
            command(*args), env=run_env(tmp_path, llm), stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while len(llm.requests) < 3:
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        pushed = git(bare, "rev-parse", "neam/builder").strip()
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        llm.release("task-2")
        llm.reset()
        llm.enqueue(write("test_feature.py", "from feature import feature\n"), "done")
        _, result = forge(tmp_path, *args, stub=llm)
    assert result["outcome"] == "completed", result
    head = git(bare, "rev-parse", "neam/builder").strip()
    # A fast-forward of what the killed run had pushed.
    git(bare, "merge-base", "--is-ancestor", pushed, head)
    assert result["git"]["headCommit"] == head
    assert git(bare, "show", "neam/builder:test_feature.py").startswith("from feature")


def test_wrong_credentials_are_reported_clearly(
    tmp_path: Path, repos: Path, program: Path, llm: LLMStub
) -> None:
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "username").write_text("forge")
    (wrong / "password").write_text("not-the-token")
    with http_git_server(repos, "forge", PASSWORD) as server:
        url = f"{server.url}/app.git"
        proc, result = forge(
            tmp_path, "--agent", str(program), "--workspace", str(tmp_path / "ws"),
            "--git-url", url, "--git-credentials", str(wrong), stub=llm,
        )  # fmt: skip
    assert proc.returncode == 1 and result["outcome"] == "error"
    assert result["message"].startswith(f"cloning {url} failed: ")
    assert "check the username and password/token" in result["message"]
    assert "not-the-token" not in proc.stdout + proc.stderr
    assert llm.requests == []


def test_commits_it_did_not_make_are_never_overwritten(
    tmp_path: Path, repos: Path, program: Path, llm: LLMStub
) -> None:
    bare = repos / "app.git"
    work = repos / ".app-seed"
    git(work, "checkout", "-qb", "neam/builder")
    (work / "OTHER.md").write_text("someone else's work\n")
    git(work, "add", "OTHER.md")
    git(work, "commit", "-qm", "someone else's commit")
    git(work, "push", "-q", str(bare), "neam/builder")
    theirs = git(bare, "rev-parse", "neam/builder").strip()
    two_tasks(llm)
    with git_daemon(repos) as base:
        _, result = forge(
            tmp_path, "--agent", str(program), "--workspace", str(tmp_path / "ws"),
            "--git-url", f"{base}/app.git", stub=llm,
        )  # fmt: skip
    assert result["outcome"] == "completed"  # the loop's work is done, and kept locally
    assert result["message"] == (
        "All tasks completed; pushing branch neam/builder failed: the remote branch "
        "neam/builder has commits this run did not make; not overwriting them"
    )
    assert git(bare, "rev-parse", "neam/builder").strip() == theirs
    assert result["git"]["pushError"].startswith("pushing branch neam/builder failed")


def test_credentials_in_the_url_are_refused(tmp_path: Path, program: Path) -> None:
    proc, result = forge(
        tmp_path, "--agent", str(program), "--workspace", str(tmp_path / "ws"),
        "--git-url", "https://forge:secret@127.0.0.1:9/app.git",
    )  # fmt: skip
    assert proc.returncode == 1
    assert result["message"].startswith("the Git URL must not hold credentials")
    assert "secret" not in proc.stdout.replace("credentials", "") + proc.stderr


def test_ssh_credentials_need_known_hosts_and_pin_them(tmp_path: Path, program: Path) -> None:
    creds = tmp_path / "ssh"
    creds.mkdir()
    (creds / "ssh-privatekey").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    proc, result = forge(
        tmp_path, "--agent", str(program), "--workspace", str(tmp_path / "ws"),
        "--git-url", "ssh://git@127.0.0.1:9/app.git", "--git-credentials", str(creds),
    )  # fmt: skip
    assert proc.returncode == 1
    assert "has ssh-privatekey but no known_hosts" in result["message"]
    (creds / "known_hosts").write_text("[127.0.0.1]:9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n")
    source = GitSource("ssh://git@127.0.0.1:9/app.git", "neam/x", credentials=creds)
    env = GitWorkspace(tmp_path / "ws", source)._env()
    assert env["GIT_SSH_COMMAND"] == (
        f"ssh -i {creds / 'ssh-privatekey'} -o IdentitiesOnly=yes "
        f"-o UserKnownHostsFile={creds / 'known_hosts'} -o StrictHostKeyChecking=yes "
        "-o BatchMode=yes"
    )
    assert "NEAM_GIT_CREDENTIALS_DIR" not in env and env["GIT_TERMINAL_PROMPT"] == "0"


def test_credentials_are_stripped_from_reported_urls() -> None:
    assert strip_credentials("https://bot:tok@h/a.git") == "https://h/a.git"
    assert strip_credentials("https://tok@h/a.git") == "https://h/a.git"
    assert strip_credentials("ssh://git:pw@h/a.git") == "ssh://git@h/a.git"
    assert strip_credentials("ssh://git@h/a.git") == "ssh://git@h/a.git"
    assert strip_credentials("git@github.com:o/r.git") == "git@github.com:o/r.git"
