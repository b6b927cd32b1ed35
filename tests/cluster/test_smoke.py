"""Smoke tests: the control plane behind the ``kube`` fixture is a working cluster.

Each test exercises a different real component: the apiserver (namespaces, CEL
validation), the controller-manager (Deployment/ReplicaSet, Job, garbage
collection and PV binder with the hostPath provisioner), the scheduler and the
kwok controller (pods reach Ready, Job pods Succeeded).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.support.cluster import ClusterHandle, cluster_processes

WAIT = "--timeout=120s"


@pytest.fixture
def namespace(kube: ClusterHandle) -> Iterator[str]:
    """A fresh namespace, deleted (without waiting) after the test."""
    name = f"smoke-{secrets.token_hex(4)}"
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_namespace_is_created_and_visible_through_the_api_client(
    kube: ClusterHandle, namespace: str
) -> None:
    with kube.api_client() as api:
        found = client.CoreV1Api(api).read_namespace(namespace)
    assert found.metadata.name == namespace
    assert found.status.phase == "Active"


def test_deployment_becomes_available(kube: ClusterHandle, namespace: str) -> None:
    kube.kubectl(
        "-n",
        namespace,
        "create",
        "deployment",
        "web",
        "--image=example.invalid/web:1",
        "--replicas=2",
    )
    kube.kubectl("-n", namespace, "wait", "--for=condition=Available", "deployment/web", WAIT)
    with kube.api_client() as api:
        status = client.AppsV1Api(api).read_namespaced_deployment("web", namespace).status
    assert status.available_replicas == 2
    pods = json.loads(kube.kubectl("-n", namespace, "get", "pods", "-o", "json").stdout)["items"]
    assert [pod["status"]["phase"] for pod in pods] == ["Running", "Running"]
    assert {pod["spec"]["nodeName"] for pod in pods} == {"kwok-node-0"}


def test_job_reaches_complete(kube: ClusterHandle, namespace: str) -> None:
    kube.kubectl("-n", namespace, "create", "job", "once", "--image=example.invalid/job:1")
    kube.kubectl("-n", namespace, "wait", "--for=condition=Complete", "job/once", WAIT)
    with kube.api_client() as api:
        status = client.BatchV1Api(api).read_namespaced_job_status("once", namespace).status
    assert status.succeeded == 1
    assert not status.failed


CLAIM_AND_JOB = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: workspace}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: with-volume}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: example.invalid/job:1}]
      volumes: [{name: workspace, persistentVolumeClaim: {claimName: workspace}}]
"""


