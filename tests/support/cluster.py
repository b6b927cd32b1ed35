"""The real Kubernetes control plane used by the cluster tests and the benchmarks.

A local cluster is a kwokctl ``--runtime binary`` cluster (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and the kwok controller faking one node)
started by ``hack/cluster.sh`` from the binaries ``hack/cluster-binaries.sh``
builds into ``$NEAM_CACHE_DIR``. Every cluster started here gets a unique name,
so parallel sessions never share processes, ports or state.

Use :func:`local_cluster` outside pytest (benchmarks) and the ``kube`` fixture
in ``tests/cluster/conftest.py`` inside it. Both hand out a
:class:`ClusterHandle`; nothing here reads or writes ``~/.kube/config``.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import kubernetes.client

REPO_ROOT = Path(__file__).resolve().parents[2]
HACK_DIR = REPO_ROOT / "hack"
EXIT_GRACE_SECONDS = 10.0  # how long stopped cluster components may take to exit


class ClusterError(RuntimeError):
    """The control plane could not be started, reached or stopped."""


class KubectlError(subprocess.CalledProcessError):
    """A kubectl call failed; the message carries the command and its stderr."""

    def __str__(self) -> str:
        command = shlex.join(str(part) for part in self.cmd)
        return f"kubectl exited {self.returncode}: {command}\n{self.stderr or self.output}"


def cache_dir() -> Path:
    """The cache root shared with the Makefile and the hack/ scripts."""
    configured = os.environ.get("NEAM_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "neam-operator"


def _script_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("NEAM_CACHE_DIR", str(cache_dir()))
    env.update(extra)
    return env


def binary_dirs() -> dict[str, Path]:
    """KUBE_BIN_DIR, ETCD_BIN_DIR and KWOK_BIN_DIR for the pinned versions.

    The versions are pinned in one place (hack/kwok/versions.sh); ask the build
    script instead of repeating them here.
    """
    result = subprocess.run(
        ["bash", str(HACK_DIR / "cluster-binaries.sh"), "--print-dirs"],
        env=_script_env(),
        text=True,
        capture_output=True,
        check=True,
    )
    dirs: dict[str, Path] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        dirs[key] = Path(shlex.split(value)[0])
    return dirs


def built_kubectl() -> Path:
    """The kubectl built by hack/cluster-binaries.sh (or $NEAM_KUBECTL)."""
    configured = os.environ.get("NEAM_KUBECTL")
    path = Path(configured) if configured else binary_dirs()["KUBE_BIN_DIR"] / "kubectl"
    if not os.access(path, os.X_OK):
        raise ClusterError(f"kubectl not found at {path}; run 'make cluster-binaries'")
    return path


@dataclass(frozen=True)
class ClusterHandle:
    """How tests reach one cluster: its kubeconfig, kubectl and an API client."""

    kubeconfig: Path
    kubectl_path: Path
    env: dict[str, str]

    @classmethod
    def for_kubeconfig(cls, kubeconfig: Path, kubectl_path: Path) -> ClusterHandle:
        """A handle whose child-process env points KUBECONFIG at ``kubeconfig``.

        kubectl's discovery cache goes to the cache directory, not ~/.kube/cache.
        """
        env = dict(os.environ)
        env["KUBECONFIG"] = str(kubeconfig)
        env["KUBECACHEDIR"] = str(cache_dir() / "kubectl-cache")  # not ~/.kube/cache
        env["PATH"] = os.pathsep.join([str(kubectl_path.parent), env.get("PATH", "")])
        return cls(kubeconfig=kubeconfig, kubectl_path=kubectl_path, env=env)

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this cluster (text mode, output captured)."""
        command = [str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(
            command, env=self.env, input=input, text=True, capture_output=True, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, command, result.stdout, result.stderr)
        return result

    def api_client(self) -> kubernetes.client.ApiClient:
        """A synchronous client configured from this kubeconfig file only."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return client.ApiClient(configuration)


SESSION_CLUSTER = re.compile(r"neam-test-(?P<pid>\d+)-[0-9a-f]+")


class LocalCluster:
    """One uniquely named kwokctl cluster, started and stopped via hack/cluster.sh.

    ``create_args`` are extra ``kwokctl create cluster`` arguments (e.g. component
    flags given as ``--extra-args component=key=value``)."""

    def __init__(self, name: str | None = None, create_args: Sequence[str] = ()) -> None:
        self.name = name or f"neam-test-{os.getpid()}-{secrets.token_hex(3)}"
        self.state_dir = cache_dir() / "kwok" / "clusters" / self.name
        self.create_args = tuple(create_args)
        self._stopped = False

    def _run(self, action: str) -> subprocess.CompletedProcess[str]:
        create_args = " ".join(self.create_args)  # hack/cluster.sh splits on whitespace
        return subprocess.run(
            ["bash", str(HACK_DIR / "cluster.sh"), action],
            env=_script_env(NEAM_CLUSTER_NAME=self.name, NEAM_CLUSTER_CREATE_ARGS=create_args),
            text=True,
            capture_output=True,
            check=False,
        )

    def start(self) -> ClusterHandle:
        """Create the cluster and wait until its node is Ready."""
        result = self._run("up")
        if result.returncode != 0:
            with suppress(ClusterError):  # report the start failure, not the cleanup
                self.stop()
            raise ClusterError(
                f"starting cluster {self.name} failed (hack/cluster.sh up exited "
                f"{result.returncode}); component logs: {self.state_dir / 'logs'}\n"
                f"{result.stdout}{result.stderr}"
            )
        return ClusterHandle.for_kubeconfig(
            self.state_dir / "kubeconfig.yaml", binary_dirs()["KUBE_BIN_DIR"] / "kubectl"
        )

    def stop(self) -> None:
        """Delete the cluster and make sure none of its processes survive.

        Idempotent, so it can run from a finally block and again from atexit
        (which retries if the first attempt was interrupted).
        """
        if self._stopped:
            return
        result = self._run("down")
        # kwokctl signals the components and returns; on a loaded machine one may need
        # a few seconds to exit. Only what outlives that is a leak.
        _wait_for_exit(self.name, EXIT_GRACE_SECONDS)
        leftovers = _kill_cluster_processes(self.name)
        self._stopped = True
        if result.returncode != 0 or leftovers:
            raise ClusterError(
                f"stopping cluster {self.name}: hack/cluster.sh down exited "
                f"{result.returncode}, killed leftover pids {leftovers}\n"
                f"{result.stdout}{result.stderr}"
            )


def cluster_processes(name: str) -> list[int]:
    """PIDs of live processes belonging to the kwokctl cluster called ``name``.

    kwokctl gets ``--name <name>`` and ``.../configs/<name>.yaml``; every
    component gets paths inside ``.../clusters/<name>/``. Matching whole
    arguments that way finds them without matching anything else. Zombies have
    an empty command line and are not reported.
    """
    markers = (f"/{name}/".encode(), f"/{name}.yaml".encode())
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg == name.encode() or any(m in arg for m in markers) for arg in arguments):
            pids.append(int(entry.name))
    return pids


def _wait_for_exit(name: str, seconds: float) -> None:
    """Wait up to ``seconds`` for the processes of cluster ``name`` to exit."""
    deadline = time.monotonic() + seconds
    while cluster_processes(name) and time.monotonic() < deadline:
        time.sleep(0.2)


def _kill_cluster_processes(name: str) -> list[int]:
    """SIGKILL every process of cluster ``name`` until none is left; return their PIDs."""
    killed: list[int] = []
    for _ in range(100):
        pids = cluster_processes(name)
        if not pids:
            return killed
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed.extend(pid for pid in pids if pid not in killed)
        time.sleep(0.1)
    raise ClusterError(f"processes {cluster_processes(name)} of cluster {name} survive SIGKILL")


_SignalHandler = Callable[[int, FrameType | None], object] | int | None


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


@contextmanager
def _exit_on_termination() -> Iterator[None]:
    """Treat SIGTERM/SIGHUP like Ctrl-C while a cluster is up.

    A KeyboardInterrupt stops a pytest session (a SystemExit would only fail the
    running test) and unwinds through the ``finally`` blocks that tear down.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, _SignalHandler] = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, _interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def prune_stale_clusters() -> list[str]:
    """Delete session clusters whose creating process is gone (it was SIGKILLed).

    Only names made by :class:`LocalCluster` (``neam-test-<pid>-<hex>``) whose
    pid no longer exists are touched, so live parallel sessions are safe.
    """
    pruned = []
    for state in sorted((cache_dir() / "kwok" / "clusters").glob("neam-test-*")):
        match = SESSION_CLUSTER.fullmatch(state.name)
        if match and not _pid_exists(int(match["pid"])):
            with suppress(ClusterError):
                LocalCluster(state.name).stop()
            pruned.append(state.name)
    return pruned


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def local_cluster(
    name: str | None = None, create_args: Sequence[str] = ()
) -> Iterator[ClusterHandle]:
    """Start a fresh local cluster and always delete it afterwards.

    Teardown runs on normal exit, exceptions, Ctrl-C (KeyboardInterrupt),
    SIGTERM/SIGHUP, and as a last resort from atexit. Clusters left behind by
    sessions that could not clean up (SIGKILL) are deleted first.
    """
    prune_stale_clusters()
    cluster = LocalCluster(name, create_args)
    atexit.register(cluster.stop)
    try:
        with _exit_on_termination():
            try:
                yield cluster.start()
            finally:
                cluster.stop()
    finally:
        atexit.unregister(cluster.stop)


