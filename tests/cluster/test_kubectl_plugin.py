"""``kubectl-neam`` against the real control plane, with the operator running.

The plugin runs as a real subprocess (the installed console script) with the cluster's
kubeconfig. Pods do not execute under KWOK: runs that need a controlled outcome keep
their pod unscheduled and the tests write its status (``finish_pod``), as the runtime
would; ``outputs``' workspace pod is checked for its spec, its clean-up and what the
plugin reports when the pod gives no result (a real pod's answer is the e2e tier's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from neam_operator.builders.common import container_security_context, pod_security_context

from tests.support.cluster import ClusterHandle
from tests.support.dag import agentdag, dag_node
from tests.support.operator_harness import (
    BAD_PROGRAM,
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    finish_pod,
    forgerun,
    get_json,
    job_pod,
    run_status,
    scratch_namespace,
    start,
    wait_for,
    wait_phase,
)

PLUGIN = Path(sys.executable).parent / "kubectl-neam"
OUTPUTS = "app.kubernetes.io/component=outputs"
DONE = {"outcome": "completed", "iterations": 2, "total_cost": "0.0123", "message": "all verified"}
CLAW_PROGRAM = """
claw agent helper {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "You help."
}
"""


@pytest.fixture(scope="module", autouse=True)
def plugin_installed() -> None:
    if not PLUGIN.exists():
        pytest.fail(f"{PLUGIN} is missing: run 'make install' (the console script kubectl-neam)")


@pytest.fixture
def ns(kube: ClusterHandle, operator: OperatorProcess) -> Iterator[str]:
    with scratch_namespace(kube, "plug") as name:
        yield name


def _env(kube: ClusterHandle, kubeconfig: Path | None = None) -> dict[str, str]:
    env = dict(kube.env)
    env["KUBECONFIG"] = str(kubeconfig or kube.kubeconfig)
    return env


def neam(
    kube: ClusterHandle, *args: str, kubeconfig: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``kubectl-neam ARGS`` to completion."""
    return subprocess.run(
        [str(PLUGIN), *args],
        env=_env(kube, kubeconfig),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def neam_bg(kube: ClusterHandle, *args: str) -> subprocess.Popen[str]:
    """Start ``kubectl-neam ARGS`` (watch, logs -f, outputs) and leave it running."""
    return subprocess.Popen(
        [str(PLUGIN), *args],
        env=_env(kube),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen[str], timeout: float = 90) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the plugin did not exit; stdout: {out!r} stderr: {err!r}") from None
    return proc.returncode, out, err


def launch(kube: ClusterHandle, ns: str, name: str, **spec: Any) -> None:
    """A run whose pod stays unscheduled, so the test decides how it ends."""
    spec.setdefault("resources", UNSCHEDULABLE)
    start(kube, ns, name, **spec)
    job_pod(kube, ns, f"{name}-forge")


def succeed(kube: ClusterHandle, ns: str, name: str) -> dict[str, Any]:
    finish_pod(kube, ns, f"{name}-forge", 0, DONE)
    return wait_phase(kube, ns, name, "Succeeded")


def report(kube: ClusterHandle, ns: str, name: str, **progress: Any) -> None:
    """What the in-pod reporter does: merge-patch ``status.progress``."""
    kube.kubectl(
        "patch",
        "forgerun",
        name,
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"progress": progress}}),
    )


def pods_of(kube: ClusterHandle, ns: str, selector: str) -> list[dict[str, Any]]:
    return get_json(kube, "pods", "-n", ns, "-l", selector)["items"]


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


def flat(text: str) -> list[str]:
    """The lines with runs of whitespace collapsed (table columns, aligned fields)."""
    return [" ".join(line.split()) for line in text.splitlines()]


def next_line(proc: subprocess.Popen[str]) -> str:
    """The next line the plugin prints (it flushes every line)."""
    assert proc.stdout is not None
    return proc.stdout.readline().rstrip("\n")


# ------------------------------------------------------------------ kubectl finds it


