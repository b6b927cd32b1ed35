"""Creating many objects at once from several client threads, one API client each
(the Python client has no client-side rate limit: each thread sends its next create
as soon as the previous one returns)."""

from __future__ import annotations

import threading
import time

from kubernetes import client

from bench.peers import Peer
from tests.support.cluster import ClusterHandle


def create_all(
    kube: ClusterHandle,
    peer: Peer,
    namespace: str,
    names: list[str],
    threads: int,
    started: dict[str, float] | None = None,
) -> float:
    """Create ``names`` from ``threads`` threads (name i goes to thread i mod threads);
    seconds from the common start until the last create returned. ``started`` gets
    the monotonic time just before each object's create call."""
    apis = [client.CustomObjectsApi(kube.api_client()) for _ in range(threads)]
    go = threading.Barrier(threads + 1)
    errors: list[BaseException] = []
    stamps = started if started is not None else {}

    def work(api: client.CustomObjectsApi, share: list[str]) -> None:
        go.wait()
        try:
            for name in share:
                stamps[name] = time.monotonic()
                peer.create(api, namespace, name)
        except Exception as e:  # reported after the join
            errors.append(e)

    workers = [
        threading.Thread(target=work, args=(api, names[i::threads])) for i, api in enumerate(apis)
    ]
    for t in workers:
        t.start()
    go.wait()
    t0 = time.monotonic()
    for t in workers:
        t.join()
    for api in apis:
        api.api_client.close()
    if errors:
        raise errors[0]
    return time.monotonic() - t0