def existing_cluster() -> ClusterHandle:
    """The cluster named by $KUBECONFIG (a single file), checked to be reachable."""
    configured = os.environ.get("KUBECONFIG", "")
    if not configured or os.pathsep in configured:
        raise ClusterError(
            "NEAM_TEST_CLUSTER=existing needs KUBECONFIG set to exactly one kubeconfig file, "
            f"got {configured!r}"
        )
    kubeconfig = Path(configured).expanduser()
    if not kubeconfig.is_file():
        raise ClusterError(f"KUBECONFIG={configured} does not exist")
    handle = ClusterHandle.for_kubeconfig(kubeconfig, built_kubectl())
    probe = handle.kubectl("get", "--raw", "/readyz", check=False)
    if probe.returncode != 0:
        raise ClusterError(f"cluster in {kubeconfig} is not reachable:\n{probe.stderr}")
    return handle


def kind_unavailable_reason() -> str | None:
    """Why the optional pytest-kind backend cannot run here, or None if it can."""
    if shutil.which("kind") is None:
        return "the kind backend needs the `kind` binary on PATH"
    if shutil.which("docker") is None:
        return "the kind backend needs a Docker engine (no `docker` on PATH)"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "the kind backend needs a running Docker engine (`docker info` failed)"
    try:
        import pytest_kind  # noqa: F401
    except ImportError:
        return "the kind backend needs the pytest-kind package"
    return None


@contextmanager
def kind_cluster() -> Iterator[ClusterHandle]:
    """A throwaway kind cluster via pytest-kind (only where kind + Docker exist)."""
    from pytest_kind import KindCluster

    cluster = KindCluster(f"neam-test-{os.getpid()}-{secrets.token_hex(3)}")
    atexit.register(cluster.delete)
    try:
        with _exit_on_termination():
            try:
                cluster.create()
                yield ClusterHandle.for_kubeconfig(Path(cluster.kubeconfig_path), built_kubectl())
            finally:
                cluster.delete()
    finally:
        atexit.unregister(cluster.delete)
