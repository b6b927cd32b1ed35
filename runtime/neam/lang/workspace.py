"""File access confined to an agent's workspace directory.

A path is first checked (:func:`confine`: relative, no ``..``, its real path
inside the workspace), then opened one directory at a time from the workspace
root with ``O_NOFOLLOW``, so a symlink swapped into the path after the check
makes the open fail instead of leaving the workspace. Reads and writes accept
regular files only: a FIFO would block the call, a device could read forever.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from neam.lang.values import MAX_STRING_LENGTH


class WorkspaceError(Exception):
    """A path was refused or the workspace is unusable."""


def confine(workspace: Path, relative: str) -> Path:
    """The real path of ``relative`` inside ``workspace``.

    Refuses absolute paths, any ``..`` component and paths that leave the
    workspace through a symlink (checked on the fully resolved path).
    """
    if not isinstance(relative, str) or not relative:
        raise WorkspaceError("path must be a non-empty string")
    if "\0" in relative:
        raise WorkspaceError(f"path {relative!r} contains a NUL byte")
    if (
        relative.startswith(("/", "\\", "~"))
        or PurePosixPath(relative).is_absolute()
        or PureWindowsPath(relative).is_absolute()
        or PureWindowsPath(relative).drive
    ):
        raise WorkspaceError(f"absolute path {relative!r} is not allowed; paths are relative")
    parts = relative.replace("\\", "/").split("/")
    if ".." in parts:
        raise WorkspaceError(f"path {relative!r} contains '..'; it must stay in the workspace")
    root = Path(os.path.realpath(workspace))
    target = Path(os.path.realpath(root.joinpath(*[p for p in parts if p not in ("", ".")])))
    if target != root and root not in target.parents:
        raise WorkspaceError(f"path {relative!r} leaves the workspace through a symlink")
    return target


def open_beneath(workspace: Path, relative: str, flags: int, *, make_parents: bool = False) -> int:
    """A file descriptor for ``relative`` (checked by :func:`confine`), opened without
    following any symlink on the way from the workspace root; ``make_parents``
    creates missing directories. A symlink found there was swapped in after the
    check: :class:`WorkspaceError`."""
    target = confine(workspace, relative)
    root = Path(os.path.realpath(workspace))
    parts = target.relative_to(root).parts
    if not parts:
        raise WorkspaceError(f"{relative!r} is the workspace directory itself")
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            if make_parents:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, dir_fd=directory)
            inner = os.open(
                part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory
            )
            os.close(directory)
            directory = inner
        return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=directory)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _has_symlink(root, parts):
            raise WorkspaceError(
                f"path {relative!r} became a symlink after it was checked; refused"
            ) from None
        raise
    finally:
        os.close(directory)


def _has_symlink(root: Path, parts: tuple[str, ...]) -> bool:
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink():
            return True
    return False


def _regular(fd: int, relative: str) -> os.stat_result:
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise WorkspaceError(f"{relative!r} is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise WorkspaceError(_not_regular(relative))
    return info


def _not_regular(relative: str) -> str:
    return f"{relative!r} is not a regular file (a FIFO, socket or device)"


def read(workspace: Path, relative: str) -> str | None:
    """File contents, or ``None`` when the file does not exist."""
    try:
        fd = open_beneath(workspace, relative, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise WorkspaceError(_not_regular(relative)) from None
        raise
    try:
        if _regular(fd, relative).st_size > MAX_STRING_LENGTH:
            raise WorkspaceError(_too_large(relative))
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, MAX_STRING_LENGTH + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_STRING_LENGTH:  # it grew while read
                raise WorkspaceError(_too_large(relative))
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _too_large(relative: str) -> str:
    return f"{relative!r} is larger than {MAX_STRING_LENGTH:,} bytes"


def write(workspace: Path, relative: str, content: str, append: bool = False) -> None:
    """Writes (or appends) ``content``, creating missing directories."""
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError:
        raise WorkspaceError("text holds a lone surrogate, which UTF-8 cannot store") from None
    Path(workspace).mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | (os.O_APPEND if append else 0)
    try:
        fd = open_beneath(workspace, relative, flags, make_parents=True)
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise WorkspaceError(f"{relative!r} is a directory") from None
        if exc.errno == errno.ENXIO:  # a FIFO without a reader, or a socket
            raise WorkspaceError(_not_regular(relative)) from None
        raise
    try:
        _regular(fd, relative)  # checked before anything is truncated
        if not append:
            os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
