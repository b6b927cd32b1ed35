"""The CRDs on a real API server: `kubectl apply -f crds/`, schema and CEL rejections."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cluster import ClusterHandle
from tests.support.operator_harness import (
    PROGRAM,
    apply,
    forgerun,
    install_crds,
    scratch_namespace,
)


@pytest.fixture(scope="module")
def ns(kube: ClusterHandle) -> Iterator[str]:
    install_crds(kube)
    with scratch_namespace(kube, "cel") as name:
        yield name


def _rejected(kube: ClusterHandle, obj: dict[str, Any]) -> str:
    r = apply(kube, obj, check=False)
    assert r.returncode != 0, f"accepted: {obj}"
    return r.stderr


def _dag(ns: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "AgentDAG",
        "metadata": {"name": f"dag-{secrets.token_hex(3)}", "namespace": ns},
        "spec": {"source": {"inline": PROGRAM}, "nodes": nodes},
    }


def test_crds_are_installed_with_names_and_categories(kube: ClusterHandle, ns: str) -> None:
    names = kube.kubectl("api-resources", "--api-group=neam.dev", "-o", "wide").stdout
    for plural, short in (("forgeruns", "fr"), ("clawagents", "claw"), ("agentdags", "dag")):
        line = next(ln for ln in names.splitlines() if ln.startswith(plural))
        assert short in line.split() and "neam" in line


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"source": {"inline": PROGRAM, "configMapRef": {"name": "x"}}},
            "exactly one of source.configMapRef and source.inline",
        ),
        ({"source": {}}, "exactly one of source.configMapRef and source.inline"),
        ({"maxIterations": 0}, "maxIterations must be greater than 0"),
        ({"maxIterations": -3}, "maxIterations must be greater than 0"),
        ({"maxCost": "-1"}, "spec.maxCost"),
        ({"maxCost": "ten"}, "spec.maxCost"),
        ({"maxCost": 1.5}, "spec.maxCost"),
        ({"workspace": {"existingClaim": "c", "size": "1Gi"}}, "existingClaim excludes"),
        (
            {
                "env": [
                    {
                        "name": "A",
                        "value": "x",
                        "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                    }
                ]
            },
            "exactly one of value and valueFrom",
        ),
        ({"secretRefs": [{"name": f"s{i}"} for i in range(17)]}, "spec.secretRefs"),
        ({"git": {"url": "https://bot:token@git.example.com/a.git"}}, "must not hold credentials"),
        ({"git": {"url": "https://ghp_token@github.com/a.git"}}, "must not hold credentials"),
        ({"git": {"url": "ssh://git:pw@git.example.com/a.git"}}, "must not hold credentials"),
        ({"git": {"url": "file:///etc/passwd"}}, "url must be an https://"),
        ({"git": {"url": "https://h/a.git", "pushBranch": "-x"}}, "spec.git.pushBranch"),
        ({"git": {"url": "https://h/a.git", "author": {"name": "x", "email": "no"}}}, "email"),
    ],
)
def test_invalid_forgeruns_are_rejected(
    kube: ClusterHandle, ns: str, spec: dict[str, Any], message: str
) -> None:
    assert message in _rejected(kube, forgerun(ns, f"bad-{secrets.token_hex(3)}", **spec))


def test_valid_forgerun_is_accepted(kube: ClusterHandle, ns: str) -> None:
    apply(kube, forgerun(ns, "fine", maxIterations=1, maxCost="0.5"))
    for i, url in enumerate(
        ("https://git.example.com/a.git", "ssh://git@git.example.com/a.git", "git@h.io:o/r.git")
    ):
        apply(kube, forgerun(ns, f"git-{i}", git={"url": url, "secretRef": {"name": "creds"}}))


def test_started_run_fields_are_immutable(kube: ClusterHandle, ns: str) -> None:
    apply(kube, forgerun(ns, "fixed", maxIterations=2))
    for patch, field in (
        ('{"spec":{"source":{"inline":"// other"}}}', "source is immutable"),
        ('{"spec":{"maxIterations":5}}', "maxIterations is immutable"),
        ('{"spec":{"agent":"second"}}', "agent is immutable"),
    ):
        r = kube.kubectl(
            "patch", "forgerun", "fixed", "-n", ns, "--type=merge", "-p", patch, check=False
        )
        assert r.returncode != 0 and field in r.stderr, r.stderr
    kube.kubectl(
        "patch",
        "forgerun",
        "fixed",
        "-n",
        ns,
        "--type=merge",
        "-p",
        '{"spec":{"ttlSecondsAfterFinished":60}}',
    )


def test_dag_ids_must_be_unique(kube: ClusterHandle, ns: str) -> None:
    nodes = [{"id": "a", "agent": "x"}, {"id": "a", "agent": "y"}]
    assert "node ids must be unique" in _rejected(kube, _dag(ns, nodes))


def test_dag_depends_on_must_name_existing_ids(kube: ClusterHandle, ns: str) -> None:
    nodes = [{"id": "a", "agent": "x"}, {"id": "b", "agent": "y", "dependsOn": ["a", "zz"]}]
    assert "dependsOn must name existing node ids" in _rejected(kube, _dag(ns, nodes))
    ok = [{"id": "a", "agent": "x"}, {"id": "b", "agent": "y", "dependsOn": ["a"]}]
    apply(kube, _dag(ns, ok))


def test_clawagent_scale_subresource(kube: ClusterHandle, ns: str) -> None:
    claw = {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ClawAgent",
        "metadata": {"name": "bot", "namespace": ns},
        "spec": {"source": {"inline": PROGRAM}, "replicas": 1},
    }
    apply(kube, claw)
    kube.kubectl("scale", "clawagent/bot", "-n", ns, "--replicas=3")
    out = kube.kubectl("get", "claw", "bot", "-n", ns, "-o", "jsonpath={.spec.replicas}").stdout
    assert out == "3"
