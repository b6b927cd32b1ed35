"""The Argo CD health patch embeds the .lua files exactly, and the Lua harness behaves
like Argo CD's VM. The verdicts on operator-produced objects are tested in
tests/cluster/test_argocd_health.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.argocd import (
    KEY,
    PATCH,
    SCRIPTS,
    HealthError,
    health,
    lua_interpreter,
    run_script,
    source_script,
)
from tests.support.cluster import REPO_ROOT


@pytest.fixture(scope="module")
def lua() -> str:
    return lua_interpreter()


def test_the_patch_embeds_each_script_byte_for_byte() -> None:
    patch = yaml.safe_load(PATCH.read_text())
    assert (patch["apiVersion"], patch["kind"]) == ("v1", "ConfigMap")
    assert patch["metadata"]["name"] == "argocd-cm"
    assert patch["metadata"]["namespace"] == "argocd"
    assert patch["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    assert set(patch["data"]) == {KEY.format(kind) for kind in SCRIPTS}
    for kind in SCRIPTS:
        assert patch["data"][KEY.format(kind)] == source_script(kind), (
            f"{PATCH.name} is out of date for {kind}: run `make argocd-health`"
        )


def test_the_patch_is_what_the_generator_writes() -> None:
    r = subprocess.run(
        [sys.executable, str(REPO_ROOT / "hack" / "argocd_health.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr


# ------------------------------------------------------------------ the harness


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "check.lua"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "body",
    [
        'return {status = string.format("%s", "Healthy")}',
        'return {status = ("Healthy"):upper()}',
        "return {status = math.max(1, 2)}",
        'io.write("x") return {status = "Healthy"}',
    ],
)
def test_the_sandbox_has_no_string_math_or_io_library(lua: str, tmp_path: Path, body: str) -> None:
    """Argo CD gives an argocd-cm health script only base, table and a safe os."""
    with pytest.raises(HealthError, match="the health script failed"):
        run_script(lua, script(tmp_path, body), {})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('return {status = "Fine"}', "invalid health status: Fine"),
        ('return "Healthy"', "returned string, not a table"),
        ('return {status = "Healthy", message = 3}', "message is a number"),
    ],
)
def test_the_harness_refuses_what_argo_cd_refuses(
    lua: str, tmp_path: Path, body: str, error: str
) -> None:
    with pytest.raises(HealthError, match=error):
        run_script(lua, script(tmp_path, body), {})


def test_json_becomes_the_obj_argo_cd_gives(lua: str, tmp_path: Path) -> None:
    body = """
    local parts = {obj.s, obj.n + 1, obj.f * 2, tostring(obj.null == nil), tostring(obj.t),
      #obj.list, obj.list[2].k, tostring(next(obj.empty) == nil)}
    return {status = "Healthy", message = table.concat(parts, "|")}
    """
    obj: dict[str, Any] = {
        "s": 'é "q" \\ \n\u2603\U0001f600',
        "n": 41,
        "f": 1.25e2,
        "null": None,
        "t": True,
        "list": [1, {"k": "v"}, []],
        "empty": {},
    }
    got = run_script(lua, script(tmp_path, body), obj)
    assert got == {"status": "Healthy", "message": f"{obj['s']}|42|250|true|true|3|v|true"}


# ------------------------------------------------------------------ robustness


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"status": None},
        {"status": {}},
        {"status": []},
        {"status": "Running"},
        {"spec": "x", "metadata": 3, "status": {"phase": "Running", "conditions": "x"}},
        {"status": {"phase": 7, "conditions": [None, 3, {"type": "Ready"}]}},
        {"status": {"phase": "Exploded", "message": "?"}},
        {"metadata": {"generation": "2"}, "status": {"phase": "Pending", "progress": 3}},
    ],
)
def test_any_object_gets_a_verdict(lua: str, kind: str, obj: dict[str, Any]) -> None:
    """Malformed objects never make a script fail (Argo CD would show an error)."""
    got = health(lua, {**obj, "kind": kind})
    assert got["status"] in ("Progressing", "Unknown")


# ------------------------------------------------------------------ the Applications


def test_the_applications_install_the_crds_first_and_never_prune_them() -> None:
    apps = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all((REPO_ROOT / "kustomize/argocd/application.yaml").read_text())
    }
    assert set(apps) == {"neam-crds", "neam-operator"}
    crds, operator = apps["neam-crds"], apps["neam-operator"]
    assert crds["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-1"
    assert (
        int(operator["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", 0)) > -1
    )
    assert crds["spec"]["syncPolicy"]["automated"]["prune"] is False
    for app in apps.values():
        assert app["metadata"]["namespace"] == "argocd"
        assert (REPO_ROOT / app["spec"]["source"]["path"]).is_dir(), app["spec"]["source"]["path"]
    assert (REPO_ROOT / operator["spec"]["source"]["path"] / "kustomization.yaml").is_file()
    assert operator["spec"]["destination"]["namespace"] == "neam-system"
