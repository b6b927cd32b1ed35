"""Counters and gauges scraped from Prometheus endpoints during a benchmark: the
API server's ``/metrics`` (through kubectl, :mod:`tests.support.apiserver_metrics`) and
the operator's (on 127.0.0.1), parsed the same way.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable

from tests.support.apiserver_metrics import Samples, apiserver, by, parse

__all__ = ["Samples", "apiserver", "by", "delta", "scrape"]


def scrape(port: int, names: Iterable[str]) -> Samples:
    """A local endpoint's ``/metrics`` (127.0.0.1 only)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        return parse(r.read().decode(), names)


def delta(after: Samples, before: Samples) -> Samples:
    """Counter increases between two scrapes (series new in ``after`` count from 0)."""
    return {k: v - before.get(k, 0.0) for k, v in after.items()}
