"""ForgeRun end to end on real pods: the operator (in the cluster) launches a Job whose
pod runs ``neam-forge`` against the OpenAI-compatible stub on 127.0.0.1; status,
workspace and git history come from what the pod really did."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from neam.providers.pricing import shipped_table
from neam.providers.types import Usage

from tests.support import e2e
from tests.support.cluster import ClusterHandle
from tests.support.forgeruns import TERMINAL, USAGE, launch, text, wait_status, write
from tests.support.llm_stubs import LLMStub
from tests.support.operator_harness import (
    BAD_PROGRAM,
    apply,
    condition,
    events,
    forgerun,
    get_json,
    run_status,
    scratch_namespace,
    wait_for,
)

MODEL = "gpt-4o-mini"
CALL_COST = shipped_table().lookup(MODEL).cost(Usage(**USAGE))

# Writes hello.py, then test_hello.py; verify passes once both exist.
BUILDER = f"""
skill write_file {{
  description: "Write content to a file in the workspace"
  params: {{ path: string, content: string }}
  impl(path, content) {{
    workspace_write(path, content);
    return "Wrote " + path;
  }}
}}

fun verify_build(ctx) {{
  if (workspace_read("hello.py") == nil) {{
    return "retry: hello.py does not exist yet";
  }}
  if (workspace_read("test_hello.py") == nil) {{
    return "retry: write test_hello.py";
  }}
  return true;
}}

forge agent builder {{
  provider: "openai"
  model: "{MODEL}"
  system: "Create hello.py and test_hello.py with the write_file tool."
  skills: [write_file]
  verify: verify_build
  checkpoint: "git"
  loop: {{
    max_iterations: 5
    max_cost: 1.0
  }}
}}
"""

# Never satisfied: every iteration ends in a retry, so only a limit or a stop ends it.
TREADMILL = f"""
fun verify_never(ctx) {{
  return "retry: iteration " + str(ctx.iteration) + " is not enough";
}}

forge agent treadmill {{
  provider: "openai"
  model: "{MODEL}"
  system: "Keep going."
  verify: verify_never
  checkpoint: "git"
  loop: {{
    max_iterations: 10
    max_cost: 1.0
  }}
}}
"""

HELLO = 'def greet(name):\n    return f"Hello, {name}!"\n'
TEST_HELLO = (
    'from hello import greet\n\n\ndef test_greet():\n    assert greet("a") == "Hello, a!"\n'
)


def pods_of(kube: ClusterHandle, ns: str, name: str) -> list[dict[str, Any]]:
    found = get_json(kube, "pods", "-n", ns, "-l", f"job-name={name}-forge")
    return sorted(found["items"], key=lambda p: p["metadata"]["creationTimestamp"])


def live_pod(kube: ClusterHandle, ns: str, name: str) -> dict[str, Any]:
    """The run's pod once it exists (and is not being deleted)."""

    def check() -> dict[str, Any] | None:
        pods = [p for p in pods_of(kube, ns, name) if not p["metadata"].get("deletionTimestamp")]
        return pods[-1] if pods else None

    return wait_for(check, f"a pod of ForgeRun {name}")


def told_to_stop(kube: ClusterHandle, ns: str, pod: str) -> bool:
    """The runtime in ``pod`` got SIGTERM (it logs so with --verbose): a deletion
    timestamp alone only says the kubelet will send it."""
    log = kube.kubectl("logs", "-n", ns, pod, check=False).stdout
    return "Received SIGTERM: stopping after the current iteration" in log


def termination_message(pod: dict[str, Any]) -> dict[str, Any]:
    (status,) = pod["status"]["containerStatuses"]
    return json.loads(status["state"]["terminated"]["message"])


def commits(workspace: Path) -> list[str]:
    return e2e.git(workspace, "log", "--format=%s").splitlines()


# ------------------------------------------------------------------ a run that completes


@dataclass
class Completed:
    kube: ClusterHandle
    ns: str
    name: str
    llm: LLMStub
    during: dict[str, Any]  # the status seen while iteration 2 was in flight
    status: dict[str, Any]


