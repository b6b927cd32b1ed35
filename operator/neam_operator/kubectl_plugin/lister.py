"""Runs inside the short-lived workspace pod of ``kubectl neam outputs``, not in the plugin.

Its source is handed to ``python3 -c`` in the run's own image, so it uses the standard
library only. It reads the read-only workspace and writes JSON lines to stdout, which the
plugin reads back as the pod's log:

- ``list ROOT GIT``: ``{"file", "size", "mtime"}`` per regular file and ``{"link",
  "target"}`` per symlink, sorted, without ``.git`` unless GIT is ``1``, at most
  MAX_FILES (then ``{"truncated": N}``);
- ``cat ROOT PATH...``: each file as ``{"cat", "chunk"}`` lines (base64 pieces small
  enough for one log line each), or ``{"cat", "error"}``; MAX_BYTES in all.

The last line is ``{"end": true}``, so a cut-off log is told from a complete one.
"""

import base64
import json
import os
import sys

MAX_FILES = 10000
MAX_BYTES = 4 * 1024 * 1024  # the kubelet rotates container logs at 10 MiB by default
CHUNK = 8 * 1024


def emit(record: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")


def listing(root: str, with_git: bool) -> None:
    count = 0
    for top, dirs, files in os.walk(root):
        dirs.sort()
        if not with_git and top == root and ".git" in dirs:
            dirs.remove(".git")
        for name in sorted(files):
            path = os.path.join(top, name)
            rel = os.path.relpath(path, root)
            count += 1
            if count > MAX_FILES:
                continue
            if os.path.islink(path):
                emit({"link": rel, "target": os.readlink(path)})
                continue
            st = os.lstat(path)
            emit({"file": rel, "size": st.st_size, "mtime": int(st.st_mtime)})
    if count > MAX_FILES:
        emit({"truncated": count - MAX_FILES})


def show(root: str, rels: list[str]) -> None:
    base = os.path.realpath(root)
    budget = MAX_BYTES
    for rel in rels:
        target = os.path.realpath(os.path.join(base, rel))
        if not target.startswith(base + os.sep):
            emit({"cat": rel, "error": "outside the workspace"})
        elif not os.path.isfile(target):
            emit({"cat": rel, "error": "no such file"})
        elif os.path.getsize(target) > budget:
            emit({"cat": rel, "error": f"larger than the {budget} bytes left to print"})
        else:
            with open(target, "rb") as f:
                data = f.read()
            budget -= len(data)
            for start in range(0, len(data), CHUNK) or [0]:  # an empty file: one empty chunk
                piece = base64.b64encode(data[start : start + CHUNK]).decode()
                emit({"cat": rel, "chunk": piece})


def main(argv: list[str]) -> None:
    mode, root = argv[0], argv[1]
    if mode == "list":
        listing(root, argv[2] == "1")
    else:
        show(root, argv[2:])
    emit({"end": True})


if __name__ == "__main__":
    main(sys.argv[1:])
