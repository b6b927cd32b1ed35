"""A forge run on a Git repository: the workspace is cloned on the first start and the
result is pushed as a branch.

- First start (no ``.neam-forge/git.json``): ``git init`` in the workspace (which may
  hold the run's own state already), fetch the revision (default: the remote's
  ``HEAD``) shallowly where the server allows it, check it out as the push branch, and
  record the base commit. A resume keeps the workspace as it is.
- Credentials come from a directory of files (a mounted Secret): ``username`` and
  ``password`` (a token) for HTTP(S), or ``ssh-privatekey`` and ``known_hosts`` for
  SSH. They reach git through a credential helper given on its command line that reads
  those files, or through ``GIT_SSH_COMMAND``: never in the remote URL, the repository's
  config, a command line, the workspace, or any output.
- Push: ``git push origin HEAD:refs/heads/<branch>``, never forced, so commits the run
  did not make are never overwritten; a failed push is retried, then reported.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from neam.agents.forge_state import STATE_DIR

STATE_FILE = "git.json"
PUSH_ATTEMPTS = 3
# A credential helper that answers git from the files in $NEAM_GIT_CREDENTIALS_DIR.
HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'printf "username=%s\\npassword=%s\\n" '
    '"$(cat "$NEAM_GIT_CREDENTIALS_DIR/username")" '
    '"$(cat "$NEAM_GIT_CREDENTIALS_DIR/password")"; }; f'
)
# Credentials in a URL: any user info for the web and git schemes (a token alone counts),
# a password for ssh:// (its user, as in ssh://git@host/..., is not a secret).
_USERINFO = re.compile(r"^(?P<scheme>(?:https?|ftps?|git)://)[^/@]*@", re.IGNORECASE)
_SSH_PASSWORD = re.compile(r"^(?P<scheme>ssh://)(?P<user>[^/@:]*):[^/@]*@", re.IGNORECASE)


class GitSourceError(ValueError):
    """The repository could not be cloned (a clear, credential-free message)."""


def strip_credentials(url: str) -> str:
    """``url`` without the credentials it holds (see ``_USERINFO``)."""
    return _SSH_PASSWORD.sub(r"\g<scheme>\g<user>@", _USERINFO.sub(r"\g<scheme>", url))


def check_url(url: str) -> None:
    """Refuse a URL that carries credentials (they would end up in .git/config)."""
    if strip_credentials(url) != url:
        raise GitSourceError(
            "the Git URL must not hold credentials: give them as files "
            "(username and password, or ssh-privatekey and known_hosts)"
        )


def check_credentials(directory: Path) -> None:
    """A credentials directory must hold ``username`` and ``password``, or
    ``ssh-privatekey`` and ``known_hosts`` (no trust on first use)."""
    if (directory / "ssh-privatekey").is_file():
        if not (directory / "known_hosts").is_file():
            raise GitSourceError(
                f"{directory} has ssh-privatekey but no known_hosts: the server's key "
                "must be known (no trust on first use)"
            )
        return
    if not ((directory / "username").is_file() and (directory / "password").is_file()):
        raise GitSourceError(
            f"{directory} holds neither username and password nor ssh-privatekey and known_hosts"
        )


@dataclass(frozen=True)
class GitSource:
    url: str
    branch: str
    revision: str | None = None
    author_name: str = "neam-forge"
    author_email: str = "neam-forge@localhost"
    credentials: Path | None = None  # a directory of credential files


@dataclass
class GitStatus:
    """What the run reports about its repository (no credentials)."""

    url: str
    branch: str
    base_commit: str
    head_commit: str = ""
    pushed_commit: str = ""
    push_error: str = ""

    def report(self) -> dict[str, str]:
        out = {
            "url": self.url,
            "branch": self.branch,
            "baseCommit": self.base_commit,
            "headCommit": self.pushed_commit,
        }
        if self.push_error:
            out["pushError"] = self.push_error
        return out


class GitWorkspace:
    """The workspace as a clone of ``source``, its branch pushed back."""

    def __init__(self, workspace: Path, source: GitSource) -> None:
        check_url(source.url)
        self.workspace = workspace
        self.source = source
        self.state_path = workspace / STATE_DIR / STATE_FILE
        self.status: GitStatus | None = None

    # -- running git ----------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        creds = self.source.credentials
        env.pop("NEAM_GIT_CREDENTIALS_DIR", None)
        if creds is not None:
            check_credentials(creds)
            if (creds / "ssh-privatekey").is_file():
                hosts = creds / "known_hosts"
                env["GIT_SSH_COMMAND"] = (
                    f"ssh -i {creds / 'ssh-privatekey'} -o IdentitiesOnly=yes "
                    f"-o UserKnownHostsFile={hosts} -o StrictHostKeyChecking=yes "
                    "-o BatchMode=yes"
                )
            else:
                env["NEAM_GIT_CREDENTIALS_DIR"] = str(creds)
        return env

    def _git(self, *args: str, quiet: bool = False) -> subprocess.CompletedProcess[str]:
        config = [
            "-c", f"safe.directory={self.workspace.resolve()}",
            "-c", f"user.name={self.source.author_name}",
            "-c", f"user.email={self.source.author_email}",
            "-c", "commit.gpgsign=false",
        ]  # fmt: skip
        if self.source.credentials is not None:
            config += ["-c", f"credential.helper={HELPER}"]
        return subprocess.run(
            ["git", "-C", str(self.workspace), *config, *args],
            capture_output=True,
            text=True,
            env=self._env(),
            check=False,
        )

    def _must(self, what: str, *args: str) -> str:
        proc = self._git(*args)
        if proc.returncode != 0:
            raise GitSourceError(f"{what} failed: {_reason(proc.stderr)}")
        return proc.stdout.strip()

    # -- first start / resume ---------------------------------------------------------

    def prepare(self) -> GitStatus:
        """Clone on the first start; on a resume, read what the first start recorded."""
        if self.state_path.is_file():
            self.status = GitStatus(**json.loads(self.state_path.read_text(encoding="utf-8")))
            return self.status
        if (self.workspace / ".git").exists():
            raise GitSourceError(
                f"{self.workspace} already holds a Git repository that this run did not "
                "clone; use an empty workspace"
            )
        url = self.source.url
        self._must("git init", "init", "-q", "-b", self.source.branch)
        exclude = self.workspace / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text(f"/{STATE_DIR}/\n", encoding="utf-8")
        self._must("git remote add", "remote", "add", "origin", url)
        wanted = self.source.revision or "HEAD"
        shallow = self._git("fetch", "-q", "--depth", "1", "origin", wanted)
        if shallow.returncode != 0:
            # A commit id some servers only serve from a full fetch; a branch or tag that
            # does not exist fails again, with the real reason.
            if self._git("fetch", "-q", "origin").returncode != 0:
                raise GitSourceError(
                    f"cloning {strip_credentials(url)} failed: {_reason(shallow.stderr)}"
                )
            target = self._must(
                f"finding revision {wanted}", "rev-parse", "--verify", f"{wanted}^{{commit}}"
            )
        else:
            target = "FETCH_HEAD"
        self._must("checkout", "checkout", "-q", "-B", self.source.branch, target)
        base = self._must("git rev-parse", "rev-parse", "HEAD")
        self.status = GitStatus(strip_credentials(url), self.source.branch, base, base)
        self._save()
        return self.status

    def _save(self) -> None:
        assert self.status is not None
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(json.dumps(asdict(self.status)), encoding="utf-8")

    # -- the result -------------------------------------------------------------------

    def commit(self, message: str) -> None:
        """Commit everything (the run's checkpoint), as the configured author."""
        self._must("git add", "add", "-A")
        self._must("git commit", "commit", "-q", "--allow-empty", "--no-verify", "-m", message)

    def push(self) -> GitStatus:
        """Push the branch (fast-forward only), retrying; a failure is recorded, not raised."""
        assert self.status is not None
        self.status.head_commit = self._must("git rev-parse", "rev-parse", "HEAD")
        if self.status.head_commit == self.status.pushed_commit:
            return self.status
        ref = f"HEAD:refs/heads/{self.source.branch}"
        error = ""
        for attempt in range(PUSH_ATTEMPTS):
            proc = self._git("push", "-q", "origin", ref)
            if proc.returncode == 0:
                self.status.pushed_commit = self.status.head_commit
                error = ""
                break
            error = _reason(proc.stderr)
            if "rejected" in proc.stderr or "non-fast-forward" in proc.stderr:
                error = (
                    f"the remote branch {self.source.branch} has commits this run did not "
                    "make; not overwriting them"
                )
                break
            time.sleep(min(4.0, 0.5 * 2**attempt))
        branch = self.source.branch
        self.status.push_error = f"pushing branch {branch} failed: {error}" if error else ""
        self._save()
        return self.status


def _reason(stderr: str) -> str:
    """git's own last error line, with any URL credentials removed and a hint for the
    usual authentication failures."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = strip_credentials(lines[-1] if lines else "git failed")
    text = re.sub(r"://[^/@\s]*@", "://", text)
    lowered = stderr.lower()
    if "authentication failed" in lowered or "could not read username" in lowered:
        return f"{text} (check the username and password/token of the Git credentials)"
    if "permission denied (publickey" in lowered or "host key verification failed" in lowered:
        return f"{text} (check ssh-privatekey and known_hosts of the Git credentials)"
    return text


def parse_author(text: str | None) -> tuple[str, str] | None:
    """``"Name <email>"`` as ``(name, email)``; None when not given."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+)>\s*", text)
    if match is None:
        raise ValueError(f"--git-author must look like 'Name <email>', not {text!r}")
    return match["name"], match["email"]
