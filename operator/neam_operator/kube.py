"""A small async Kubernetes REST client (aiohttp, as kopf uses) for the operator's own calls.

Credentials come from ``neam_operator.credentials`` (``KUBECONFIG`` or in-cluster); all
calls are coroutines, so the operator never blocks its event loop.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from typing import Any

import aiohttp

from neam_operator.credentials import Credentials, load

MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"  # server-side apply (JSON is YAML)
FIELD_MANAGER = "neam-operator"
MAX_CONNECTIONS = 32  # requests in flight to the API server at once
# Ask for metadata only: existence checks need neither the spec nor a ConfigMap's data.
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"

# API paths of the kinds the operator touches, by (apiVersion, kind).
PLURALS = {
    ("v1", "ConfigMap"): "configmaps",
    ("v1", "PersistentVolumeClaim"): "persistentvolumeclaims",
    ("v1", "ServiceAccount"): "serviceaccounts",
    ("v1", "Pod"): "pods",
    ("v1", "Service"): "services",
    ("v1", "Event"): "events",
    ("apps/v1", "Deployment"): "deployments",
    ("apps/v1", "ReplicaSet"): "replicasets",
    ("rbac.authorization.k8s.io/v1", "Role"): "roles",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rolebindings",
    ("batch/v1", "Job"): "jobs",
    ("neam.dev/v1alpha1", "ForgeRun"): "forgeruns",
    ("neam.dev/v1alpha1", "ClawAgent"): "clawagents",
    ("neam.dev/v1alpha1", "AgentDAG"): "agentdags",
}


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.message = _status_message(body)


class Unreachable(ApiError):
    """No answer from the API server (connection refused or reset, a timeout): nothing
    was decided, so the caller retries."""

    def __init__(self, method: str, url: str, error: BaseException) -> None:
        super().__init__(0, "")
        self.message = f"no answer from the API server to {method} {url} ({error!r})"
        self.args = (self.message,)


class NotOwned(ApiError):
    """A child's name is taken by an object its owner does not control: never adopted."""

    def __init__(self, obj: dict[str, Any], owner_kind: str) -> None:
        meta = obj["metadata"]
        super().__init__(409, "")
        self.existing = obj
        self.message = (
            f"{obj['kind']} {meta['name']} already exists and is not controlled by this "
            f"{owner_kind}; delete it or choose another name"
        )


def _controlled_by(obj: dict[str, Any], uid: str) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == uid and r.get("controller") for r in refs)


def _status_message(body: str) -> str:
    """The API server's one-line reason (a Status' ``message`` names the object and the
    field), or the start of the body when it is not a Status."""
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        message = None
    text = message if isinstance(message, str) and message else body
    return " ".join(text.split())[:500]


def refusal(e: ApiError) -> tuple[str, str] | None:
    """``(reason, message)`` when the API server refused a child in a way no retry can
    change (a child built from this spec is invalid, or its name is taken), else None."""
    if isinstance(e, NotOwned):
        return "ChildConflict", e.message
    if e.status in (400, 422):
        return "InvalidSpec", f"a child resource was rejected: {e.message}"
    return None


def path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    out = f"{prefix}/namespaces/{namespace}/{PLURALS[(api_version, kind)]}"
    return f"{out}/{name}" if name else out


# Told of every failed request: (method, url, HTTP status or None when there was no answer).
OnError = Callable[[str, str, int | None], None]


def _ignore(method: str, url: str, status: int | None) -> None:
    return None


class Kube:
    """JSON over HTTP to the API server; every method is a coroutine."""

    def __init__(
        self, session: aiohttp.ClientSession, creds: Credentials, on_error: OnError = _ignore
    ) -> None:
        self._session = session
        self._creds = creds
        self._host = creds.server.rstrip("/")
        self._tls: ssl.SSLContext | bool = creds.ssl_context()
        self._on_error = on_error

    @classmethod
    async def connect(cls, kubeconfig: str | None = None, on_error: OnError = _ignore) -> Kube:
        """Connect with ``kubeconfig``, ``$KUBECONFIG``, or the in-cluster account."""
        # Bound each exchange, not the wait for one of the pooled connections: in a
        # burst, requests queue for a connection far longer than any of them takes.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS), timeout=timeout
        )
        return cls(session, load(kubeconfig), on_error)

    async def close(self) -> None:
        await self._session.close()

    async def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        accept: str = "application/json",
    ) -> dict[str, Any]:
        headers = {"Accept": accept}
        token = self._creds.bearer()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body)
        try:
            async with self._session.request(
                method, self._host + url, data=data, headers=headers, params=params, ssl=self._tls
            ) as resp:
                status, text = resp.status, await resp.text()
        except (aiohttp.ClientError, TimeoutError) as e:
            self._on_error(method, url, None)
            raise Unreachable(method, url, e) from e
        if status >= 400:
            self._on_error(method, url, status)
            raise ApiError(status, text)
        return json.loads(text) if text else {}

    async def get(self, url: str, **params: str) -> dict[str, Any] | None:
        """GET ``url``; None when it does not exist."""
        try:
            return await self.request("GET", url, params=params or None)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    async def metadata(self, url: str) -> dict[str, Any] | None:
        """The metadata of the object at ``url`` (PartialObjectMetadata, needs only the
        ``get`` verb); None when it does not exist."""
        try:
            body = await self.request("GET", url, accept=METADATA_ONLY)
        except ApiError as e:
            if e.status == 404:
                return None
            raise
        return body.get("metadata") or {}

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj``, or return the existing object of that name (409) when the
        same controller owns it (a launch that was interrupted); an object of that name
        that ``obj``'s controller does not own raises :class:`NotOwned`."""
        meta = obj["metadata"]
        url = path(obj["apiVersion"], obj["kind"], meta["namespace"])
        try:
            return await self.request("POST", url, obj)
        except ApiError as e:
            if e.status != 409:
                raise
        existing = await self.get(f"{url}/{meta['name']}")
        if existing is None:  # deleted between the 409 and the GET: try once more
            return await self.request("POST", url, obj)
        controller = next(
            (r for r in meta.get("ownerReferences") or [] if r.get("controller")), None
        )
        if controller and not _controlled_by(existing, controller["uid"]):
            raise NotOwned(existing, controller["kind"])
        return existing

    async def ensure(self, obj: dict[str, Any]) -> bool:
        """Create ``obj`` unless an object of that name exists; True when it created it.
        For children that never change once created (content-named, or a claim)."""
        meta = obj["metadata"]
        try:
            await self.request("POST", path(obj["apiVersion"], obj["kind"], meta["namespace"]), obj)
        except ApiError as e:
            if e.status != 409:
                raise
            return False
        return True

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply ``obj`` as the operator's field manager (create or converge;
        a no-op when nothing changed). Conflicts with other managers are overridden."""
        meta = obj["metadata"]
        url = path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
        params = {"fieldManager": FIELD_MANAGER, "force": "true"}
        return await self.request("PATCH", url, obj, APPLY, params=params)

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
