"""The operator's own API calls: a thin adapter over lightkube's ``AsyncClient``.

Objects are plain dicts (lightkube generic resources) addressed by their API path
(:func:`path`), so the handlers never see the client library. Credentials come from
``neam_operator.kubeconfig``; lightkube's requests travel over aiohttp
(:mod:`neam_operator.transport`). All calls are coroutines, so the operator never blocks
its event loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import ApiError as LightkubeError
from lightkube import AsyncClient
from lightkube.config.client_adapter import verify_cluster
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource
from lightkube.types import CascadeType, PatchType

from neam_operator import kubeconfig
from neam_operator.exec_auth import SharedExecAuth
from neam_operator.transport import AiohttpTransport

FIELD_MANAGER = "neam-operator"
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
MAX_CONNECTIONS = 32  # requests in flight to the API server at once
# Bound each exchange (connect, send, answer), not the wait for one of the connections:
# in a burst, requests queue for a connection far longer than any of them takes.
TIMEOUT = httpx2.Timeout(60.0, connect=10.0, pool=None)

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
KINDS = {(api_version, plural): kind for (api_version, kind), plural in PLURALS.items()}
_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group_version>[^/]+/[^/]+))/namespaces/(?P<namespace>[^/]+)"
    r"/(?P<plural>[^/]+)(?:/(?P<name>[^/]+)(?P<status>/status)?)?$"
)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = " ".join(message.split())[:500]
        super().__init__(f"HTTP {status}: {self.message[:300]}")


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
        super().__init__(
            409,
            f"{obj['kind']} {meta['name']} already exists and is not controlled by this "
            f"{owner_kind}; delete it or choose another name",
        )
        self.existing = obj


def _controlled_by(obj: dict[str, Any], uid: str) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == uid and r.get("controller") for r in refs)


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


def _generic(api_version: str, kind: str, plural: str) -> type[GenericNamespacedResource]:
    group, _, version = api_version.rpartition("/")
    return create_namespaced_resource(group, version, kind, plural)


# lightkube's generic (dict) resource classes, made once: lightkube refuses to make a
# second class for a core kind.
RESOURCES = {key: _generic(*key, plural) for key, plural in PLURALS.items()}


def resource(api_version: str, kind: str) -> type[GenericNamespacedResource]:
    """The generic resource class of one of :data:`PLURALS`."""
    return RESOURCES[(api_version, kind)]


@dataclass(frozen=True)
class Target:
    """What an API path of :func:`path` (plus ``/status``) addresses."""

    res: type[GenericNamespacedResource]
    namespace: str
    name: str | None
    status: bool

    @classmethod
    def of(cls, url: str) -> Target:
        m = _PATH.match(url)
        if m is None:
            raise ValueError(f"not an API path of a namespaced object: {url}")
        api_version = m["core"] or m["group_version"]
        res = resource(api_version, KINDS[(api_version, m["plural"])])
        return cls(res, m["namespace"], m["name"], bool(m["status"]))

    def named(self) -> str:
        if self.name is None:
            raise ValueError("a single object's path is needed, not a collection's")
        return self.name


def _equality_selector(selector: str) -> dict[str, str]:
    """``a=b,c=d`` as lightkube's ``labels`` (the operator selects by equality only)."""
    pairs = [term.split("=", 1) for term in selector.split(",") if term]
    if any(len(p) != 2 or p[0].endswith("!") for p in pairs):
        raise ValueError(f"only equality label selectors are supported: {selector}")
    return dict(pairs)


# Told of every failed request: (method, url, HTTP status or None when there was no answer).
OnError = Callable[[str, str, int | None], None]


def _ignore(method: str, url: str, status: int | None) -> None:
    return None