@pytest.fixture(scope="module")
def completed(kube: ClusterHandle) -> Iterator[Completed]:
    """One run of BUILDER to completion; iteration 2 is held until progress is seen."""
    ns_cm = scratch_namespace(kube, "e2e", **{e2e.REAL_PODS_LABEL: "true"})
    with ns_cm as ns, LLMStub("openai", api_key=f"sk-e2e-{secrets.token_hex(16)}") as llm:
        llm.enqueue(
            write("hello.py", HELLO),
            text("Wrote hello.py"),
            write("test_hello.py", TEST_HELLO, gate="iteration-2"),
            text("Wrote test_hello.py"),
        )
        launch(kube, ns, llm, "hello", BUILDER, agent="builder")
        try:
            during = wait_status(
                kube,
                ns,
                "hello",
                "iteration 1 reported while iteration 2 runs",
                lambda s: s.get("iteration") == 1 and s.get("phase") == "Running",
            )
        finally:
            llm.release("iteration-2")
        status = wait_status(kube, ns, "hello", "finished", lambda s: s.get("phase") in TERMINAL)
        yield Completed(kube, ns, "hello", llm, during, status)


def test_status_comes_from_the_pod(completed: Completed) -> None:
    status = completed.status
    assert status["phase"] == "Succeeded", status
    assert status["outcome"] == "completed"
    assert status["iteration"] == 2
    assert status["message"] == "All tasks completed"
    assert status["currentTask"] == "Complete the goal described in the system prompt."
    # Four model calls at the shipped gpt-4o-mini prices: a cost only the pod could know.
    assert Decimal(status["totalCost"]) == 4 * CALL_COST > 0
    assert condition(status, "Succeeded")["status"] == "True"
    assert status["completionTime"] >= status["startTime"]
    (pod,) = pods_of(completed.kube, completed.ns, "hello")
    assert termination_message(pod)["iterations"] == 2


def test_progress_is_visible_during_the_run(completed: Completed) -> None:
    during = completed.during
    assert during["iteration"] == 1 < completed.status["iteration"]
    assert Decimal(during["totalCost"]) == 2 * CALL_COST
    assert during["currentTask"] == completed.status["currentTask"]
    assert during["progress"]["outcome"] == "running"
    reasons = [e["reason"] for e in events(completed.kube, completed.ns, "hello")]
    assert {"Created", "Running", "Succeeded"} <= set(reasons), reasons


def test_files_and_git_history_land_on_the_workspace_volume(completed: Completed) -> None:
    workspace = e2e.workspace_dir(completed.kube, completed.ns, completed.status)
    assert (workspace / "hello.py").read_text() == HELLO
    assert (workspace / "test_hello.py").read_text() == TEST_HELLO
    assert commits(workspace) == [
        "neam-forge: iteration 2: Complete the goal described in the system prompt.",
        "neam-forge: iteration 1: Complete the goal described in the system prompt.",
    ]
    assert e2e.git(workspace, "ls-files").split() == ["hello.py", "test_hello.py"]
    # Written by the pod's non-root user; the volume root belongs to root (fsGroup),
    # which git in the pod had to trust.
    assert (workspace / "hello.py").stat().st_uid == 10001
    assert workspace.stat().st_uid == 0 and workspace.stat().st_gid == 10001


def test_the_provider_key_comes_from_the_secret_and_never_leaks(completed: Completed) -> None:
    kube, ns, key = completed.kube, completed.ns, completed.llm.api_key
    assert key is not None
    # The stub refuses any other key: every call the pod made carried this one.
    auth = {r.header("authorization") for r in completed.llm.requests}
    assert auth == {f"Bearer {key}"}
    (pod,) = pods_of(kube, ns, "hello")
    (container,) = pod["spec"]["containers"]
    assert key not in json.dumps(container)  # a secretKeyRef, not the value
    places = {
        "ForgeRun": json.dumps(get_json(kube, "forgerun", "hello", "-n", ns)),
        "Job": json.dumps(get_json(kube, "job", "hello-forge", "-n", ns)),
        "events": json.dumps(get_json(kube, "events", "-n", ns)),
        "pod log": kube.kubectl("logs", "-n", ns, pod["metadata"]["name"]).stdout,
        "operator log": kube.kubectl("logs", "-n", "neam-system", "deploy/neam-operator").stdout,
    }
    assert places["pod log"].strip(), "the pod's log should not be empty"
    leaked = [where for where, content in places.items() if key in content]
    assert leaked == []


