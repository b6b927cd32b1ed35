"""A small async Kubernetes REST client (httpx) for the operator's own calls.

Credentials come from kubernetes_asyncio's loaders (``KUBECONFIG`` or in-cluster), so
the operator never blocks its event loop and handles plain JSON dicts.
"""

from __future__ import annotations

import os
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
from kubernetes_asyncio import config as kconfig
from kubernetes_asyncio.client import Configuration

MERGE = "application/merge-patch+json"
SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")

# API paths of the kinds the operator touches, by (apiVersion, kind).
PLURALS = {
    ("v1", "ConfigMap"): "configmaps",
    ("v1", "PersistentVolumeClaim"): "persistentvolumeclaims",
    ("v1", "ServiceAccount"): "serviceaccounts",
    ("v1", "Pod"): "pods",
    ("rbac.authorization.k8s.io/v1", "Role"): "roles",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rolebindings",
    ("batch/v1", "Job"): "jobs",
    ("neam.dev/v1alpha1", "ForgeRun"): "forgeruns",
}


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


def path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    out = f"{prefix}/namespaces/{namespace}/{PLURALS[(api_version, kind)]}"
    return f"{out}/{name}" if name else out


class TokenFile:
    """Re-reads a (rotating) service-account token at most once a minute."""

    def __init__(self, file: Path) -> None:
        self.file, self.value, self.read_at = file, "", 0.0

    def __call__(self) -> str:
        if time.monotonic() - self.read_at > 60:
            self.value, self.read_at = self.file.read_text().strip(), time.monotonic()
        return self.value


async def load_credentials(
    kubeconfig: str | None = None,
) -> tuple[Configuration, TokenFile | str | None]:
    """Server, TLS files and bearer token from a kubeconfig or the in-cluster account."""
    cfg = Configuration()
    source = kubeconfig or os.environ.get("KUBECONFIG")
    if source or not SA_TOKEN.exists():
        await kconfig.load_kube_config(config_file=source, client_configuration=cfg)
        bearer = cfg.api_key.get("BearerToken") or cfg.api_key.get("authorization")
        return cfg, (bearer.removeprefix("Bearer ").strip() if bearer else None)
    kconfig.load_incluster_config(client_configuration=cfg)
    return cfg, TokenFile(SA_TOKEN)


class Kube:
    """JSON over HTTP to the API server; every method is a coroutine."""

    def __init__(self, client: httpx.AsyncClient, token: TokenFile | str | None) -> None:
        self._client = client
        self._token = token

    @classmethod
    async def connect(cls, kubeconfig: str | None = None) -> Kube:
        """Connect with ``kubeconfig``, ``$KUBECONFIG``, or the in-cluster account."""
        cfg, token = await load_credentials(kubeconfig)
        ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert) if cfg.verify_ssl else False
        if ctx and cfg.cert_file:
            ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        client = httpx.AsyncClient(
            base_url=cfg.host, verify=ctx, timeout=httpx.Timeout(30.0), limits=limits
        )
        return cls(client, token)

    async def close(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        token = self._token() if callable(self._token) else self._token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = content_type
        resp = await self._client.request(method, url, json=body, headers=headers, params=params)
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, resp.text)
        return resp.json() if resp.content else {}

    async def get(self, url: str, **params: str) -> dict[str, Any] | None:
        """GET ``url``; None when it does not exist."""
        try:
            return await self.request("GET", url, params=params or None)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    async def create(self, obj: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create ``obj``, or get the existing one on 409: ``(object, created)``."""
        meta = obj["metadata"]
        url = path(obj["apiVersion"], obj["kind"], meta["namespace"])
        try:
            return await self.request("POST", url, obj), True
        except ApiError as e:
            if e.status != 409:
                raise
        existing = await self.get(f"{url}/{meta['name']}")
        if existing is None:  # deleted between the 409 and the GET: try once more
            return await self.request("POST", url, obj), True
        return existing, False

    async def merge_patch(self, url: str, patch: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PATCH", url, patch, MERGE)

    async def delete(self, url: str) -> bool:
        """Delete with background propagation; False when it was already gone."""
        try:
            body = {"propagationPolicy": "Background"}
            await self.request("DELETE", url, body)
        except ApiError as e:
            if e.status == 404:
                return False
            raise
        return True
