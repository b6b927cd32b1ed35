"""The kinds compared by the operator benchmark, as objects one client creates the
same way: a ForgeRun, a plain Job, and (where its controller is built) an Argo
Workflow with one step. Every pod requests more CPU than any node has, so it stays
Pending and only control-plane work is measured.

Each object is named ``<prefix>-<n>``; its pods and its Job (a plain Job itself, a
ForgeRun's Job) carry a label whose value is that name, which is how ``FirstSeen``
finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from tests.support.operator_harness import PROGRAM, UNSCHEDULABLE

# Labels whose value is the name of the object a pod or Job belongs to.
RUN_LABEL = "neam.dev/forgerun"  # set by the operator on a ForgeRun's Job and pods
BENCH_LABEL = "bench"  # set by the benchmark on plain Jobs, and on their and Workflows' pods
KEY_LABELS = (RUN_LABEL, BENCH_LABEL)


@dataclass(frozen=True)
class Peer:
    """One kind of object: how to name it and where the API creates it."""

    label: str  # for reports: "ForgeRun", "Job", "Workflow"
    prefix: str
    group: str
    version: str
    plural: str
    manifest: Callable[[str], dict[str, Any]]

    def create(self, api: client.CustomObjectsApi, namespace: str, name: str) -> None:
        """Create the object ``name`` (the same client call for every kind)."""
        body = self.manifest(name)
        api.create_namespaced_custom_object(self.group, self.version, namespace, self.plural, body)


def _forgerun(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "neam.dev/v1alpha1",
        "kind": "ForgeRun",
        "metadata": {"name": name},
        "spec": {"source": {"inline": PROGRAM}, "resources": UNSCHEDULABLE},
    }


def _job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {BENCH_LABEL: name}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {BENCH_LABEL: name}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "c", "image": "neam-test:0", "resources": UNSCHEDULABLE}
                    ],
                },
            },
        },
    }


def _workflow(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {
            "entrypoint": "main",
            "podMetadata": {"labels": {BENCH_LABEL: name}},
            "templates": [
                {
                    "name": "main",
                    "container": {
                        "image": "neam-test:0",
                        "command": ["true"],
                        "resources": UNSCHEDULABLE,
                    },
                }
            ],
        },
    }


FORGERUN = Peer("ForgeRun", "fr", "neam.dev", "v1alpha1", "forgeruns", _forgerun)
JOB = Peer("Job", "job", "batch", "v1", "jobs", _job)
WORKFLOW = Peer("Workflow", "wf", "argoproj.io", "v1alpha1", "workflows", _workflow)
