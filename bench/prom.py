"""Counters and gauges scraped from Prometheus endpoints during a benchmark: the
API server's ``/metrics`` (through kubectl) and the operator's (on 127.0.0.1).

Only the series of the metric names asked for are parsed (the API server's page is
megabytes of histograms), keyed by sample name and sorted labels.
"""

from __future__ import annotations

import urllib.request
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


def scrape(port: int, names: Iterable[str]) -> Samples:
    """A local endpoint's ``/metrics`` (127.0.0.1 only)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        return parse(r.read().decode(), names)


def delta(after: Samples, before: Samples) -> Samples:
    """Counter increases between two scrapes (series new in ``after`` count from 0)."""
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


def by(samples: Samples, name: str, labels: Iterable[str]) -> dict[tuple[str, ...], float]:
    """Sum the ``name`` series grouped by the values of ``labels`` ("" when absent)."""
    keys = tuple(labels)
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for (sample, series), value in samples.items():
        if sample == name:
            found = dict(series)
            out[tuple(found.get(k, "") for k in keys)] += value
    return dict(out)
