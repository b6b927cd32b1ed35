"""The API server's Prometheus counters, read through kubectl, for tests and benchmarks.

Only the series of the metric names asked for are parsed (the API server's page is
megabytes of histograms), keyed by sample name and sorted labels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

from tests.support.cluster import ClusterHandle

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]


def parse(text: str, names: Iterable[str]) -> Samples:
    """The samples of ``text`` whose name starts with one of ``names``."""
    prefixes = tuple(names)
    kept = "\n".join(ln for ln in text.splitlines() if ln.startswith(prefixes))
    out: Samples = {}
    for family in text_string_to_metric_families(kept + "\n"):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def apiserver(kube: ClusterHandle, names: Iterable[str]) -> Samples:
    return parse(kube.kubectl("get", "--raw", "/metrics").stdout, names)


def by(samples: Samples, name: str, labels: Iterable[str]) -> dict[tuple[str, ...], float]:
    """Sum the ``name`` series grouped by the values of ``labels`` ("" when absent)."""
    keys = tuple(labels)
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for (sample, series), value in samples.items():
        if sample == name:
            found = dict(series)
            out[tuple(found.get(k, "") for k in keys)] += value
    return dict(out)
