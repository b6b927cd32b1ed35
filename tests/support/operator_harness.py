"""Run the real operator (``python -m neam_operator.cli``) against a test cluster.

Used by the cluster tests and the operator benchmark. The operator is a subprocess
with ``KUBECONFIG`` pointing at the cluster's kubeconfig and its liveness and metrics
endpoints bound to 127.0.0.1 on free ports; its log goes to a file for post-mortems.
Its interpreter is ``$NEAM_OPERATOR_PYTHON`` if set (``make bench``: the image's
packages only, ``.venv-runtime``), else the caller's.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from tests.support.cluster import REPO_ROOT, ClusterHandle

CRDS = REPO_ROOT / "crds"
T = TypeVar("T")


class WaitTimeout(AssertionError):
    pass


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 90.0) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` otherwise.

    A readiness wait, not a timing assertion: the timeout only bounds a hung test.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_crds(kube: ClusterHandle) -> None:
    """``kubectl apply -f crds/`` and wait until the CRDs are established."""
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    kube.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(CRDS))


class OperatorProcess:
    """One ``neam-operator`` subprocess."""

    def __init__(
        self,
        kube: ClusterHandle,
        log_dir: Path,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.kube = kube
        self.args = args
        self.extra_env = env or {}
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.metrics_port = 0
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.port = free_port()
        self.metrics_port = free_port()
        self.starts += 1
        env = dict(self.kube.env)
        env["KUBECONFIG"] = str(self.kube.kubeconfig)
        env["NEAM_RUNTIME_IMAGE"] = "neam-test:0"
        env.update(self.extra_env)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT / "operator"), str(REPO_ROOT / "runtime"), env.get("PYTHONPATH", "")]
        )
        log = (self.log_dir / f"operator-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                os.environ.get("NEAM_OPERATOR_PYTHON") or sys.executable,
                "-m",
                "neam_operator.cli",
                "--liveness-host",
                "127.0.0.1",
                "--liveness-port",
                str(self.port),
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                str(self.metrics_port),
                *self.args,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
        log.close()
        wait_for(self.alive, "the operator's liveness endpoint", timeout=60)

    def alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"the operator exited; see {self.log_dir}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def rss_kib(self) -> int:
        """Resident set size of the operator process (from /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


@contextmanager
def running_operator(
    kube: ClusterHandle,
    log_dir: Path,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[OperatorProcess]:
    op = OperatorProcess(kube, log_dir, args, env)
    op.start()
    try:
        yield op
    finally:
        op.stop()


def get_json(kube: ClusterHandle, *args: str) -> Any:
    """``kubectl get ... -o json`` parsed; None if it is not found."""
    r = kube.kubectl("get", *args, "-o", "json", check=False)
    if r.returncode != 0:
        if "NotFound" in r.stderr or "not found" in r.stderr:
            return None
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout)


def apply(kube: ClusterHandle, *docs: dict[str, Any], check: bool = True) -> Any:
    """``kubectl apply -f -`` with the given objects."""
    text = "\n---\n".join(json.dumps(d) for d in docs)
    return kube.kubectl("apply", "-f", "-", input=text, check=check)


# ---------------------------------------------------------------- ForgeRun helpers

PROGRAM = """
fun verify_done(ctx) {
  return true;
}

forge agent builder {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Build it."
  verify: verify_done
  loop: {
    max_iterations: 4
    max_cost: 1.0
  }
}

forge agent second {
  provider: "openai"
  model: "gpt-4o-mini"
  system: "Build the other thing."
  verify: verify_done
}
"""

BAD_PROGRAM = """
forge agent broken {
  provider: "openai"
  model: "gpt-4o-mini"
  verify: no_such_function
}
"""

# Requests no node can satisfy: the pod stays unscheduled, so KWOK never touches it
# and the tests drive its status themselves.
UNSCHEDULABLE = {"requests": {"cpu": "100000"}}


def new_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@contextmanager
def scratch_namespace(kube: ClusterHandle, prefix: str, **labels: str) -> Iterator[str]:
    """A new namespace ``<prefix>-<random>`` with ``labels``, deleted (without
    waiting) afterwards."""
    name = f"{prefix}-{secrets.token_hex(4)}"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if labels:
        namespace["metadata"]["labels"] = labels
    kube.kubectl("create", "-f", "-", input=json.dumps(namespace))
    try:
        yield name
    finally:
        kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def source_configmap(ns: str, name: str, text: str = PROGRAM) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": {"main.neam": text},
    }


