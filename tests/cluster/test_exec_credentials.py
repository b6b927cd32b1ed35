"""Kubeconfigs whose user is an ``exec`` credential plugin (as EKS, GKE and AKS write them):
the operator (its own client and kopf) and kubectl-neam authenticate with the token the
plugin prints, here a TokenRequest token of a service account."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.resources.authentication_v1 import SelfSubjectReview
from neam_operator import kubeconfig
from neam_operator.kube import ApiError, Kube, path

from tests.support.cluster import ClusterHandle
from tests.support.kubeconfigs import cluster_entry, write_kubeconfig
from tests.support.operator_harness import (
    UNSCHEDULABLE,
    OperatorProcess,
    apply,
    forgerun,
    scratch_namespace,
    start,
)

KUBECTL_NEAM = Path(sys.executable).parent / "kubectl-neam"
PLUGIN = """#!{python}
import json, sys
from pathlib import Path

token_file, calls = Path(sys.argv[1]), Path(sys.argv[2])
with calls.open("a") as f:
    f.write("call\\n")
print(json.dumps({{
    "apiVersion": "client.authentication.k8s.io/v1beta1",
    "kind": "ExecCredential",
    "status": {{"token": token_file.read_text().strip()}},
}}))
"""


@pytest.fixture
def ns(installed: ClusterHandle) -> Iterator[str]:
    with scratch_namespace(installed, "exec") as name:
        yield name


def exec_kubeconfig(kube: ClusterHandle, tmp_path: Path, token: str) -> tuple[Path, Path]:
    """A kubeconfig with the cluster's server and CA whose only credential is an exec
    plugin printing ``token``; and the file the plugin logs each call to."""
    (tmp_path / "token").write_text(token)
    calls = tmp_path / "calls"
    plugin = tmp_path / "token-plugin"
    plugin.write_text(PLUGIN.format(python=sys.executable))
    plugin.chmod(0o700)
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(plugin),
            "args": [str(tmp_path / "token"), str(calls)],
            "interactiveMode": "Never",
        }
    }
    out = write_kubeconfig(tmp_path / "exec.kubeconfig", cluster_entry(kube.kubeconfig), user)
    return out, calls


def _token(kube: ClusterHandle, account: str, namespace: str) -> str:
    return kube.kubectl("create", "token", account, "-n", namespace, "--duration=10m").stdout


def test_the_config_authenticates_as_the_plugins_account(
    installed: ClusterHandle, tmp_path: Path
) -> None:
    config, calls = exec_kubeconfig(
        installed, tmp_path, _token(installed, "neam-operator", "neam-system")
    )
    with Client(kubeconfig.load(str(config))) as client:
        review = client.create(SelfSubjectReview())
    assert review.status.userInfo.username == "system:serviceaccount:neam-system:neam-operator"
    assert calls.read_text().count("call") == 1


async def test_requests_in_flight_share_one_plugin_run(
    installed: ClusterHandle, tmp_path: Path
) -> None:
    """The operator's client runs the plugin once for all the requests that need a token:
    at the start, and when the API server refuses the token they were sent with."""
    config, calls = exec_kubeconfig(installed, tmp_path, "not-a-token")
    url = path("v1", "ServiceAccount", "neam-system", "neam-operator")
    kube = await Kube.connect(str(config))
    try:
        with pytest.raises(ApiError) as refused:
            await kube.get(url)  # the plugin's token is refused
        assert refused.value.status == 401
        assert calls.read_text().count("call") == 1
        (tmp_path / "token").write_text(_token(installed, "neam-operator", "neam-system"))
        found = await asyncio.gather(*(kube.get(url) for _ in range(16)))
    finally:
        await kube.close()
    assert all(sa and sa["metadata"]["name"] == "neam-operator" for sa in found)
    assert calls.read_text().count("call") == 2  # one run for the 16 refused requests


def test_the_operator_reconciles_with_an_exec_plugin(
    installed: ClusterHandle, ns: str, tmp_path: Path
) -> None:
    config, calls = exec_kubeconfig(
        installed, tmp_path, _token(installed, "neam-operator", "neam-system")
    )
    op = OperatorProcess(ClusterHandle.for_kubeconfig(config, installed.kubectl_path), tmp_path)
    op.start()
    try:
        job = start(installed, ns, "execd", resources=UNSCHEDULABLE)
        assert job["metadata"]["ownerReferences"][0]["name"] == "execd"
        # kopf's login and the operator's own client ran the plugin: the kubeconfig has no
        # other credential.
        assert calls.read_text().count("call") >= 2
        assert "cannot" not in op.log_text(), op.log_text()
        assert "HTTP Request" not in op.log_text()  # no log line per API request
    finally:
        op.stop()


def test_kubectl_neam_with_an_exec_plugin(
    installed: ClusterHandle, ns: str, tmp_path: Path
) -> None:
    apply(installed, forgerun(ns, "listed"))
    installed.kubectl("create", "serviceaccount", "nobody", "-n", ns)
    for who in ("operator", "nobody"):
        (tmp_path / who).mkdir()
    token = _token(installed, "neam-operator", "neam-system")
    allowed, calls = exec_kubeconfig(installed, tmp_path / "operator", token)
    denied, _ = exec_kubeconfig(installed, tmp_path / "nobody", _token(installed, "nobody", ns))

    def neam(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**installed.env, "KUBECONFIG": str(config)}
        return subprocess.run(
            [str(KUBECTL_NEAM), *args], env=env, capture_output=True, text=True, timeout=60
        )

    listed = neam(allowed, "list", "-n", ns)
    assert listed.returncode == 0, listed.stderr
    assert "listed" in listed.stdout and calls.read_text().count("call") == 1
    refused = neam(denied, "list", "-n", ns)
    assert refused.returncode == 4, refused.stderr
    assert f"system:serviceaccount:{ns}:nobody" in refused.stderr