def test_kubectl_runs_the_plugin_as_kubectl_neam(kube: ClusterHandle, ns: str) -> None:
    env = _env(kube)
    env["PATH"] = os.pathsep.join([str(PLUGIN.parent), env["PATH"]])
    r = subprocess.run(
        [str(kube.kubectl_path), "neam", "list", "-n", ns],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == f"No forgeruns found in namespace {ns}."


# ------------------------------------------------------------------ list


def test_list_shows_runs_by_start_time_with_filters(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "zeta", maxIterations=3)
    time.sleep(1.1)  # start times have a resolution of one second
    launch(kube, ns, "alpha", agent="second")
    apply(kube, forgerun(ns, "broken", source={"inline": BAD_PROGRAM}))
    wait_phase(kube, ns, "broken", "Failed")
    report(kube, ns, "zeta", iteration=1, maxIterations=3, totalCost="0.004")
    succeed(kube, ns, "zeta")

    r = neam(kube, "list", "-n", ns)
    assert r.returncode == 0, r.stderr
    table = rows(r.stdout)
    assert table[0] == ["NAME", "AGENT", "PHASE", "ITER", "COST", "DURATION"]
    by_name = {row[0]: row for row in table[1:]}
    assert by_name["zeta"][1:5] == ["builder", "Succeeded", "2/3", "0.0123"]
    assert by_name["alpha"][1:3] == ["second", run_status(kube, ns, "alpha")["phase"]]
    assert by_name["broken"][1:] == ["-", "Failed", "-", "-", "-"]
    # zeta started before alpha, although it sorts after it by name; broken never
    # started and sorts by its creation
    assert [row[0] for row in table[1:]] == ["zeta", "alpha", "broken"]

    assert rows(neam(kube, "list", "-n", ns, "--phase", "succeeded,failed").stdout)[1:] == [
        by_name["zeta"],
        by_name["broken"],
    ]
    assert [r[0] for r in rows(neam(kube, "list", "-n", ns, "--agent", "second").stdout)[1:]] == [
        "alpha"
    ]
    everywhere = rows(neam(kube, "list", "-A", "--phase", "Failed").stdout)
    assert everywhere[0][:2] == ["NAMESPACE", "NAME"]
    assert [ns, "broken"] in [row[:2] for row in everywhere]

    bad = neam(kube, "list", "-n", ns, "--phase", "done")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: unknown forgerun phase done; phases are Pending")
    none = neam(kube, "list", "dag", "-n", ns)
    assert (none.returncode, none.stdout, none.stderr.strip()) == (
        0,
        "",
        f"No agentdags found in namespace {ns}.",
    )


# ------------------------------------------------------------------ describe


def test_describe_a_run(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "desc", maxIterations=3, task="Build the CLI", image="registry.local/neam:t")
    report(kube, ns, "desc", iteration=1, totalCost="0.004", currentTask="write main.py")
    wait_for(lambda: run_status(kube, ns, "desc").get("currentTask"), "progress folded in")

    r = neam(kube, "describe", "-n", ns, "desc")
    assert r.returncode == 0, r.stderr
    lines = flat(r.stdout)
    for line in (
        "Name: desc",
        f"Namespace: {ns}",
        "Kind: ForgeRun (neam.dev/v1alpha1)",
        "Spec:",
        "Max iterations: 3",
        "Task: Build the CLI",
        "Image: registry.local/neam:t",
        "Progress:",
        "Iteration: 1",
        "Current task: write main.py",
        "TYPE STATUS REASON MESSAGE",
        "ConfigMap desc-program present",
        "ServiceAccount desc-reporter present",
        "PersistentVolumeClaim desc-workspace Bound, 1Gi",
        "Job desc-forge active 1, succeeded 0, failed 0",
        "LAST SEEN TYPE REASON MESSAGE",
    ):
        assert line in lines, line
    assert any(line.startswith("Source: inline (") for line in lines)
    assert any(line.startswith("Compiled True Compiled ") for line in lines)
    assert any(line.split()[1:3] == ["Normal", "Created"] for line in lines)
    pod = job_pod(kube, ns, "desc-forge")["metadata"]["name"]
    row = next(line for line in lines if line.startswith(f"{pod} "))
    assert row.split()[1] == "1" and "Pending (Unschedulable: 0/1 nodes" in row

    succeed(kube, ns, "desc")
    kube.kubectl("delete", "serviceaccount", "desc-reporter", "-n", ns)
    lines = flat(neam(kube, "describe", "-n", ns, "fr/desc").stdout)
    for line in (
        "Phase: Succeeded",
        "Outcome: completed",
        "Iteration: 2/3",
        "Cost (USD): 0.0123",
        "Message: all verified",
        "ServiceAccount desc-reporter missing",
    ):
        assert line in lines, line
    assert any(line.startswith("Succeeded True ") for line in lines)
    assert any(line.startswith("Job desc-forge Complete") for line in lines)
    assert any(line.split()[1:3] == ["Normal", "Succeeded"] for line in lines)


def test_describe_an_agentdag_and_a_clawagent(kube: ClusterHandle, ns: str) -> None:
    nodes = [dag_node("research", "helper"), dag_node("report", "helper", "research")]
    dag = agentdag(ns, "chain", nodes, source={"inline": CLAW_PROGRAM}, resources=UNSCHEDULABLE)
    claw = {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ClawAgent",
        "metadata": {"name": "helpdesk", "namespace": ns},
        "spec": {"source": {"inline": CLAW_PROGRAM}},
    }
    apply(kube, dag, claw)
    wait_for(lambda: (get_json(kube, "agentdag", "chain", "-n", ns) or {}).get("status"), "DAG")
    wait_for(
        lambda: (get_json(kube, "clawagent", "helpdesk", "-n", ns) or {}).get("status"), "claw"
    )

    lines = flat(neam(kube, "describe", "-n", ns, "dag/chain").stdout)
    assert "Kind: AgentDAG (neam.dev/v1alpha1)" in lines and "Nodes: 2" in lines
    table = [line.split() for line in lines[lines.index("Nodes:") + 1 :]]
    assert table[0] == ["ID", "AGENT", "AFTER", "PHASE", "OUTCOME", "COST", "CHILD"]
    assert table[1][:3] == ["research", "helper", "-"]
    assert table[2][:3] == ["report", "helper", "research"]

    lines = flat(neam(kube, "describe", "-n", ns, "claw/helpdesk").stdout)
    assert "Kind: ClawAgent (neam.dev/v1alpha1)" in lines
    assert {"API key: none", "Conditions:", "Events:"} <= set(lines)


def test_describe_errors(kube: ClusterHandle, ns: str) -> None:
    missing = neam(kube, "describe", "-n", ns, "nope")
    assert missing.returncode == 3
    assert missing.stderr == f"error: forgerun/nope not found in namespace {ns}\n"
    wrong = neam(kube, "describe", "-n", ns, "deployment/x")
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("error: 'deployment' is not a neam resource kind; use forgerun")


# ------------------------------------------------------------------ logs


def test_logs_follow_the_run_across_retries(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "retry", backoffLimit=1)
    first = job_pod(kube, ns, "retry-forge")["metadata"]["name"]
    follow = neam_bg(kube, "logs", "-f", "-n", ns, "retry")
    assert next_line(follow) == f"==> pod/{first}, attempt 1: Pending <=="
    finish_pod(kube, ns, "retry-forge", 1, "the first attempt crashed")

    def replacement() -> str | None:
        names = [p["metadata"]["name"] for p in pods_of(kube, ns, "job-name=retry-forge")]
        return next((n for n in names if n != first), None)

    second = wait_for(replacement, "the replacement pod")
    # The first pod's log (none under KWOK) ended; the follower moved on to the new pod.
    assert next_line(follow) == f"==> pod/{second}, attempt 2: Pending <=="
    finish_pod(kube, ns, "retry-forge", 0, DONE, pod_name=second)
    wait_phase(kube, ns, "retry", "Succeeded")
    code, out, err = finished(follow)
    assert (code, out) == (0, ""), err  # the run ended: so does the follower

    shown = neam(kube, "logs", "-n", ns, "retry")
    assert shown.returncode == 0, shown.stderr
    assert [line for line in shown.stdout.splitlines() if line.startswith("==> ")] == [
        f"==> pod/{first}, attempt 1: Failed (exit 1, Error) <==",
        f"==> pod/{second}, attempt 2: Succeeded (exit 0, Completed) <==",
    ]


def test_logs_of_pending_unlaunched_missing_and_deleted_runs(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "waiting")
    pending = neam(kube, "logs", "-n", ns, "waiting")
    assert pending.returncode == 0
    assert "(no log: the pod has not started: Unschedulable: 0/1 nodes" in pending.stdout

    apply(kube, forgerun(ns, "broken", source={"inline": BAD_PROGRAM}))
    wait_phase(kube, ns, "broken", "Failed")
    broken = neam(kube, "logs", "-n", ns, "broken")
    assert broken.returncode == 0
    assert broken.stderr.startswith("forgerun/broken has no pods (Failed: broken.neam:")
    assert neam(kube, "logs", "-f", "-n", ns, "broken").returncode == 0  # ended: nothing to follow

    assert neam(kube, "logs", "-n", ns, "nope").returncode == 3
    follow = neam_bg(kube, "logs", "-f", "-n", ns, "waiting")
    assert next_line(follow).endswith(", attempt 1: Pending <==")
    kube.kubectl("delete", "forgerun", "waiting", "-n", ns, "--wait=false")
    code, _, err = finished(follow)
    assert (code, err) == (3, "error: forgerun/waiting was deleted\n")


# ------------------------------------------------------------------ watch


def test_watch_shows_progress_and_exits_0_on_success(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "good", maxIterations=3)
    watch = neam_bg(kube, "watch", "-n", ns, "good")
    phase = run_status(kube, ns, "good")["phase"]
    assert next_line(watch).startswith(f"forgerun/good  {phase}  iteration 0/3")
    report(kube, ns, "good", iteration=1, totalCost="0.004", currentTask="write main.py")
    wait_for(lambda: run_status(kube, ns, "good").get("currentTask"), "progress folded in")
    phase = run_status(kube, ns, "good")["phase"]
    succeed(kube, ns, "good")
    code, out, err = finished(watch)
    assert code == 0, err
    lines = out.splitlines()
    assert f"forgerun/good  {phase}  iteration 1/3  cost 0.004  task: write main.py" in lines
    assert lines[-1].startswith(
        "forgerun/good Succeeded: outcome completed, 2/3 iterations, cost 0.0123, took "
    )
    assert lines[-1].endswith(": all verified")


def test_watch_exit_codes_say_how_the_run_ended(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "bad", backoffLimit=0)
    launch(kube, ns, "halt")
    launch(kube, ns, "slow")
    apply(kube, forgerun(ns, "broken", source={"inline": BAD_PROGRAM}))

    failing = neam_bg(kube, "watch", "-n", ns, "bad")
    stopping = neam_bg(kube, "watch", "-n", ns, "halt")
    assert next_line(failing).startswith("forgerun/bad  ")
    assert next_line(stopping).startswith("forgerun/halt  ")
    finish_pod(kube, ns, "bad-forge", 1, {"outcome": "error", "message": "provider down"})
    assert neam(kube, "stop", "-n", ns, "halt").returncode == 0

    code, out, _ = finished(failing)
    assert code == 5 and out.splitlines()[-1].startswith("forgerun/bad Failed: outcome error")
    code, out, _ = finished(stopping)
    assert code == 6 and out.splitlines()[-1].startswith("forgerun/halt Stopped: outcome aborted")

    wait_phase(kube, ns, "broken", "Failed")
    assert neam(kube, "watch", "-n", ns, "broken").returncode == 5
    timed_out = neam(kube, "watch", "-n", ns, "slow", "--timeout", "2s")
    assert timed_out.returncode == 7
    assert timed_out.stderr == "error: forgerun/slow did not end within 2s\n"
    assert neam(kube, "watch", "-n", ns, "nope").returncode == 3

    deleted = neam_bg(kube, "watch", "-n", ns, "slow")
    assert next_line(deleted).startswith("forgerun/slow  ")
    kube.kubectl("delete", "forgerun", "slow", "-n", ns, "--wait=false")
    code, _, err = finished(deleted)
    assert (code, err) == (3, "error: forgerun/slow was deleted\n")


# ------------------------------------------------------------------ stop and rerun


def test_stop_sets_spec_stop_once(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "halt")
    r = neam(kube, "stop", "-n", ns, "halt")
    assert (r.returncode, r.stdout) == (
        0,
        "forgerun/halt stopping: it ends Stopped once its running work finishes\n",
    )
    assert get_json(kube, "forgerun", "halt", "-n", ns)["spec"]["stop"] is True
    st = wait_phase(kube, ns, "halt", "Stopped")
    assert neam(kube, "stop", "-n", ns, "halt").stdout == (
        f"forgerun/halt already ended ({st['phase']}); nothing to stop\n"
    )

    nodes = [dag_node("only", "helper")]
    apply(kube, agentdag(ns, "d", nodes, source={"inline": CLAW_PROGRAM}, resources=UNSCHEDULABLE))
    assert neam(kube, "stop", "-n", ns, "dag/d").returncode == 0
    assert get_json(kube, "agentdag", "d", "-n", ns)["spec"]["stop"] is True
    assert neam(kube, "stop", "-n", ns, "dag/d").stdout in (
        "agentdag/d is already stopping\n",
        "agentdag/d already ended (Stopped); nothing to stop\n",
    )

    wrong = neam(kube, "stop", "-n", ns, "claw/x")
    assert (wrong.returncode, wrong.stderr) == (
        2,
        "error: this command works on forgeruns and agentdags, not clawagents\n",
    )
    assert neam(kube, "stop", "-n", ns, "nope").returncode == 3


def test_rerun_creates_a_new_run_from_the_same_spec(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "orig", maxIterations=2, task="Build it")
    kube.kubectl("label", "forgerun", "orig", "-n", ns, "team=a")
    neam(kube, "stop", "-n", ns, "orig")
    wait_phase(kube, ns, "orig", "Stopped")

    r = neam(kube, "rerun", "-n", ns, "orig")
    assert (r.returncode, r.stdout) == (
        0,
        "forgerun/orig-rerun-1 created (a rerun of forgerun/orig)\n",
    )
    new = get_json(kube, "forgerun", "orig-rerun-1", "-n", ns)
    old = get_json(kube, "forgerun", "orig", "-n", ns)
    assert new["spec"] == {k: v for k, v in old["spec"].items() if k != "stop"}
    assert new["metadata"]["labels"]["team"] == "a"
    annotations = new["metadata"]["annotations"]
    assert annotations["neam.dev/rerun-of"] == "orig"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in annotations
    assert "ownerReferences" not in new["metadata"]
    wait_for(lambda: get_json(kube, "job", "orig-rerun-1-forge", "-n", ns), "the rerun's Job")

    assert neam(kube, "rerun", "-n", ns, "orig-rerun-1").stdout == (
        "forgerun/orig-rerun-2 created (a rerun of forgerun/orig-rerun-1)\n"
    )
    assert neam(kube, "rerun", "-n", ns, "fr/orig", "--name", "again").returncode == 0
    taken = neam(kube, "rerun", "-n", ns, "orig", "--name", "again")
    assert (taken.returncode, taken.stderr) == (
        1,
        'error: forgeruns.neam.dev "again" already exists\n',
    )
    assert neam(kube, "rerun", "-n", ns, "nope").returncode == 3

    nodes = [dag_node("only", "helper")]
    dag = agentdag(
        ns, "d", nodes, source={"inline": CLAW_PROGRAM}, resources=UNSCHEDULABLE, stop=True
    )
    apply(kube, dag)
    assert neam(kube, "rerun", "-n", ns, "dag/d").stdout == (
        "agentdag/d-rerun-1 created (a rerun of agentdag/d)\n"
    )
    again = get_json(kube, "agentdag", "d-rerun-1", "-n", ns)["spec"]
    first = get_json(kube, "agentdag", "d", "-n", ns)["spec"]
    assert first["stop"] is True and again == {k: v for k, v in first.items() if k != "stop"}


# ------------------------------------------------------------------ outputs


def test_outputs_prints_the_outcome(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "done", maxIterations=3)
    succeed(kube, ns, "done")
    r = neam(kube, "outputs", "-n", ns, "done", "--no-files")
    assert r.returncode == 0, r.stderr
    lines = flat(r.stdout)
    assert lines[:4] == [
        "forgerun/done: Succeeded",
        "Outcome: completed",
        "Iterations: 2/3",
        "Cost (USD): 0.0123",
    ]
    assert lines[4].startswith("Duration: ") and lines[5] == "Message: all verified"
    assert pods_of(kube, ns, OUTPUTS) == []


def _outputs_pod(kube: ClusterHandle, ns: str) -> dict[str, Any]:
    return wait_for(lambda: next(iter(pods_of(kube, ns, OUTPUTS)), None), "the workspace pod")


def test_outputs_pod_mounts_the_workspace_read_only_and_goes_away(
    kube: ClusterHandle, ns: str
) -> None:
    launch(kube, ns, "ws", image="registry.local/neam:t")
    succeed(kube, ns, "ws")
    run = get_json(kube, "forgerun", "ws", "-n", ns)
    proc = neam_bg(kube, "outputs", "-n", ns, "ws", "--timeout", "5s")
    pod = _outputs_pod(kube, ns)
    code, out, err = finished(proc)

    spec = pod["spec"]
    (c,) = spec["containers"]
    assert c["image"] == "registry.local/neam:t"  # the run's own image
    assert c["command"][:2] == ["python3", "-c"] and c["command"][3:] == ["list", "/workspace", "0"]
    assert c["volumeMounts"] == [{"name": "workspace", "mountPath": "/workspace", "readOnly": True}]
    claim = {"claimName": "ws-workspace", "readOnly": True}
    assert spec["volumes"] == [{"name": "workspace", "persistentVolumeClaim": claim}]
    # The API server adds defaults; every hardened field is there as the runtime pods have it.
    assert pod_security_context().items() <= spec["securityContext"].items()
    assert container_security_context().items() <= c["securityContext"].items()
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["automountServiceAccountToken"] is False
    (owner,) = pod["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("ForgeRun", run["metadata"]["uid"])

    # KWOK never finishes the pod: the plugin gives up after --timeout and cleans up.
    assert code == 7, err
    assert out.startswith("forgerun/ws: Succeeded\n")
    name = pod["metadata"]["name"]
    assert err == f"error: the workspace pod {name} did not finish within 5s (Running)\n"
    assert get_json(kube, "pod", name, "-n", ns) is None


def test_outputs_reports_a_pod_without_a_result(kube: ClusterHandle, ns: str) -> None:
    launch(kube, ns, "ws")
    succeed(kube, ns, "ws")

    proc = neam_bg(kube, "outputs", "-n", ns, "ws", "--timeout", "60s")
    name = _outputs_pod(kube, ns)["metadata"]["name"]
    finish_pod(kube, ns, "", 1, "PermissionError: /workspace", container="outputs", pod_name=name)
    code, _, err = finished(proc)
    assert (code, err) == (
        1,
        f"error: the workspace pod {name} failed (exit 1, Error: PermissionError: /workspace)\n",
    )
    assert get_json(kube, "pod", name, "-n", ns) is None

    # Succeeded, but there is no log to read (KWOK keeps none).
    proc = neam_bg(kube, "outputs", "-n", ns, "ws", "--cat", "README.md")
    pod = _outputs_pod(kube, ns)
    name = pod["metadata"]["name"]
    assert pod["spec"]["containers"][0]["command"][3:] == ["cat", "/workspace", "README.md"]
    finish_pod(kube, ns, "", 0, "", container="outputs", pod_name=name)
    code, out, err = finished(proc)
    assert code == 1 and out == ""  # --cat prints only file contents
    assert err.startswith(f"error: cannot read the log of the workspace pod {name}: ")
    assert get_json(kube, "pod", name, "-n", ns) is None


def test_outputs_without_a_workspace(kube: ClusterHandle, ns: str) -> None:
    apply(kube, forgerun(ns, "broken", source={"inline": BAD_PROGRAM}))
    wait_phase(kube, ns, "broken", "Failed")
    r = neam(kube, "outputs", "-n", ns, "broken")
    assert r.returncode == 1
    assert flat(r.stdout)[:2] == ["forgerun/broken: Failed", "Outcome: error"]
    assert r.stderr == "error: forgerun/broken has no workspace: it never started its Job\n"

    launch(kube, ns, "lost")
    succeed(kube, ns, "lost")
    kube.kubectl("delete", "pvc", "lost-workspace", "-n", ns)
    r = neam(kube, "outputs", "-n", ns, "lost")
    assert (r.returncode, r.stderr) == (
        1,
        "error: the workspace claim lost-workspace of forgerun/lost no longer exists\n",
    )
    bad = neam(kube, "outputs", "-n", ns, "lost", "--cat", "../etc/passwd")
    assert (bad.returncode, bad.stderr) == (
        2,
        "error: --cat ../etc/passwd: paths are relative to the workspace\n",
    )
    assert pods_of(kube, ns, OUTPUTS) == []


# ------------------------------------------------------------------ access


def _kubeconfig(
    kube: ClusterHandle, path: Path, users: dict[str, dict[str, Any]], namespaces: dict[str, str]
) -> Path:
    """A kubeconfig for the cluster's server and CA with one context per user (the first
    is current), each in its namespace if given."""
    cluster = yaml.safe_load(kube.kubeconfig.read_text())["clusters"][0]["cluster"]
    contexts = [
        {"name": user, "context": {"cluster": "c", "user": user, **namespaced}}
        for user in users
        for namespaced in [{"namespace": namespaces[user]} if user in namespaces else {}]
    ]
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": next(iter(users)),
        "clusters": [{"name": "c", "cluster": cluster}],
        "contexts": contexts,
        "users": [{"name": user, "user": creds} for user, creds in users.items()],
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_access_with_another_kubeconfig_context_and_a_token(
    kube: ClusterHandle, ns: str, tmp_path: Path
) -> None:
    launch(kube, ns, "mine")
    rbac = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "viewer", "namespace": ns},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "viewer", "namespace": ns},
            "rules": [
                {
                    "apiGroups": ["neam.dev"],
                    "resources": ["forgeruns"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "viewer", "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "viewer"},
            "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": ns}],
        },
    ]
    apply(kube, *rbac)
    token = kube.kubectl("create", "token", "viewer", "-n", ns, "--duration=10m").stdout.strip()
    admin = yaml.safe_load(kube.kubeconfig.read_text())["users"][0]["user"]
    users = {"admin": admin, "viewer": {"token": token}}
    config = _kubeconfig(kube, tmp_path / "config", users, {"viewer": ns})

    # The viewer context's namespace is the default; its token may read runs, not stop them.
    listed = neam(kube, "list", "--context", "viewer", kubeconfig=config)
    assert listed.returncode == 0, listed.stderr
    assert rows(listed.stdout)[1][0] == "mine"
    forbidden = neam(kube, "stop", "mine", "--context", "viewer", kubeconfig=config)
    assert forbidden.returncode == 4
    assert forbidden.stderr.startswith('error: forgeruns.neam.dev "mine" is forbidden: User ')
    assert token not in forbidden.stderr + forbidden.stdout
    # --kubeconfig wins over $KUBECONFIG; the current context is the admin's.
    listed = neam(kube, "--kubeconfig", str(config), "list", "-n", ns, kubeconfig=tmp_path / "x")
    assert listed.returncode == 0 and rows(listed.stdout)[1][0] == "mine"


def test_no_cluster_access_is_exit_4(kube: ClusterHandle, ns: str, tmp_path: Path) -> None:
    missing = neam(kube, "list", kubeconfig=tmp_path / "absent")
    assert missing.returncode == 4
    assert (
        missing.stderr
        == f"error: cannot load credentials: Configuration file {tmp_path / 'absent'} not found\n"
    )
    wrong_context = neam(kube, "list", "--context", "nope")
    assert (wrong_context.returncode, wrong_context.stderr) == (
        4,
        "error: cannot load credentials: Context 'nope' not found\n",
    )
    closed = yaml.safe_load(kube.kubeconfig.read_text())
    closed["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    (tmp_path / "closed").write_text(yaml.safe_dump(closed))
    unreachable = neam(kube, "describe", "x", "-n", ns, kubeconfig=tmp_path / "closed")
    assert unreachable.returncode == 4
    assert unreachable.stderr.startswith(
        "error: cannot reach the API server at https://127.0.0.1:1"
    )
