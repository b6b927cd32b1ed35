"""API-server credentials from a kubeconfig file or the in-cluster service account.

A small reader instead of a Kubernetes client library: the operator needs only the
server, the CA, a client certificate or a bearer token, and importing a full client
costs tens of MB of RSS. Exec/auth-provider plugins are not supported.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class CredentialsError(RuntimeError):
    pass


class TokenFile:
    """Re-reads a (rotating) service-account token at most once a minute."""

    def __init__(self, file: Path) -> None:
        self.file, self.value, self.read_at = file, "", 0.0

    def __call__(self) -> str:
        if time.monotonic() - self.read_at > 60:
            self.value, self.read_at = self.file.read_text().strip(), time.monotonic()
        return self.value


@dataclass(frozen=True)
class Credentials:
    server: str
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    token: TokenFile | str | None = None
    insecure: bool = False
    namespace: str | None = None  # the context's namespace, or the service account's

    def bearer(self) -> str | None:
        return self.token() if callable(self.token) else self.token

    def ssl_context(self) -> ssl.SSLContext | bool:
        """A TLS context for aiohttp (False when TLS verification is disabled)."""
        if self.insecure:
            return False
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def _materialise(entry: dict[str, Any], key: str, base: Path, workdir: Path) -> str | None:
    """The path of ``key`` (a file relative to the kubeconfig) or of ``key-data`` (base64,
    written to a private temporary file)."""
    if entry.get(f"{key}-data"):
        fd, name = tempfile.mkstemp(dir=workdir, prefix=f"{key}-")
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(entry[f"{key}-data"]))
        return name
    value = entry.get(key)
    return str((base / value).resolve()) if value else None


def _by_name(items: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for item in items or []:
        if item.get("name") == name:
            return item
    raise CredentialsError(f"kubeconfig has no {what} named {name!r}")


def from_kubeconfig(
    file: Path, context: str | None = None, workdir: Path | None = None
) -> Credentials:
    """Credentials of ``context`` (default: the current context) in the kubeconfig ``file``.

    Embedded (``*-data``) certificates and keys are written to private files in
    ``workdir`` (default: a new temporary directory); a caller that builds its TLS context
    at once may remove it afterwards."""
    cfg = yaml.safe_load(file.read_text()) or {}
    name = context or cfg.get("current-context", "")
    ctx = _by_name(cfg.get("contexts"), name, "context")["context"]
    cluster = _by_name(cfg.get("clusters"), ctx["cluster"], "cluster")["cluster"]
    user = _by_name(cfg.get("users"), ctx["user"], "user").get("user") or {}
    if "exec" in user or "auth-provider" in user:
        raise CredentialsError("kubeconfig exec/auth-provider plugins are not supported")
    base = file.resolve().parent
    workdir = workdir or Path(tempfile.mkdtemp(prefix="neam-operator-"))
    token: TokenFile | str | None = user.get("token")
    if user.get("tokenFile"):
        token = TokenFile(base / user["tokenFile"])
    return Credentials(
        server=cluster["server"],
        ca_file=_materialise(cluster, "certificate-authority", base, workdir),
        cert_file=_materialise(user, "client-certificate", base, workdir),
        key_file=_materialise(user, "client-key", base, workdir),
        token=token,
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        namespace=ctx.get("namespace"),
    )


def in_cluster() -> Credentials:
    host, port = (
        os.environ.get("KUBERNETES_SERVICE_HOST"),
        os.environ.get("KUBERNETES_SERVICE_PORT", "443"),
    )
    if not host:
        raise CredentialsError("not in a cluster and no KUBECONFIG set")
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    ns_file = SA_DIR / "namespace"
    return Credentials(
        server,
        ca_file=str(SA_DIR / "ca.crt"),
        token=TokenFile(SA_DIR / "token"),
        namespace=ns_file.read_text().strip() if ns_file.exists() else None,
    )


def load(
    kubeconfig: str | None = None, context: str | None = None, workdir: Path | None = None
) -> Credentials:
    """``kubeconfig``, else the first file of ``$KUBECONFIG``, else the in-cluster account,
    else ``~/.kube/config``. ``context`` picks a kubeconfig context other than the current
    one (in-cluster credentials have none)."""
    source = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    if source:
        return from_kubeconfig(Path(source).expanduser(), context, workdir)
    if (SA_DIR / "token").exists():
        if context:
            raise CredentialsError(f"context {context!r} needs a kubeconfig; none is set")
        return in_cluster()
    default = Path.home() / ".kube" / "config"
    if default.exists():
        return from_kubeconfig(default, context, workdir)
    raise CredentialsError("no KUBECONFIG, no in-cluster service account")
