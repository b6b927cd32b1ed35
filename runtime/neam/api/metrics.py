"""Request metrics: counts, latency percentiles and Prometheus text exposition.

Updated and read on the event loop only, so no locking is needed. Percentiles
come from a sliding window of the most recent requests (overall and per
endpoint); Prometheus gets cumulative histograms, which never forget.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
WINDOW = 4096


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary(seconds: Iterable[float]) -> dict[str, float]:
    values = sorted(seconds)
    return {f"p{q}": round(percentile(values, q) * 1000.0, 3) for q in (50, 95, 99)} | {
        "max": round((values[-1] if values else 0.0) * 1000.0, 3)
    }


@dataclass
class _Series:
    """One endpoint (method + route template)."""

    count: int = 0
    errors: int = 0
    total_seconds: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    statuses: Counter[int] = field(default_factory=Counter)


class Metrics:
    def __init__(self) -> None:
        self._series: dict[tuple[str, str], _Series] = {}
        self._recent: deque[float] = deque(maxlen=WINDOW)
        self.in_flight = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route))
        if series is None:
            series = self._series[(method, route)] = _Series()
        series.count += 1
        series.errors += status >= 500
        series.total_seconds += seconds
        series.statuses[status] += 1
        series.recent.append(seconds)
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                series.buckets[i] += 1
                break
        self._recent.append(seconds)

    def snapshot(self) -> dict[str, object]:
        """The JSON body of ``GET /api/v1/metrics`` (without pool stats)."""
        statuses: Counter[int] = Counter()
        for s in self._series.values():
            statuses.update(s.statuses)
        return {
            "requests_total": sum(s.count for s in self._series.values()),
            "errors_total": sum(s.errors for s in self._series.values()),
            "in_flight": self.in_flight,
            "status_codes": {str(code): n for code, n in sorted(statuses.items())},
            "latency_ms": latency_summary(self._recent),
            "endpoints": {
                f"{method} {route}": {
                    "count": s.count,
                    "errors": s.errors,
                    "latency_ms": latency_summary(s.recent),
                }
                for (method, route), s in sorted(self._series.items())
            },
        }

    def prometheus(self, gauges: Mapping[str, tuple[str, float]]) -> str:
        """Prometheus text format 0.0.4; ``gauges`` maps name -> (help, value)."""
        lines = [
            "# HELP neam_api_requests_total HTTP requests by endpoint and status.",
            "# TYPE neam_api_requests_total counter",
        ]
        for (method, route), s in sorted(self._series.items()):
            for status, n in sorted(s.statuses.items()):
                labels = _labels(method=method, route=route, status=str(status))
                lines.append(f"neam_api_requests_total{labels} {n}")
        lines += [
            "# HELP neam_api_request_duration_seconds HTTP request latency.",
            "# TYPE neam_api_request_duration_seconds histogram",
        ]
        for (method, route), s in sorted(self._series.items()):
            cumulative = 0
            for bound, n in zip(BUCKETS, s.buckets, strict=True):
                cumulative += n
                labels = _labels(method=method, route=route, le=_num(bound))
                lines.append(f"neam_api_request_duration_seconds_bucket{labels} {cumulative}")
            labels = _labels(method=method, route=route, le="+Inf")
            lines.append(f"neam_api_request_duration_seconds_bucket{labels} {s.count}")
            base = _labels(method=method, route=route)
            lines.append(f"neam_api_request_duration_seconds_sum{base} {_num(s.total_seconds)}")
            lines.append(f"neam_api_request_duration_seconds_count{base} {s.count}")
        for name, (help_text, value) in gauges.items():
            lines += [
                f"# HELP {name} {help_text}",
                f"# TYPE {name} gauge",
                f"{name} {_num(value)}",
            ]
        return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _labels(**labels: str) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"
