"""Real Git servers on 127.0.0.1 for tests: ``git http-backend`` (smart HTTP) behind
HTTP basic auth, and ``git daemon`` (the git:// protocol), serving bare repositories
under a directory, pushes included."""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.operator_harness import free_port

IDENTITY = ["-c", "user.name=Test Author", "-c", "user.email=author@example.invalid"]


def git(cwd: Path, *args: str) -> str:
    """git in ``cwd`` (trusted whoever owns it), output as text; raises on failure."""
    return subprocess.run(
        ["git", "-c", "safe.directory=*", *IDENTITY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _write(work: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def bare_repo(root: Path, name: str, files: dict[str, str], branch: str = "main") -> Path:
    """A bare repository ``root/<name>.git`` whose ``branch`` holds one commit of
    ``files`` (and is the default branch)."""
    work = root / f".{name}-seed"
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", branch)
    _write(work, files)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial commit")
    bare = root / f"{name}.git"
    git(root, "clone", "-q", "--bare", str(work), str(bare))
    git(bare, "config", "http.receivepack", "true")
    git(bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
    return bare


def push_commit(bare: Path, files: dict[str, str], message: str, branch: str = "main") -> str:
    """Commit ``files`` (path -> text, added or replaced) on top of ``branch`` of the
    bare repository, push it there, and return the new commit's id."""
    work = bare.parent / f".{bare.name}-{secrets.token_hex(4)}"
    git(bare.parent, "clone", "-q", "-b", branch, str(bare), str(work))
    try:
        _write(work, files)
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", message)
        git(work, "push", "-q", "origin", branch)
        return git(work, "rev-parse", "HEAD").strip()
    finally:
        shutil.rmtree(work)


@dataclass
class GitHttpServer:
    url: str = ""
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, user


def _user(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


@contextmanager
def http_git_server(
    root: Path, username: str | None = None, password: str | None = None
) -> Iterator[GitHttpServer]:
    """Smart HTTP for the bare repositories under ``root`` at ``<url>/<name>.git``;
    with ``username``/``password`` every request needs them (401 otherwise)."""
    server = GitHttpServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            creds = _user(self.headers.get("Authorization"))
            server.requests.append((self.command, self.path, creds[0] if creds else None))
            if username is not None and (
                creds is None
                or not hmac.compare_digest(creds[0], username)
                or not hmac.compare_digest(creds[1], password or "")
            ):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": creds[0] if creds else "anonymous",
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "safe.directory",
                "GIT_CONFIG_VALUE_0": "*",
            }
            for name, header in (
                ("HTTP_CONTENT_ENCODING", "Content-Encoding"),
                ("GIT_PROTOCOL", "Git-Protocol"),
            ):
                if self.headers.get(header):
                    env[name] = self.headers[header]
            out = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            ).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def git_daemon(root: Path) -> Iterator[str]:
    """``git daemon`` serving (and accepting pushes to) the repositories under ``root``;
    yields ``git://127.0.0.1:<port>``."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "git", "-c", "safe.directory=*", "daemon", "--listen=127.0.0.1", f"--port={port}",
            f"--base-path={root}", "--export-all", "--enable=receive-pack", "--reuseaddr",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, "git daemon exited"
                assert time.monotonic() < deadline, "git daemon did not start"
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
