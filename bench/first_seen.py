"""When objects first appear: a watch in a background thread records the monotonic
time of each object's first ADDED event, keyed by the value of one of its labels."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client, watch
from urllib3.exceptions import ProtocolError


def _lister(api: client.ApiClient, resource: str) -> Callable[..., Any]:
    if resource == "pods":
        return client.CoreV1Api(api).list_namespaced_pod
    if resource == "jobs":
        return client.BatchV1Api(api).list_namespaced_job
    raise ValueError(f"no lister for {resource}")


class FirstSeen:
    """First ADDED times of ``resource`` (``pods`` or ``jobs``) in ``namespace``.

    An object's key is the value of the first of ``labels`` it carries; objects with
    none of them are ignored. Events are parsed as plain JSON (no model classes), so
    a burst of status updates does not make the watch fall behind.
    """

    def __init__(
        self, api: client.ApiClient, namespace: str, resource: str, labels: Iterable[str]
    ) -> None:
        self.times: dict[str, float] = {}
        self._order: list[str] = []  # keys in the order they were first seen
        self._labels = tuple(labels)
        self._failure: BaseException | None = None
        self._list = _lister(api, resource)
        self._namespace, self._resource = namespace, resource
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError(f"the {resource} watch did not start")

    def _key(self, meta: dict[str, Any]) -> str | None:
        labels = meta.get("labels") or {}
        return next((labels[k] for k in self._labels if k in labels), None)

    def _run(self) -> None:
        try:
            self._watch()
        except BaseException as e:  # handed to wait(): a dead watch must not look slow
            with self._changed:
                self._failure = e
                self._changed.notify_all()
            self._ready.set()

    def _watch(self) -> None:
        rv = self._list(self._namespace, limit=1).metadata.resource_version
        self._ready.set()
        w = watch.Watch()
        while not self._stop.is_set():
            try:
                for ev in w.stream(
                    self._list,
                    self._namespace,
                    resource_version=rv,
                    timeout_seconds=5,
                    deserialize=False,
                ):
                    now = time.monotonic()
                    if ev["type"] == "ERROR":  # e.g. 410 Gone: nothing to resume from
                        raise RuntimeError(f"the {self._resource} watch failed: {ev['object']}")
                    meta = ev["object"]["metadata"]
                    rv = meta["resourceVersion"]
                    key = self._key(meta) if ev["type"] == "ADDED" else None
                    if key is not None and key not in self.times:
                        with self._changed:
                            self.times[key] = now
                            self._order.append(key)
                            self._changed.notify_all()
                    if self._stop.is_set():
                        break
            except ProtocolError:  # the server closed the watch early: resume from rv
                continue

    def wait(self, keys: Iterable[str], timeout: float = 60.0) -> float:
        """Block until every key was seen; the latest of their times. Each wake-up
        looks only at the keys seen since the last one, so waiting for 10,000 keys
        does not cost the bench process CPU the cluster needs."""
        wanted = list(keys)
        missing = set(wanted)
        checked = 0
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                missing.difference_update(self._order[checked:])
                checked = len(self._order)
                if not missing:
                    break
                if self._failure is not None:
                    raise RuntimeError(f"the {self._resource} watch died") from self._failure
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(missing)} {self._resource} not seen, e.g. {next(iter(missing))}"
                    )
                self._changed.wait(left)
        return max(self.times[k] for k in wanted)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)  # the watch ends within its 5 s timeout
