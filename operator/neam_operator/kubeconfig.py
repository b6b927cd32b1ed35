"""Which API server, and as whom: a kubeconfig or the in-cluster service account, read by
lightkube (client certificates, tokens, token files and ``exec`` credential plugins).

The operator, its kopf login and the kubectl plugin all start here, so they accept the
same kubeconfigs."""

from __future__ import annotations

import os
from pathlib import Path

from lightkube import ConfigError, KubeConfig, SingleConfig
from lightkube.config.kubeconfig import SERVICE_ACCOUNT

DEFAULT_KUBECONFIG = Path.home() / ".kube" / "config"


def load(kubeconfig: str | None = None, context: str | None = None) -> SingleConfig:
    """``kubeconfig``, else the first file of ``$KUBECONFIG``, else the in-cluster account,
    else ``~/.kube/config`` (kubectl's order). ``context`` picks a kubeconfig context other
    than the current one (in-cluster credentials have none). Raises ``ConfigError``."""
    source = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    if not source and (Path(SERVICE_ACCOUNT) / "token").exists():
        if context:
            raise ConfigError(f"context {context!r} needs a kubeconfig; none is set")
        return KubeConfig.from_service_account().get()
    file = Path(source).expanduser() if source else DEFAULT_KUBECONFIG
    config = KubeConfig.from_file(file)
    try:
        return config.get(context)
    except KeyError as e:  # the context names a cluster or user the file does not have
        raise ConfigError(f"kubeconfig {file}: no cluster or user named {e}") from e


def namespace(config: SingleConfig) -> str | None:
    """The context's namespace (the service account's in a cluster), if it names one."""
    return config.context.namespace
