"""The control plane the cluster benchmarks run on."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tests.support.cluster import ClusterHandle, existing_cluster, local_cluster

# kube-controller-manager's client rate limits for burst runs: high enough that the
# Job controller's limiter (default 20 QPS, burst 30) never throttles it.
RAISED_KCM_LIMITS = (
    "--extra-args",
    "kube-controller-manager=kube-api-qps=1000",
    "--extra-args",
    "kube-controller-manager=kube-api-burst=2000",
)


@contextmanager
def bench_cluster(create_args: Sequence[str] = ()) -> Iterator[ClusterHandle]:
    """A fresh local cluster started with ``create_args`` (extra ``kwokctl create
    cluster`` arguments), or $KUBECONFIG's with NEAM_TEST_CLUSTER=existing (which
    ignores ``create_args``: that cluster is configured already)."""
    if os.environ.get("NEAM_TEST_CLUSTER") == "existing":
        yield existing_cluster()
    else:
        with local_cluster(create_args=create_args) as handle:
            yield handle
