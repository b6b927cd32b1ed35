"""kubectl neam outputs: the workspace pod, the lister it runs, and reading its answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from neam_operator.builders.common import container_security_context, pod_security_context
from neam_operator.kubectl_plugin.errors import Exit, PluginError
from neam_operator.kubectl_plugin.outputs import (
    files,
    listing,
    outcome,
    relative,
    workspace_claim,
)
from neam_operator.kubectl_plugin.workspace import LISTER, pod_manifest, records

RUN = {
    "apiVersion": "neam.dev/v1alpha1",
    "kind": "ForgeRun",
    "metadata": {"name": "hello", "namespace": "team", "uid": "u1"},
    "spec": {},
    "status": {
        "phase": "Succeeded",
        "outcome": "completed",
        "iteration": 3,
        "maxIterations": 4,
        "totalCost": "0.0042",
        "message": "all tasks verified",
        "startTime": "2026-01-01T00:00:00Z",
        "completionTime": "2026-01-01T00:01:00Z",
        "children": {"workspace": "hello-workspace", "job": "hello-forge"},
    },
}


def _lister(*args: str) -> list[dict[str, Any]]:
    """Run the lister exactly as the pod does: its source through ``python3 -c``."""
    out = subprocess.run(
        [sys.executable, "-c", LISTER, *args], capture_output=True, text=True, check=True
    )
    return records(out.stdout)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print('hi')\n")
    (tmp_path / "README.md").write_text("# hello\n")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "big.bin").write_bytes(bytes(range(256)) * 100)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "link").symlink_to("README.md")
    (tmp_path / "escape").symlink_to("/etc/hostname")
    os.utime(tmp_path / "README.md", (0, 0))
    return tmp_path


def test_the_pod_is_hardened_read_only_and_owned_by_the_run() -> None:
    pod = pod_manifest(RUN, "hello-workspace", "neam:1", "IfNotPresent", None, ["list", "/w", "0"])
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["generateName"] == "hello-outputs-"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "kubectl-neam"
    assert meta["labels"]["app.kubernetes.io/component"] == "outputs"
    assert meta["ownerReferences"] == [
        {"apiVersion": "neam.dev/v1alpha1", "kind": "ForgeRun", "name": "hello", "uid": "u1"}
    ]
    assert spec["securityContext"] == pod_security_context()
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["automountServiceAccountToken"] is False
    assert spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] > 0
    assert spec["volumes"] == [
        {
            "name": "workspace",
            "persistentVolumeClaim": {"claimName": "hello-workspace", "readOnly": True},
        }
    ]
    (c,) = spec["containers"]
    assert c["securityContext"] == container_security_context()
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert c["volumeMounts"] == [{"name": "workspace", "mountPath": "/workspace", "readOnly": True}]
    assert c["command"] == ["python3", "-c", LISTER, "list", "/w", "0"]
    assert (c["image"], c["imagePullPolicy"]) == ("neam:1", "IfNotPresent")
    assert c["resources"]["limits"]["memory"]
    assert "affinity" not in spec


def test_the_pod_follows_a_live_pod_to_its_node() -> None:
    pod = pod_manifest(RUN, "c", "neam:1", None, "node-7", ["list", "/w", "0"])
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert terms["nodeSelectorTerms"] == [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-7"]}]}
    ]
    assert "imagePullPolicy" not in pod["spec"]["containers"][0]


def test_the_lister_lists_files_without_git(workspace: Path) -> None:
    items = _lister("list", str(workspace), "0")
    assert [i.get("file") or i.get("link") for i in items] == [
        "README.md",
        "big.bin",
        "empty",
        "escape",
        "link",
        "src/main.py",
    ]
    assert {"file": "README.md", "size": 8, "mtime": 0} in items
    assert {"link": "link", "target": "README.md"} in items
    with_git = _lister("list", str(workspace), "1")
    assert {"file": ".git/HEAD", "size": 21}.items() <= next(
        i for i in with_git if i.get("file") == ".git/HEAD"
    ).items()
    text = listing("hello-workspace", items)
    assert text.splitlines()[0] == "Files in the workspace (claim hello-workspace):"
    assert "  8B        1970-01-01 00:00:00   README.md" in text
    assert "link -> README.md" in text


def test_the_lister_prints_files_in_pieces_and_refuses_escapes(workspace: Path) -> None:
    wanted = ["src/main.py", "big.bin", "empty", "escape", "../etc/passwd", "nope"]
    items = _lister("cat", str(workspace), *wanted)
    assert sum(1 for i in items if i.get("cat") == "big.bin") > 1  # one log line per piece
    data, errors = files(items)
    assert data == {
        "src/main.py": b"print('hi')\n",
        "big.bin": bytes(range(256)) * 100,
        "empty": b"",
    }
    assert errors == {
        "escape": "outside the workspace",
        "../etc/passwd": "outside the workspace",
        "nope": "no such file",
    }


def test_a_cut_off_or_foreign_log_is_an_error() -> None:
    with pytest.raises(PluginError, match="incomplete"):
        records('{"file": "a", "size": 1, "mtime": 0}\n')
    with pytest.raises(PluginError, match="unexpected: Traceback"):
        records("Traceback (most recent call last):\n")
    assert records('{"end": true}\n') == []


@pytest.mark.parametrize(
    ("path", "clean"), [("a/b.txt", "a/b.txt"), ("./a//b", "a/b"), ("/workspace/x", "x")]
)
def test_cat_paths_are_relative(path: str, clean: str) -> None:
    assert relative(path) == clean


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../x", "."])
def test_cat_paths_outside_are_usage_errors(path: str) -> None:
    with pytest.raises(PluginError) as info:
        relative(path)
    assert info.value.code == Exit.USAGE


def test_the_outcome_and_the_claim() -> None:
    assert outcome(RUN).splitlines() == [
        "forgerun/hello: Succeeded",
        "  Outcome:    completed",
        "  Iterations: 3/4",
        "  Cost (USD): 0.0042",
        "  Duration:   1m00s",
        "  Message:    all tasks verified",
    ]
    assert workspace_claim(RUN) == "hello-workspace"
    unstarted = {"spec": {"workspace": {"existingClaim": "mine"}}, "status": {}}
    assert workspace_claim(unstarted) == "mine"
    assert workspace_claim({"spec": {}, "status": {}}) is None
    running = {**RUN, "status": {"phase": "Running"}}
    assert "(not finished: the outcome is not final)" in outcome(running)
