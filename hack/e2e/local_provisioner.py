"""A dynamic provisioner of ``local`` PersistentVolumes for the e2e cluster's node.

The e2e cluster has one real node and no storage driver. This process gives every
claim of the StorageClass it serves (``hack/e2e/storage.yaml``) a fresh directory
under ``--root`` as a ``local`` PersistentVolume pinned to the node, bound to the
claim through ``claimRef``; when the claim is deleted, the released volume's
directory and object are deleted (reclaim policy ``Delete``). Local volumes,
unlike hostPath ones, get the pod's ``fsGroup`` from the kubelet, so non-root pods
can write to them.

Started and stopped by ``hack/e2e.sh``; it runs on the host as root.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

PROVISIONER = "neam.dev/local-e2e"
ANNOTATION = "pv.kubernetes.io/provisioned-by"
log = logging.getLogger("local-provisioner")


class Provisioner:
    def __init__(self, core: client.CoreV1Api, storage_class: str, root: Path, node: str):
        self.core = core
        self.storage_class = storage_class
        self.root = root
        self.node = node

    def volume(self, claim: client.V1PersistentVolumeClaim) -> dict[str, Any]:
        meta, spec = claim.metadata, claim.spec
        name = f"pvc-{meta.uid}"
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {ANNOTATION: PROVISIONER}},
            "spec": {
                "capacity": {"storage": spec.resources.requests["storage"]},
                "accessModes": spec.access_modes,
                "volumeMode": spec.volume_mode or "Filesystem",
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": self.storage_class,
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": meta.namespace,
                    "name": meta.name,
                    "uid": meta.uid,
                },
                "local": {"path": str(self.root / name)},
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/hostname",
                                        "operator": "In",
                                        "values": [self.node],
                                    }
                                ]
                            }
                        ]
                    }
                },
            },
        }

    def provision(self, claim: client.V1PersistentVolumeClaim) -> None:
        spec = claim.spec
        if spec.storage_class_name != self.storage_class or spec.volume_name:
            return
        if claim.status.phase != "Pending" or claim.metadata.deletion_timestamp:
            return
        body = self.volume(claim)
        directory = Path(body["spec"]["local"]["path"])
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        try:
            self.core.create_persistent_volume(body)
        except ApiException as e:
            if e.status != 409:  # 409: provisioned already (a repeated event)
                raise
            return
        log.info("provisioned %s for %s/%s", body["metadata"]["name"], *_key(claim))

    def reclaim(self, volume: client.V1PersistentVolume) -> None:
        annotations = volume.metadata.annotations or {}
        if annotations.get(ANNOTATION) != PROVISIONER or volume.status.phase != "Released":
            return
        path = Path(volume.spec.local.path)
        if path.parent == self.root:  # never delete anything this process did not make
            shutil.rmtree(path, ignore_errors=True)
        try:
            self.core.delete_persistent_volume(volume.metadata.name)
        except ApiException as e:
            if e.status != 404:
                raise
            return
        log.info("deleted released %s", volume.metadata.name)


def _key(claim: client.V1PersistentVolumeClaim) -> tuple[str, str]:
    return claim.metadata.namespace, claim.metadata.name


def follow(list_call: Callable[..., Any], handle: Callable[[Any], None], what: str) -> None:
    """List, handle each object, then watch and handle every change; start over on
    any error (an expired resourceVersion, a restarted API server)."""
    while True:
        try:
            listed = list_call()
            for item in listed.items:
                handle(item)
            stream = watch.Watch().stream(
                list_call, resource_version=listed.metadata.resource_version, timeout_seconds=300
            )
            for event in stream:
                if event["type"] in ("ADDED", "MODIFIED"):
                    handle(event["object"])
        except Exception as e:
            log.warning("%s: %s; listing again", what, e)
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--root", type=Path, required=True, help="directory for the volumes")
    parser.add_argument("--node", required=True, help="the node's kubernetes.io/hostname")
    parser.add_argument("--storage-class", default="standard")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config.load_kube_config(config_file=args.kubeconfig)
    core = client.CoreV1Api()
    args.root.mkdir(parents=True, exist_ok=True)
    p = Provisioner(core, args.storage_class, args.root.resolve(), args.node)
    reclaimer = threading.Thread(
        target=follow,
        args=(core.list_persistent_volume, p.reclaim, "volumes"),
        daemon=True,
    )
    reclaimer.start()
    follow(core.list_persistent_volume_claim_for_all_namespaces, p.provision, "claims")


if __name__ == "__main__":
    main()
