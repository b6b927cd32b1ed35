"""Kubeconfig files: for clients of stand-in API servers on 127.0.0.1, and for another
identity on a test cluster."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml


def write_kubeconfig(file: Path, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    """Write a kubeconfig of one context (``cluster`` as the ``cluster`` entry, ``user``
    as the ``user`` entry) and return its path."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    file.write_text(yaml.safe_dump(config))
    return file


def token_kubeconfig(file: Path, server: str, token: str = "t0ken") -> Path:
    """Write a kubeconfig for ``server`` (``http://127.0.0.1:PORT``) whose user sends
    ``token``, and return its path."""
    return write_kubeconfig(file, {"server": server}, {"token": token})


def cluster_entry(kubeconfig: Path) -> dict[str, Any]:
    """The first cluster entry of ``kubeconfig`` with its CA embedded, so the entry works
    from a kubeconfig written anywhere."""
    cluster = dict(yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"])
    if "certificate-authority" in cluster:
        ca = Path(cluster.pop("certificate-authority")).read_bytes()
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    return cluster