class Kube:
    """The operator's API client; every method is a coroutine and returns plain dicts."""

    def __init__(self, client: AsyncClient, on_error: OnError = _ignore) -> None:
        self._client = client
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._on_error = on_error

    @classmethod
    async def connect(cls, config: str | None = None, on_error: OnError = _ignore) -> Kube:
        """Connect with the kubeconfig file ``config``, ``$KUBECONFIG``, or the in-cluster
        account (see :func:`neam_operator.kubeconfig.load`)."""
        single = kubeconfig.load(config)
        verify = verify_cluster(single.cluster, single.user, single.abs_file)
        transport = AiohttpTransport(verify, MAX_CONNECTIONS)
        client = AsyncClient(single, timeout=TIMEOUT, transport=transport)
        if single.user is not None and single.user.exec is not None:
            # lightkube takes no auth argument: its httpx2 client's is replaced (tested in
            # tests/cluster/test_exec_credentials.py, which fails if this stops working).
            client._client._client.auth = SharedExecAuth(single.user.exec)
        return cls(client, on_error)

    async def close(self) -> None:
        await self._client.close()

    async def _call(self, method: str, url: str, operation: Any) -> Any:
        """Await one lightkube call for ``method`` on ``url``; its HTTP errors become
        :class:`ApiError`, and every failure is told to ``on_error``."""
        async with self._slots:
            try:
                return await operation
            except LightkubeError as e:
                status = e.status.code or e.response.status_code
                self._on_error(method, url, status)
                raise ApiError(status, e.status.message or "") from e
            except httpx2.HTTPStatusError as e:  # an error that is not a Status
                self._on_error(method, url, e.response.status_code)
                raise ApiError(e.response.status_code, e.response.text) from e
            except (httpx2.TransportError, TimeoutError) as e:
                self._on_error(method, url, None)
                raise Unreachable(method, url, e) from e

    async def select(self, url: str, selector: str) -> list[dict[str, Any]]:
        """The objects of the collection at ``url`` that match the equality label
        ``selector`` (``a=b,c=d``)."""
        labels = _equality_selector(selector) or None
        return await self._call("GET", url, self._list(Target.of(url), labels))

    async def _list(self, target: Target, labels: dict[str, str] | None) -> list[dict[str, Any]]:
        found = self._client.list(target.res, namespace=target.namespace, labels=labels)
        return [dict(item) async for item in found]

    async def _get(self, target: Target) -> Any:
        return await self._client.get(target.res, target.named(), namespace=target.namespace)

    async def _found(self, url: str, operation: Any) -> dict[str, Any] | None:
        """The object a GET ``operation`` on ``url`` reads; None when it does not exist."""
        try:
            return dict(await self._call("GET", url, operation))
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    async def get(self, url: str) -> dict[str, Any] | None:
        """The object at ``url``; None when it does not exist."""
        return await self._found(url, self._get(Target.of(url)))

    async def metadata(self, url: str) -> dict[str, Any] | None:
        """The metadata of the object at ``url`` (a PartialObjectMetadata: the API server
        sends no data, spec or status); None when it does not exist."""
        target = Target.of(url)
        # lightkube's public get() takes no headers; its request layer does.
        partial = self._client._client.request(
            "get",
            res=target.res,
            name=target.named(),
            namespace=target.namespace,
            headers={"Accept": METADATA_ONLY},
        )
        body = await self._found(url, partial)
        return None if body is None else body.get("metadata") or {}

    async def post(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` (no retry on a name taken: see :meth:`create`)."""
        url = path(obj["apiVersion"], obj["kind"], obj["metadata"]["namespace"])
        instance = resource(obj["apiVersion"], obj["kind"])(obj)
        return dict(await self._call("POST", url, self._client.create(instance)))

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj``, or return the existing object of that name (409) when the
        same controller owns it (a launch that was interrupted); an object of that name
        that ``obj``'s controller does not own raises :class:`NotOwned`."""
        meta = obj["metadata"]
        try:
            return await self.post(obj)
        except ApiError as e:
            if e.status != 409:
                raise
        url = path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
        existing = await self.get(url)
        if existing is None:  # deleted between the 409 and the GET: try once more
            return await self.post(obj)
        controller = next(
            (r for r in meta.get("ownerReferences") or [] if r.get("controller")), None
        )
        if controller and not _controlled_by(existing, controller["uid"]):
            raise NotOwned(existing, controller["kind"])
        return existing

    async def ensure(self, obj: dict[str, Any]) -> bool:
        """Create ``obj`` unless an object of that name exists; True when it created it.
        For children that never change once created (content-named, or a claim)."""
        try:
            await self.post(obj)
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
        instance = resource(obj["apiVersion"], obj["kind"])(obj)
        applied = self._client.apply(instance, field_manager=FIELD_MANAGER, force=True)
        return dict(await self._call("PATCH", url, applied))

    async def merge_patch(self, url: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of the object at ``url`` (or of its ``/status``)."""
        target = Target.of(url)
        res = target.res.Status if target.status else target.res
        patched = self._client.patch(
            res, target.named(), patch, namespace=target.namespace, patch_type=PatchType.MERGE
        )
        return dict(await self._call("PATCH", url, patched))

    async def delete(self, url: str) -> bool:
        """Delete with background propagation; False when it was already gone."""
        target = Target.of(url)
        deleted = self._client.delete(
            target.res, target.named(), namespace=target.namespace, cascade=CascadeType.BACKGROUND
        )
        try:
            await self._call("DELETE", url, deleted)
        except ApiError as e:
            if e.status == 404:
                return False
            raise
        return True
