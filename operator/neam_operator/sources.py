"""A resource's Neam source: reading it, and which resources a ConfigMap feeds.

Every kind takes its program from ``spec.source`` (inline text or a ConfigMap key). A
missing ConfigMap or key is not an error of the resource: it waits (reason
``SourceNotFound``), and the operator watches ConfigMaps so that the fix is picked up
at once rather than at the next backoff.
"""

from __future__ import annotations

from collections import defaultdict

from neam_operator.kube import Kube, path
from neam_operator.models import Source
from neam_operator.scheduler import Key


async def read(kube: Kube, namespace: str, owner: str, source: Source) -> tuple[str, str] | str:
    """``(text, filename)``, or why the source is not available (yet)."""
    if source.inline is not None:
        return source.inline, f"{owner}.neam"
    ref = source.config_map_ref
    assert ref is not None  # guaranteed by the CRD's CEL rule
    cm = await kube.get(path("v1", "ConfigMap", namespace, ref.name))
    if cm is None:
        return f"ConfigMap {ref.name} not found"
    data = cm.get("data") or {}
    if ref.key not in data:
        keys = ", ".join(sorted(data)) or "none"
        return f"ConfigMap {ref.name} has no key {ref.key} (keys: {keys})"
    return data[ref.key], ref.key


class SourceIndex:
    """Which resources (of one kind) take their source from which ConfigMap."""

    def __init__(self) -> None:
        self._users: dict[Key, set[str]] = defaultdict(set)  # ConfigMap -> resource names
        self._source_of: dict[Key, Key] = {}  # resource -> ConfigMap

    def track(self, key: Key, source: Source | None) -> None:
        """Record (or, with ``None``, forget) the ConfigMap resource ``key`` reads."""
        old = self._source_of.pop(key, None)
        if old is not None:
            self._users[old].discard(key[1])
            if not self._users[old]:
                del self._users[old]
        ref = source.config_map_ref if source else None
        if ref is not None:
            configmap = (key[0], ref.name)
            self._source_of[key] = configmap
            self._users[configmap].add(key[1])

    def referencing(self, namespace: str, configmap: str) -> list[Key]:
        """The resources whose source is this ConfigMap."""
        return [(namespace, name) for name in self._users.get((namespace, configmap), ())]
