"""File access confined to an agent's workspace directory."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath


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


def read(workspace: Path, relative: str) -> str | None:
    """File contents, or ``None`` when the file does not exist."""
    path = confine(workspace, relative)
    if not path.exists():
        return None
    if path.is_dir():
        raise WorkspaceError(f"{relative!r} is a directory")
    return path.read_text(encoding="utf-8", errors="replace")


def write(workspace: Path, relative: str, content: str, append: bool = False) -> None:
    path = confine(workspace, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The parents now exist: re-check in case a directory on the way is a symlink.
    path = confine(workspace, relative)
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        fh.write(content)
