"""The reporter's service account, with a real token (TokenRequest API): it patches its
own run's status and nothing else."""

from __future__ import annotations

import base64
import json
import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml
from neam.report import reporter_from_env

from tests.support.cluster import REPO_ROOT, ClusterHandle
from tests.support.operator_harness import (
    OperatorProcess,
    get_json,
    run_status,
    scratch_namespace,
    start_running,
    wait_for,
)


@dataclass
class Progress:
    iteration: int
    max_iterations: int | None
    total_cost: Decimal
    current_task: str | None
    outcome: str
    message: str | None
    git: dict[str, str] | None = None


@pytest.fixture
def ns(kube: ClusterHandle, operator: OperatorProcess) -> Iterator[str]:
    with scratch_namespace(kube, "rbac") as name:
        yield name


def _server_and_ca(kube: ClusterHandle, tmp_path: Path) -> tuple[str, Path]:
    cfg = yaml.safe_load(kube.kubeconfig.read_text())
    cluster = cfg["clusters"][0]["cluster"]
    if "certificate-authority-data" in cluster:
        ca = tmp_path / "ca.crt"
        ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    else:
        ca = Path(cluster["certificate-authority"])
    return cluster["server"], ca


def test_reporter_token_patches_only_its_own_run(
    kube: ClusterHandle, ns: str, tmp_path: Path
) -> None:
    for run in ("mine", "theirs"):
        start_running(kube, ns, run)
    token = kube.kubectl("create", "token", "mine-reporter", "-n", ns, "--duration=10m").stdout
    token_file = tmp_path / "token"
    token_file.write_text(token.strip())
    server, ca = _server_and_ca(kube, tmp_path)
    job = get_json(kube, "job", "mine-forge", "-n", ns)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    resource = next(e["value"] for e in container["env"] if e["name"] == "NEAM_REPORT_RESOURCE")

    report = reporter_from_env(
        {
            "NEAM_REPORT_RESOURCE": resource,
            "NEAM_REPORT_SERVER": server,
            "NEAM_REPORT_TOKEN_FILE": str(token_file),
            "NEAM_REPORT_CA_FILE": str(ca),
        }
    )
    assert report is not None
    report(Progress(3, 4, Decimal("0.25"), "step three", "running", None))

    def folded() -> dict | None:
        st = run_status(kube, ns, "mine")
        return st if st.get("iteration") == 3 else None

    st = wait_for(folded, "the reported progress in the run's status")
    assert st["progress"]["totalCost"] == "0.25" and st["currentTask"] == "step three"

    headers = {
        "Authorization": f"Bearer {token.strip()}",
        "Content-Type": "application/merge-patch+json",
    }
    patch = '{"status":{"progress":{"iteration":9}}}'
    base = f"{server}/apis/neam.dev/v1alpha1/namespaces/{ns}/forgeruns"
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as http:
        assert http.patch(f"{base}/mine/status", content=patch, headers=headers).status_code == 200
        other = http.patch(f"{base}/theirs/status", content=patch, headers=headers)
        assert other.status_code == 403
        spec = http.patch(f"{base}/mine", content='{"spec":{"stop":true}}', headers=headers)
        assert spec.status_code == 403
        jobs = http.get(f"{server}/apis/batch/v1/namespaces/{ns}/jobs", headers=headers)
        assert jobs.status_code == 403
    assert run_status(kube, ns, "theirs").get("progress") is None


def test_the_reporter_cannot_forge_the_rest_of_the_status(
    kube: ClusterHandle, ns: str, tmp_path: Path
) -> None:
    kube.kubectl("apply", "-f", str(REPO_ROOT / "manifests" / "policies.yaml"))
    start_running(kube, ns, "forged")
    token = kube.kubectl("create", "token", "forged-reporter", "-n", ns, "--duration=10m").stdout
    server, ca = _server_and_ca(kube, tmp_path)
    headers = {
        "Authorization": f"Bearer {token.strip()}",
        "Content-Type": "application/merge-patch+json",
    }
    url = f"{server}/apis/neam.dev/v1alpha1/namespaces/{ns}/forgeruns/forged/status"
    forged = [
        '{"status":{"phase":"Succeeded"}}',
        '{"status":{"completionTime":"2026-01-01T00:00:00Z"}}',
        '{"status":{"conditions":[]}}',
        '{"status":{"outcome":"completed","progress":{"iteration":1}}}',
    ]

    def admitted() -> bool:  # the policy is in force once the API server has loaded it
        probe = json.dumps({"status": {"message": f"forged {secrets.token_hex(4)}"}})
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as http:
            return http.patch(url, content=probe, headers=headers).status_code != 200

    wait_for(admitted, "the reporter policy to be enforced")
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as http:
        for patch in forged:
            refused = http.patch(url, content=patch, headers=headers)
            assert refused.status_code in (403, 422), (patch, refused.text)
            assert "may change status.progress only" in refused.text
        progress = '{"status":{"progress":{"iteration":2,"outcome":"running"}}}'
        assert http.patch(url, content=progress, headers=headers).status_code == 200
    st = wait_for(
        lambda: (s := run_status(kube, ns, "forged")).get("iteration") == 2 and s, "progress"
    )
    assert st["phase"] == "Running" and "completionTime" not in st