def forgerun(ns: str, name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("source", {"inline": PROGRAM})
    return {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ForgeRun",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def run_status(kube: ClusterHandle, ns: str, name: str) -> dict[str, Any]:
    body = get_json(kube, "forgerun", name, "-n", ns)
    return (body or {}).get("status") or {}


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    for c in status.get("conditions") or []:
        if c["type"] == type_:
            return c
    return {}


def wait_phase(kube: ClusterHandle, ns: str, name: str, phase: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        st = run_status(kube, ns, name)
        return st if st.get("phase") == phase else None

    return wait_for(check, f"ForgeRun {ns}/{name} to reach {phase}")


def start(kube: ClusterHandle, ns: str, name: str, **spec: Any) -> dict[str, Any]:
    """Apply a run and wait until its Job exists; returns the Job."""
    apply(kube, forgerun(ns, name, **spec))
    return wait_for(lambda: get_json(kube, "job", f"{name}-forge", "-n", ns), f"Job of {name}")


def job_pod(kube: ClusterHandle, ns: str, job: str) -> dict[str, Any]:
    """The Job's current pod: the newest one that has not ended (after a retry, the
    new attempt's), else the newest."""

    def current(pod: dict[str, Any]) -> tuple[bool, str]:
        ended = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        return not ended, pod["metadata"]["creationTimestamp"]

    def check() -> dict[str, Any] | None:
        pods = get_json(kube, "pods", "-n", ns, "-l", f"job-name={job}")
        items = [p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]
        return max(items, key=current) if items else None

    return wait_for(check, f"a pod of Job {job}")


_STARTED = "2026-01-01T00:00:00Z"


def patch_pod_status(kube: ClusterHandle, ns: str, pod: str, status: dict[str, Any]) -> None:
    """Write a pod's status as a kubelet would (the tests play the node)."""
    kube.kubectl(
        "patch",
        "pod",
        pod,
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )


def _container_status(name: str, state: dict[str, Any], ready: bool) -> dict[str, Any]:
    return {
        "name": name,
        "image": "neam-test:0",
        "imageID": "",
        "ready": ready,
        "restartCount": 0,
        "state": state,
    }


def run_pod(kube: ClusterHandle, ns: str, job: str, container: str = "forge") -> None:
    """Mark the Job's (unscheduled) pod as running and ready."""
    pod = job_pod(kube, ns, job)
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": _STARTED}
    status = {
        "phase": "Running",
        "startTime": _STARTED,
        "conditions": [ready],
        "containerStatuses": [
            _container_status(container, {"running": {"startedAt": _STARTED}}, ready=True)
        ],
    }
    patch_pod_status(kube, ns, pod["metadata"]["name"], status)


def finish_pod(
    kube: ClusterHandle,
    ns: str,
    job: str,
    exit_code: int,
    message: dict[str, Any] | str,
    container: str = "forge",
    pod_name: str | None = None,
) -> None:
    """Mark the Job's (unscheduled) pod as terminated, with a termination message;
    ``pod_name`` picks one of several pods (default: the current one, see ``job_pod``)."""
    name = pod_name or job_pod(kube, ns, job)["metadata"]["name"]
    text = message if isinstance(message, str) else json.dumps(message)
    terminated = {
        "exitCode": exit_code,
        "reason": "Completed" if exit_code == 0 else "Error",
        "message": text,
        "startedAt": _STARTED,
        "finishedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    status = {
        "phase": "Succeeded" if exit_code == 0 else "Failed",
        "containerStatuses": [
            _container_status(container, {"terminated": terminated}, ready=False)
        ],
    }
    patch_pod_status(kube, ns, name, status)


def start_running(kube: ClusterHandle, ns: str, name: str, **spec: Any) -> dict[str, Any]:
    """Apply a run whose pod no node takes, play the node starting it, and wait until
    the run is Running; returns its status."""
    spec.setdefault("resources", UNSCHEDULABLE)
    start(kube, ns, name, **spec)
    run_pod(kube, ns, f"{name}-forge")
    return wait_phase(kube, ns, name, "Running")


def events(kube: ClusterHandle, ns: str, name: str) -> list[dict[str, Any]]:
    found = get_json(kube, "events", "-n", ns, "--field-selector", f"involvedObject.name={name}")
    return found["items"]


@contextmanager
def claims_refused(kube: ClusterHandle, ns: str) -> Iterator[None]:
    """An admission policy that refuses PersistentVolumeClaims in ``ns`` (as a quota
    or a platform policy would), with reason Invalid (HTTP 422)."""
    name = f"no-claims-{ns}"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["persistentvolumeclaims"],
                    }
                ]
            },
            "validations": [
                {"expression": "false", "message": "claims are not allowed", "reason": "Invalid"}
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}
            },
        },
    }
    apply(kube, policy, binding)
    probe = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "probe", "namespace": ns},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
    }

    def enforced() -> bool:
        made = apply(kube, probe, check=False)
        if made.returncode == 0:
            kube.kubectl("delete", "pvc", "probe", "-n", ns, "--wait=false")
            return False
        return True

    wait_for(enforced, "the claim policy to be enforced")
    try:
        yield
    finally:
        kube.kubectl("delete", "validatingadmissionpolicybinding", name, check=False)
        kube.kubectl("delete", "validatingadmissionpolicy", name, check=False)
