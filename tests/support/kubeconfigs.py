"""Kubeconfig files for clients of stand-in API servers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import yaml


def token_kubeconfig(file: Path, server: str, token: str = "t0ken") -> Path:
    """Write a kubeconfig for ``server`` (``http://127.0.0.1:PORT``) whose user sends
    ``token``, and return its path."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    file.write_text(yaml.safe_dump(config))
    return file
