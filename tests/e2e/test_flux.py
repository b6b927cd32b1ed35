"""GitOps with the real Flux controllers on the e2e cluster.

source-controller and kustomize-controller (built from their Go modules) run next to
the cluster; a Git repository served over HTTP on 127.0.0.1 (``git http-backend``)
holds this project's install tree, and the tests push commits to it:

- ``kustomize/fluxcd`` installs the operator: the CRDs, then (dependsOn) the operator,
  Ready once its Deployment has rolled out;
- a commit adding ``examples/gitops`` makes Flux apply a ClawAgent, a ForgeRun and an
  AgentDAG, and the Kustomization is Ready only once they really are (kstatus on the
  operator's status); a commit changing the ClawAgent's program rolls it out; a commit
  changing the ForgeRun's program replaces the run, and when that run fails the
  Kustomization fails its health check naming it.

The test adaptations of ``kustomize/fluxcd`` (see :func:`install_manifests`) are the
Git URL, and the operator's path: ``hack/e2e/operator`` (the dev overlay with the
locally built image) instead of the production overlay, whose image is in a registry
this machine cannot reach.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support import e2e
from tests.support.claw import claw_status, ready, wait_claw
from tests.support.cluster import REPO_ROOT, ClusterHandle
from tests.support.flux import (
    flux_controllers,
    flux_object,
    request_reconcile,
    wait_ready,
)
from tests.support.flux import ready as flux_ready
from tests.support.forgeruns import TERMINAL, wait_status, write
from tests.support.git_server import bare_repo, git, http_git_server, push_commit
from tests.support.llm_stubs import LLMStub, StubReply
from tests.support.operator_harness import (
    apply,
    condition,
    free_port,
    get_json,
    scratch_namespace,
    wait_for,
)

# What Flux reads from the repository: the install tree, and what the test overlay
# of the operator (hack/e2e/operator) builds on.
INSTALL_TREE = ("crds", "manifests", "kustomize", "hack/e2e/operator")
GITOPS = "examples/gitops"
OPERATOR_NS = "neam-system"
FORGE_GATE = "forge"


def files_under(*dirs: str) -> dict[str, str]:
    """The files under ``dirs`` of this checkout, by repository path."""
    return {
        str(path.relative_to(REPO_ROOT)): path.read_text()
        for top in dirs
        for path in sorted((REPO_ROOT / top).rglob("*"))
        if path.is_file()
    }


@dataclass
class Origin:
    """The Git repository Flux follows."""

    bare: Path
    url: str

    def head(self) -> str:
        return git(self.bare, "rev-parse", "main").strip()


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    root = tmp_path_factory.mktemp("git")
    bare = bare_repo(root, "neam-operator", files_under(*INSTALL_TREE))
    with http_git_server(root) as server:
        yield Origin(bare, f"{server.url}/neam-operator.git")


def install_manifests(kube: ClusterHandle, url: str) -> list[dict[str, Any]]:
    """``kubectl kustomize kustomize/fluxcd`` with the test adaptations."""
    rendered = kube.kubectl("kustomize", str(REPO_ROOT / "kustomize" / "fluxcd")).stdout
    docs = list(yaml.safe_load_all(rendered))
    for doc in docs:
        if doc["kind"] == "GitRepository":
            doc["spec"]["url"] = url
        if doc["kind"] == "Kustomization" and doc["metadata"]["name"] == "neam-operator":
            doc["spec"]["path"] = "./hack/e2e/operator"
    return docs


@pytest.fixture(scope="module")
def flux(kube: ClusterHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with flux_controllers(kube, tmp_path_factory.mktemp("flux")):
        yield


@pytest.fixture(scope="module")
def installed(kube: ClusterHandle, flux: None, origin: Origin) -> Iterator[str]:
    """The operator installed by Flux from ``kustomize/fluxcd``; yields the commit.

    The e2e cluster's operator Deployment is deleted first, so Flux really creates it.
    Afterwards the operator stays installed (the Kustomization stops pruning before it
    is deleted), as the rest of the e2e tier expects."""
    kube.kubectl("delete", "deployment", "neam-operator", "-n", OPERATOR_NS, "--wait=true")
    try:
        apply(kube, *install_manifests(kube, origin.url))
        yield origin.head()
    finally:
        kube.kubectl(
            "patch", "kustomization", "neam-operator", "-n", "flux-system", "--type=merge",
            "-p", '{"spec": {"prune": false}}', check=False,
        )  # fmt: skip
        # Whatever happened, the cluster keeps an operator (as hack/e2e.sh installs it).
        kube.kubectl("apply", "-k", str(REPO_ROOT / "hack" / "e2e" / "operator"))
        kube.kubectl("rollout", "status", "deployment/neam-operator", "-n", OPERATOR_NS,
                     "--timeout=180s")  # fmt: skip


def test_flux_installs_the_crds_then_the_operator(kube: ClusterHandle, installed: str) -> None:
    crds = wait_ready(kube, "kustomization", "neam-crds", installed)
    operator = wait_ready(kube, "kustomization", "neam-operator", installed, timeout=300)
    # dependsOn: the operator became Ready only after the CRDs did; wait: true made
    # neam-crds wait for the CRDs to be Established.
    assert flux_ready(operator)["lastTransitionTime"] >= flux_ready(crds)["lastTransitionTime"]
    entries = {e["id"] for e in crds["status"]["inventory"]["entries"]}
    assert "_forgeruns.neam.dev_apiextensions.k8s.io_CustomResourceDefinition" in entries
    # Flux created the operator's Deployment, and it has rolled out.
    deployment = get_json(kube, "deployment", "neam-operator", "-n", OPERATOR_NS)
    labels = deployment["metadata"]["labels"]
    assert labels["kustomize.toolkit.fluxcd.io/name"] == "neam-operator"
    assert deployment["status"].get("readyReplicas") == 1
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]


# ------------------------------------------------------------------ agents from Git


def stub_model(body: dict[str, Any]) -> StubReply:
    """The stand-in LLM for the three kinds, whose calls interleave: a forge agent
    (offered tools) writes hello.txt, held at FORGE_GATE until the test releases it,
    and ends its turn once the tool ran; claw agents get a short answer."""
    if body.get("tools") and body["messages"][-1]["role"] != "tool":
        return write("hello.txt", "Hello, reader!\n", gate=FORGE_GATE)
    return StubReply(text="Noted.", usage={"input_tokens": 50, "output_tokens": 5})


@dataclass
class Agents:
    ns: str
    port: int
    keys: dict[str, str]
    llm: LLMStub


@pytest.fixture(scope="module")
def agents(kube: ClusterHandle, installed: str) -> Iterator[Agents]:
    """The namespace the agents Kustomization targets, with the Secrets that are not
    in Git, and the LLM stub they use."""
    key = f"sk-e2e-{secrets.token_hex(16)}"
    keys = {"api-key": f"api-{secrets.token_hex(8)}", "admin-key": f"adm-{secrets.token_hex(8)}"}
    with (
        LLMStub("openai", api_key=key, default=stub_model) as llm,
        scratch_namespace(kube, "gitops", **{e2e.REAL_PODS_LABEL: "true"}) as ns,
    ):
        apply(
            kube,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "llm-provider", "namespace": ns},
                "stringData": {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": llm.url},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "support-keys", "namespace": ns},
                "stringData": keys,
            },
        )
        yield Agents(ns, free_port(), keys, llm)


def agents_kustomization(agents: Agents) -> dict[str, Any]:
    """``kustomize/fluxcd/agents.yaml`` for this test: its namespace, and the
    ClawAgent on a free port (pods share the host network here)."""
    doc = yaml.safe_load((REPO_ROOT / "kustomize" / "fluxcd" / "agents.yaml").read_text())
    doc["spec"]["targetNamespace"] = agents.ns
    doc["spec"]["timeout"] = "4m"
    doc["spec"]["patches"] = [
        {
            "target": {"kind": "ClawAgent", "name": "support"},
            "patch": yaml.safe_dump(
                [{"op": "replace", "path": "/spec/port", "value": agents.port}]
            ),
        }
    ]
    return doc


def push(kube: ClusterHandle, origin: Origin, files: dict[str, str], message: str) -> str:
    """Commit and push ``files``, and have Flux fetch the new revision now."""
    commit = push_commit(origin.bare, files, message)
    request_reconcile(kube, "gitrepository", "neam-operator")
    return commit


def kustomization(kube: ClusterHandle) -> dict[str, Any]:
    return flux_object(kube, "kustomization", "neam-agents")


def resource(kube: ClusterHandle, kind: str, name: str, ns: str) -> dict[str, Any]:
    found = get_json(kube, kind, name, "-n", ns)
    assert found is not None, f"{kind} {name} was not applied"
    return found


def serving_pods(kube: ClusterHandle, ns: str) -> set[str]:
    """The ClawAgent support's pods (not being deleted)."""
    pods = get_json(kube, "pods", "-n", ns, "-l", claw_status(kube, ns, "support")["selector"])
    return {
        p["metadata"]["name"] for p in pods["items"] if not p["metadata"].get("deletionTimestamp")
    }


