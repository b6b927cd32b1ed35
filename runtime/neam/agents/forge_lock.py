"""One forge run per workspace at a time, whatever process runs it.

A run holds an exclusive ``flock`` on ``<workspace>/.neam-forge/lock`` from
before it reads the saved state until after it writes the last one, so two
``neam-forge`` processes, the API and the CLI, or two pods on one volume can
never both spend from the same budget. The lock is released when the run ends,
and by the kernel when its process dies, so a crash never leaves it held. The
file names the holder (pid, host, agent) for the message another run gets.
"""

from __future__ import annotations

import fcntl
import os
import socket
import stat
from pathlib import Path

from neam.agents.forge_state import STATE_DIR

LOCK_FILE = "lock"


class ForgeBusyError(RuntimeError):
    """Another forge run holds the workspace."""


class WorkspaceLock:
    """A held workspace lock; :meth:`release` it (or use it as a context manager)."""

    def __init__(self, fd: int, workspace: Path) -> None:
        self._fd: int | None = fd
        self.workspace = workspace

    def release(self) -> None:
        """Releases the lock (once; later calls do nothing)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> WorkspaceLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def acquire(workspace: Path, agent: str) -> WorkspaceLock:
    """Locks ``workspace`` for a run of ``agent``, or raises :class:`ForgeBusyError`
    naming the run that holds it. Never waits."""
    directory = workspace / STATE_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    try:  # never through a symlink: a cloned workspace could point it anywhere
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666)
    except OSError as exc:
        raise ValueError(f"cannot open the forge lock {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"the forge lock {path} is not a regular file")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 512, 0).decode("utf-8", errors="replace").strip()
        os.close(fd)
        raise ForgeBusyError(
            f"workspace {workspace} is in use by another forge run"
            f" ({holder or 'holder unknown'}); one run at a time keeps its budget"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, agent {agent}\n".encode(), 0)
    return WorkspaceLock(fd, workspace)


def holder(workspace: Path) -> str | None:
    """Who holds ``workspace``'s lock (``pid N on HOST, agent A``), or None when no run
    does. Takes nothing and writes nothing."""
    path = workspace / STATE_DIR / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None  # no lock file (never run) or not one this module made
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.pread(fd, 512, 0).decode("utf-8", errors="replace").strip()
        return text or "holder unknown"
    finally:
        os.close(fd)  # also drops the shared lock when it was taken
    return None
