"""Workspace natives open regular files only, and a symlink swapped into a path after
it was checked cannot take a read or write out of the workspace."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from neam.lang import Interpreter, NeamRuntimeError
from neam.lang import workspace as ws
from neam.lang.values import MAX_STRING_LENGTH

from tests.unit.lang.helpers import program


def call(workspace: Path, expr: str) -> object:
    interp = Interpreter(program(f"fun go() {{ return {expr}; }}"), workspace=workspace)
    return interp.call_function("go", [])


def refused(workspace: Path, expr: str) -> str:
    with pytest.raises(NeamRuntimeError) as info:
        call(workspace, expr)
    return info.value.message


@pytest.fixture
def space(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


def test_a_fifo_is_refused_without_blocking(space: Path) -> None:
    os.mkfifo(space / "pipe")
    assert refused(space, 'workspace_read("pipe")') == (
        "workspace_read(): 'pipe' is not a regular file (a FIFO, socket or device)"
    )
    for native in ("workspace_write", "workspace_append"):
        message = refused(space, f'{native}("pipe", "x")')
        assert message == f"{native}(): 'pipe' is not a regular file (a FIFO, socket or device)"


def test_a_socket_is_refused(space: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(space / "sock"))
        assert "not a regular file" in refused(space, 'workspace_read("sock")')
        assert "not a regular file" in refused(space, 'workspace_write("sock", "x")')


def test_directories_and_oversized_files(space: Path) -> None:
    (space / "dir").mkdir()
    assert refused(space, 'workspace_read("dir")') == "workspace_read(): 'dir' is a directory"
    assert "'dir' is a directory" in refused(space, 'workspace_write("dir", "x")')
    with open(space / "big", "wb") as fh:
        fh.truncate(MAX_STRING_LENGTH + 1)  # sparse: no disk space used
    assert "is larger than 16,777,216 bytes" in refused(space, 'workspace_read("big")')


def test_symlinks_inside_the_workspace_still_work(space: Path) -> None:
    (space / "real").mkdir()
    (space / "alias").symlink_to(space / "real")
    call(space, 'workspace_write("alias/a.txt", "hi")')
    assert (space / "real" / "a.txt").read_text() == "hi"
    assert call(space, 'workspace_read("alias/a.txt")') == "hi"


def test_a_directory_swapped_for_a_symlink_after_the_check(
    space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (space / "sub").mkdir()
    (space / "sub" / "secret.txt").write_text("harmless")
    checked = ws.confine

    def swap_after_check(workspace: Path, relative: str) -> Path:
        path = checked(workspace, relative)
        if (space / "sub").is_dir() and not (space / "sub").is_symlink():
            (space / "sub" / "secret.txt").unlink()
            (space / "sub").rmdir()
            (space / "sub").symlink_to(outside)  # the race an attacker would win
        return path

    monkeypatch.setattr(ws, "confine", swap_after_check)
    message = refused(space, 'workspace_write("sub/secret.txt", "pwned")')
    assert "became a symlink after it was checked" in message
    assert (outside / "secret.txt").read_text() == "secret"


@pytest.mark.parametrize(
    "expr", ['workspace_write("notes.txt", "pwned")', 'workspace_read("notes.txt")']
)
def test_a_file_swapped_for_a_symlink_after_the_check(
    space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expr: str
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (space / "notes.txt").write_text("mine")
    checked = ws.confine

    def swap_after_check(workspace: Path, relative: str) -> Path:
        path = checked(workspace, relative)
        (space / "notes.txt").unlink()
        (space / "notes.txt").symlink_to(outside)
        return path

    monkeypatch.setattr(ws, "confine", swap_after_check)
    assert "became a symlink after it was checked" in refused(space, expr)
    assert outside.read_text() == "secret"


def test_text_that_utf8_cannot_store(space: Path) -> None:
    message = refused(space, 'workspace_write("a.txt", json_parse("\\"\\\\ud800\\""))')
    assert message == "workspace_write(): text holds a lone surrogate, which UTF-8 cannot store"