def ask(agents: Agents, text: str) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{agents.port}/api/v1/claw/support_bot/sessions/u1/message",
        json={"message": text},
        headers={"Authorization": f"Bearer {agents.keys['api-key']}"},
        timeout=60,
    )


# Three commits, each a Flux reconciliation with its health checks and some eight pods
# in all: under the machine's usual load this can outlast the 300 s default bound.
@pytest.mark.timeout(900)
def test_agents_follow_commits(
    kube: ClusterHandle, origin: Origin, installed: str, agents: Agents
) -> None:
    ns = agents.ns
    wait_ready(kube, "kustomization", "neam-operator", installed, timeout=300)
    gitops = files_under(GITOPS)

    # 1. A commit adds the tree; Flux applies it. The ForgeRun's model call is held, so
    #    the run stays Running while the ClawAgent serves and the DAG finishes: the
    #    Kustomization must not be Ready meanwhile.
    first = push(kube, origin, gitops, "add the agents")
    apply(kube, agents_kustomization(agents))
    wait_claw(kube, ns, "support", "Ready", ready, timeout=240)
    wait_for(
        lambda: (
            (resource(kube, "agentdag", "market-report", ns).get("status") or {}).get("phase")
            == "Succeeded"
        ),
        "AgentDAG market-report to succeed",
        timeout=240,
    )
    run = wait_status(kube, ns, "hello", "running", lambda s: s.get("phase") == "Running")
    assert run["phase"] == "Running"
    configmap = resource(kube, "forgerun", "hello", ns)["spec"]["source"]["configMapRef"]["name"]
    assert configmap.startswith("hello-program-") and resource(kube, "configmap", configmap, ns)
    deadline = time.monotonic() + 12  # more than two of Flux's 5 s health polls
    while time.monotonic() < deadline:
        k = kustomization(kube)
        assert flux_ready(k).get("status") != "True", f"Ready while the run runs: {k['status']}"
        time.sleep(1)
    reconciling = condition(kustomization(kube)["status"], "Reconciling")
    assert "Running health checks" in reconciling.get("message", ""), reconciling
    agents.llm.release(FORGE_GATE)
    done = wait_status(kube, ns, "hello", "finished", lambda s: s.get("phase") in TERMINAL, 240)
    assert done["phase"] == "Succeeded", done
    k = wait_ready(kube, "kustomization", "neam-agents", first)
    assert flux_ready(k)["lastTransitionTime"] >= done["completionTime"]

    # 2. A commit changes the ClawAgent's program: a new generated ConfigMap, a spec
    #    change, a rollout to new pods that serve the new program. The old ConfigMap is
    #    pruned; the ForgeRun, whose program did not change, is left alone.
    before = claw_status(kube, ns, "support")
    old_pods = serving_pods(kube, ns)
    old_configmap = resource(kube, "clawagent", "support", ns)["spec"]["source"]["configMapRef"]
    run_uid = resource(kube, "forgerun", "hello", ns)["metadata"]["uid"]
    support = gitops[f"{GITOPS}/programs/support.neam"]
    changed = support.replace("Answer briefly", "Answer in one sentence")
    assert changed != support
    second = push(kube, origin, {f"{GITOPS}/programs/support.neam": changed}, "terser support")
    wait_ready(kube, "kustomization", "neam-agents", second)
    after = wait_claw(kube, ns, "support", "Ready on the new program", ready)
    assert after["programHash"] != before["programHash"]
    assert (
        after["observedGeneration"]
        == resource(kube, "clawagent", "support", ns)["metadata"]["generation"]
    )
    new_pods = wait_for(
        lambda: (pods := serving_pods(kube, ns)) and not pods & old_pods and pods,
        "the old pods to be replaced",
    )
    assert new_pods
    assert get_json(kube, "configmap", old_configmap["name"], "-n", ns) is None
    assert resource(kube, "forgerun", "hello", ns)["metadata"]["uid"] == run_uid
    reply = ask(agents, "Where is my order?")
    assert reply.status_code == 200, reply.text
    system = agents.llm.requests[-1].json["messages"][0]
    assert system["role"] == "system" and "Answer in one sentence" in system["content"]

    # 3. A commit changes the ForgeRun's program, which a run cannot take: Flux replaces
    #    the run. This program also wants a file the model never writes, so the new run
    #    fails, and so does the Kustomization's health check, naming the run.
    hello = gitops[f"{GITOPS}/programs/hello_builder.neam"]
    stricter = hello.replace(
        'if (workspace_read("hello.txt") == nil) {',
        'if (workspace_read("hello.txt") == nil || workspace_read("signed.txt") == nil) {',
    )
    assert stricter != hello
    third = push(kube, origin, {f"{GITOPS}/programs/hello_builder.neam": stricter}, "sign it")
    replaced = wait_for(
        lambda: (
            (r := get_json(kube, "forgerun", "hello", "-n", ns))
            and r["metadata"]["uid"] != run_uid
            and r
        ),
        "the ForgeRun to be replaced",
        timeout=120,
    )
    assert replaced["spec"]["source"]["configMapRef"]["name"] != configmap
    failed = wait_status(kube, ns, "hello", "finished", lambda s: s.get("phase") in TERMINAL, 240)
    assert failed["phase"] == "Failed" and failed["outcome"] == "iteration_limit", failed
    stalled = condition(failed, "Stalled")
    assert stalled["status"] == "True" and stalled["message"] == failed["message"]

    def unhealthy() -> dict[str, Any] | None:
        k = kustomization(kube)
        cond = flux_ready(k)
        revision = (k.get("status") or {}).get("lastAttemptedRevision", "")
        return cond if revision.endswith(third) and cond.get("status") == "False" else None

    cond = wait_for(unhealthy, "the Kustomization to fail its health check", timeout=240)
    assert cond["reason"] == "HealthCheckFailed", cond
    assert f"ForgeRun/{ns}/hello status: 'Failed'" in cond["message"], cond