# ------------------------------------------------------------------ other paths


def test_a_compile_error_never_starts_a_pod(kube: ClusterHandle, namespace: str) -> None:
    apply(kube, forgerun(namespace, "broken", source={"inline": BAD_PROGRAM}))
    status = wait_status(kube, namespace, "broken", "failed", lambda s: s.get("phase") == "Failed")
    compiled = condition(status, "Compiled")
    assert compiled["status"] == "False"
    assert "broken.neam:" in compiled["message"] and "no_such_function" in compiled["message"]
    assert get_json(kube, "jobs", "-n", namespace)["items"] == []
    assert get_json(kube, "pods", "-n", namespace)["items"] == []


def test_stop_mid_run_finishes_the_current_iteration(
    kube: ClusterHandle, namespace: str, llm: LLMStub
) -> None:
    llm.enqueue(text("first"), text("second", gate="iteration-2"), text("never sent"))
    launch(kube, namespace, llm, "stopme", TREADMILL)
    wait_for(lambda: len(llm.requests) == 2, "iteration 2's model call")
    pod = live_pod(kube, namespace, "stopme")["metadata"]["name"]
    kube.kubectl(
        "patch",
        "forgerun",
        "stopme",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"stop":true}}',
    )
    try:
        # The Job is suspended and its pod gets SIGTERM while the model call is held ...
        wait_for(lambda: told_to_stop(kube, namespace, pod), "the pod to get SIGTERM")
        # ... and the run is not over until that iteration has finished.
        assert run_status(kube, namespace, "stopme")["phase"] == "Running"
    finally:
        llm.release("iteration-2")
    status = wait_status(kube, namespace, "stopme", "stopped", lambda s: s.get("phase") in TERMINAL)
    assert status["phase"] == "Stopped", status
    assert status["outcome"] == "aborted"
    assert status["iteration"] == 2
    assert status["message"] == "Stopped by request after iteration 2"
    assert Decimal(status["totalCost"]) == 2 * CALL_COST
    assert len(llm.requests) == 2
    assert len(commits(e2e.workspace_dir(kube, namespace, status))) == 2


def test_a_deleted_pod_is_replaced_and_resumes_within_the_budget(
    kube: ClusterHandle, namespace: str, llm: LLMStub
) -> None:
    llm.enqueue(text("one"), text("two", gate="iteration-2"), text("three"), text("four"))
    launch(kube, namespace, llm, "resume", TREADMILL, maxIterations=3)
    wait_for(lambda: len(llm.requests) == 2, "iteration 2's model call")
    first = live_pod(kube, namespace, "resume")["metadata"]["name"]
    kube.kubectl("delete", "pod", first, "-n", namespace, "--wait=false")
    try:
        wait_for(lambda: told_to_stop(kube, namespace, first), "the pod to get SIGTERM")
    finally:
        llm.release("iteration-2")
    status = wait_status(
        kube, namespace, "resume", "finished", lambda s: s.get("phase") in TERMINAL
    )
    # The replacement pod resumed at iteration 3 and stopped at the limit: three
    # iterations and three model calls in total, across two pods.
    assert status["outcome"] == "iteration_limit", status
    assert status["iteration"] == 3
    assert len(llm.requests) == 3
    assert Decimal(status["totalCost"]) == 3 * CALL_COST
    # The deleted pod is gone once it terminated; its replacement stayed.
    (replacement,) = pods_of(kube, namespace, "resume")
    assert replacement["metadata"]["name"] != first
    last = termination_message(replacement)
    assert (last["outcome"], last["iterations"]) == ("iteration_limit", 3)
    assert Decimal(last["total_cost"]) == 3 * CALL_COST
    assert last["message"] == "Reached max_iterations (3) with task 1/1 unfinished"
    workspace = e2e.workspace_dir(kube, namespace, status)
    assert [c.split(":")[0] for c in commits(workspace)] == [
        "neam-forge",
        "neam-forge",
        "neam-forge",
    ]
    assert commits(workspace)[0].startswith("neam-forge: iteration 3:")