def test_pvc_binds_and_a_job_mounting_it_completes(kube: ClusterHandle, namespace: str) -> None:
    kube.kubectl("-n", namespace, "apply", "-f", "-", input=CLAIM_AND_JOB)
    kube.kubectl(
        "-n", namespace, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc/workspace", WAIT
    )
    kube.kubectl("-n", namespace, "wait", "--for=condition=Complete", "job/with-volume", WAIT)
    claim = json.loads(
        kube.kubectl("-n", namespace, "get", "pvc", "workspace", "-o", "json").stdout
    )
    assert claim["spec"]["storageClassName"] == "standard"


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.smoke.neam.dev
spec:
  group: smoke.neam.dev
  scope: Namespaced
  names: {{plural: {plural}, singular: {singular}, kind: {kind}}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                minReplicas: {{type: integer}}
                maxReplicas: {{type: integer}}
              x-kubernetes-validations:
                - rule: self.minReplicas <= self.maxReplicas
                  message: minReplicas must not exceed maxReplicas
"""

WIDGET = """
apiVersion: smoke.neam.dev/v1
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
spec: {{minReplicas: {low}, maxReplicas: {high}}}
"""


def test_crd_cel_validation_rejects_a_bad_object(kube: ClusterHandle, namespace: str) -> None:
    suffix = secrets.token_hex(3)
    singular, kind = f"widget{suffix}", f"Widget{suffix}"
    plural = f"{singular}s"
    kube.kubectl("apply", "-f", "-", input=CRD.format(plural=plural, singular=singular, kind=kind))
    try:
        kube.kubectl("wait", "--for=condition=Established", f"crd/{plural}.smoke.neam.dev", WAIT)

        good = WIDGET.format(kind=kind, name="good", namespace=namespace, low=1, high=3)
        kube.kubectl("apply", "-f", "-", input=good)

        bad = WIDGET.format(kind=kind, name="bad", namespace=namespace, low=5, high=2)
        rejected = kube.kubectl("apply", "-f", "-", input=bad, check=False)
        assert rejected.returncode != 0
        assert "minReplicas must not exceed maxReplicas" in rejected.stderr
        assert kube.kubectl("-n", namespace, "get", plural, "bad", check=False).returncode != 0
    finally:
        kube.kubectl("delete", "crd", f"{plural}.smoke.neam.dev", "--wait=false", check=False)


def test_owner_reference_garbage_collection_deletes_the_child(
    kube: ClusterHandle, namespace: str
) -> None:
    kube.kubectl("-n", namespace, "create", "configmap", "parent")
    parent_uid = kube.kubectl(
        "-n", namespace, "get", "configmap", "parent", "-o", "jsonpath={.metadata.uid}"
    ).stdout
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "child",
            "namespace": namespace,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "parent", "uid": parent_uid}
            ],
        },
    }
    kube.kubectl("apply", "-f", "-", input=json.dumps(child))

    kube.kubectl("-n", namespace, "delete", "configmap", "parent")
    kube.kubectl("-n", namespace, "wait", "--for=delete", "configmap/child", WAIT)
    assert kube.kubectl("-n", namespace, "get", "configmap", "child", check=False).returncode != 0


def _tcp_sockets_of(pids: set[int], *ss_flags: str) -> list[tuple[str, str]]:
    """(local, peer) addresses of the TCP sockets owned by ``pids``, from ``ss``."""
    output = subprocess.run(
        ["ss", "-tnpH", *ss_flags], text=True, capture_output=True, check=True
    ).stdout
    sockets = []
    for line in output.splitlines():
        owners = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            local, peer = line.split()[3:5]
            sockets.append((local, peer))
    return sockets


@pytest.mark.skipif(
    os.environ.get("NEAM_TEST_CLUSTER", "kwok") != "kwok",
    reason="only the local kwok cluster's processes can be inspected",
)
def test_local_control_plane_uses_loopback_only(kube: ClusterHandle) -> None:
    # Not skippable: without `ss` this check would silently vanish from CI.
    assert shutil.which("ss"), "the loopback check needs `ss`: apt-get install iproute2"
    pids = set(cluster_processes(kube.kubeconfig.parent.name))
    listeners = [local for local, _ in _tcp_sockets_of(pids, "--listening")]
    assert listeners, f"no listeners found for cluster processes {sorted(pids)}"
    assert all(address.startswith("127.0.0.1:") for address in listeners), listeners
    connections = _tcp_sockets_of(pids)  # established
    assert connections, f"no connections found for cluster processes {sorted(pids)}"
    assert all(peer.startswith("127.0.0.1:") for _, peer in connections), connections

    server = kube.kubectl("config", "view", "-o", "jsonpath={.clusters[0].cluster.server}").stdout
    assert server.startswith("https://127.0.0.1:")
    slices = json.loads(
        kube.kubectl(
            "-n",
            "default",
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=kubernetes",
            "-o",
            "json",
        ).stdout
    )["items"]
    # The apiserver advertises 127.0.0.1 (not the host's address); it publishes
    # no endpoint at all for a loopback address, so an empty set is fine too.
    addresses = {a for s in slices for e in s.get("endpoints") or [] for a in e["addresses"]}
    assert addresses <= {"127.0.0.1"}
