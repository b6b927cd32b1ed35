"""The plugin's synchronous API client: paths and JSON over lightkube's authenticated HTTP
client (TLS, tokens, client certificates, ``exec`` credential plugins), configured by
``neam_operator.kubeconfig`` as the operator's, so both accept the same kubeconfigs.

The plugin addresses objects by API path rather than through lightkube's typed calls: it
passes label selectors as users type them (``-l 'tier in (a,b)'``), follows logs and
watches with bookmarks and a server-side timeout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import msgspec
import yaml
from lightkube import ConfigError, SingleConfig
from lightkube.config.client_adapter import Client, ConnectionParams

from neam_operator import kubeconfig
from neam_operator.kubectl_plugin.errors import Exit, PluginError

MERGE = "application/merge-patch+json"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PAGE = 500


class ApiError(Exception):
    """An HTTP error from the API server, with the one-line message of its Status."""

    def __init__(self, code: int, body: str) -> None:
        self.code = code
        self.reason, self.message = _status(code, body)
        super().__init__(self.message)

    def to_plugin_error(self) -> PluginError:
        if self.code in (401, 403):
            return PluginError(self.message, Exit.NO_ACCESS)
        if self.code == 404:
            return PluginError(self.message, Exit.NOT_FOUND)
        return PluginError(self.message)


def _status(code: int, body: str) -> tuple[str, str]:
    """``(reason, message)`` of a ``Status`` body; the raw text when it is not one."""
    try:
        status = json.loads(body)
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("message"):
        return str(status.get("reason") or ""), " ".join(str(status["message"]).split())
    text = " ".join(body.split())[:300]
    return "", f"HTTP {code}: {text}" if text else f"HTTP {code}"


class Api:
    """JSON over HTTPS to one API server; errors become ``ApiError`` or ``PluginError``."""

    def __init__(self, config: SingleConfig) -> None:
        self.config = config
        self.server = config.cluster.server.rstrip("/")
        self._http = Client(config, ConnectionParams(timeout=TIMEOUT))

    @classmethod
    def connect(cls, config: str | None, context: str | None) -> Api:
        """Credentials as the operator reads them (``--kubeconfig``, ``$KUBECONFIG``,
        in-cluster, ``~/.kube/config``)."""
        try:
            return cls(kubeconfig.load(config, context))
        except (ConfigError, OSError, yaml.YAMLError, msgspec.ValidationError, KeyError) as e:
            detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            where = f" {e.filename}" if isinstance(e, OSError) and e.filename else ""
            raise PluginError(f"cannot load credentials{where}: {detail}", Exit.NO_ACCESS) from e

    @property
    def namespace(self) -> str | None:
        """The context's namespace, if it names one."""
        return kubeconfig.namespace(self.config)

    def close(self) -> None:
        self._http.close()

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _unreachable(self, e: httpx.TransportError) -> PluginError:
        return PluginError(f"cannot reach the API server at {self.server}: {e}", Exit.NO_ACCESS)

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body)
        headers = self._headers(content_type if data is not None else None)
        try:
            resp = self._http.request(method, url, content=data, params=params, headers=headers)
        except httpx.TransportError as e:
            raise self._unreachable(e) from e
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, resp.text)
        return resp.json() if resp.content else {}

    def get(self, url: str, **params: Any) -> dict[str, Any] | None:
        """The object at ``url``; None when it does not exist."""
        try:
            return self.request("GET", url, params=params or None)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def list(self, url: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a collection, page by page."""
        items: list[dict[str, Any]] = []
        params = {"limit": PAGE, **params}
        while True:
            page = self.request("GET", url, params=params)
            items.extend(page.get("items") or [])
            more = (page.get("metadata") or {}).get("continue")
            if not more:
                return items
            params["continue"] = more

    def create(self, url: str, obj: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", url, obj)

    def merge_patch(self, url: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", url, patch, content_type=MERGE)

    def delete(self, url: str, grace_seconds: int | None = None) -> bool:
        """Delete (background propagation); False when it was already gone."""
        body: dict[str, Any] = {"propagationPolicy": "Background"}
        if grace_seconds is not None:
            body["gracePeriodSeconds"] = grace_seconds
        try:
            self.request("DELETE", url, body)
        except ApiError as e:
            if e.code == 404:
                return False
            raise
        return True

    def text(self, url: str, **params: Any) -> str:
        """A plain-text GET (a pod's log)."""
        try:
            resp = self._http.get(url, params=params, headers=self._headers())
        except httpx.TransportError as e:
            raise self._unreachable(e) from e
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, resp.text)
        return resp.text

    def lines(self, url: str, read_timeout: float | None = None, **params: Any) -> Iterator[str]:
        """The lines of a streamed GET (a followed log, a watch) as they arrive; ends when
        the server closes the stream."""
        timeout = httpx.Timeout(10.0, read=read_timeout)
        try:
            with self._http.stream(
                "GET", url, params=params, headers=self._headers(), timeout=timeout
            ) as resp:
                if resp.status_code >= 400:
                    raise ApiError(resp.status_code, resp.read().decode(errors="replace"))
                yield from resp.iter_lines()
        except httpx.TransportError as e:
            raise self._unreachable(e) from e

    def watch(
        self, url: str, resource_version: str, timeout_seconds: int, **params: Any
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(type, object)`` watch events on a collection from ``resource_version``, for at
        most ``timeout_seconds`` (the server then ends the stream)."""
        for line in self.lines(
            url,
            read_timeout=timeout_seconds + 30.0,
            watch="true",
            resourceVersion=resource_version,
            timeoutSeconds=timeout_seconds,
            allowWatchBookmarks="true",
            **params,
        ):
            if line.strip():
                event = json.loads(line)
                yield event.get("type", ""), event.get("object") or {}
