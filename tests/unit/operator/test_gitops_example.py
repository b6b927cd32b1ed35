"""examples/gitops rendered by kustomize (the built kubectl): the generated, hash-named
program ConfigMaps are what ForgeRun, ClawAgent and AgentDAG name, the resources are
valid for the operator, and a program change in Git changes exactly its users' specs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from neam_operator.models import AgentDAGSpec, ClawAgentSpec, ForgeRunSpec
from neam_operator.program import Rejected, compile_claw, compile_dag, compile_forge

from tests.support.cluster import REPO_ROOT, built_kubectl

TREE = REPO_ROOT / "examples" / "gitops"
# kind -> (the ConfigMap generated for its program, the program file)
USERS = {
    "ClawAgent": ("support-program", "support.neam"),
    "ForgeRun": ("hello-program", "hello_builder.neam"),
    "AgentDAG": ("market-program", "market.neam"),
}


def render(tree: Path) -> dict[str, dict[str, Any]]:
    """``kubectl kustomize tree``: the resources by kind, the ConfigMaps by name."""
    out = subprocess.run(
        [str(built_kubectl()), "kustomize", str(tree)], capture_output=True, text=True, check=True
    ).stdout
    by_kind: dict[str, dict[str, Any]] = {}
    for doc in yaml.safe_load_all(out):
        key = doc["kind"] if doc["kind"] != "ConfigMap" else doc["metadata"]["name"]
        assert key not in by_kind, f"two {key} in the tree"
        by_kind[key] = doc
    return by_kind


def configmap_for(objects: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    name = objects[kind]["spec"]["source"]["configMapRef"]["name"]
    assert name in objects, f"{kind} names {name}, which the tree does not generate"
    return objects[name]


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    return render(TREE)


def test_generated_names_reach_all_three_kinds(objects: dict[str, dict[str, Any]]) -> None:
    for kind, (base, program) in USERS.items():
        configmap = configmap_for(objects, kind)
        name = configmap["metadata"]["name"]
        prefix, _, suffix = name.rpartition("-")
        assert prefix == base and len(suffix) == 10, f"{kind} names {name}, not a hashed {base}"
        assert configmap["data"]["main.neam"] == (TREE / "programs" / program).read_text()


def test_the_resources_are_valid_and_their_programs_compile(
    objects: dict[str, dict[str, Any]],
) -> None:
    forge = ForgeRunSpec.model_validate(objects["ForgeRun"]["spec"])
    claw = ClawAgentSpec.model_validate(objects["ClawAgent"]["spec"])
    dag = AgentDAGSpec.model_validate(objects["AgentDAG"]["spec"])
    text = {kind: configmap_for(objects, kind)["data"]["main.neam"] for kind in USERS}
    results = {
        "ForgeRun": compile_forge(text["ForgeRun"], "hello_builder.neam", forge.agent),
        "ClawAgent": compile_claw(text["ClawAgent"], "support.neam", claw.agents),
        "AgentDAG": compile_dag(text["AgentDAG"], "market.neam", dag.nodes),
    }
    assert {k: r for k, r in results.items() if isinstance(r, Rejected)} == {}
    # Runs are immutable: Flux replaces them when their program changes.
    for kind in ("ForgeRun", "AgentDAG"):
        annotations = objects[kind]["metadata"]["annotations"]
        assert annotations["kustomize.toolkit.fluxcd.io/force"] == "enabled"


def test_a_program_change_is_a_spec_change_of_its_users_only(
    objects: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    tree = tmp_path / "gitops"
    shutil.copytree(TREE, tree)
    program = tree / "programs" / "support.neam"
    program.write_text(program.read_text().replace("briefly", "very briefly"))
    changed = render(tree)
    refs = {
        kind: (
            objects[kind]["spec"]["source"]["configMapRef"]["name"],
            changed[kind]["spec"]["source"]["configMapRef"]["name"],
        )
        for kind in USERS
    }
    before, after = refs.pop("ClawAgent")
    assert before != after and after.startswith("support-program-")
    assert all(old == new for old, new in refs.values()), refs
