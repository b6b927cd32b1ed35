"""What the cluster benchmarks print next to their numbers: the machine, the load
average (other work on a shared machine moves every figure) and latency percentiles."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

from neam.api.metrics import percentile


def machine() -> str:
    """Date, CPUs and Python, for the record next to the numbers."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if "model name" in ln), "?"
    )
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cpus = f"{os.cpu_count()} CPUs ({platform.machine()}, {model})"
    return f"{stamp}, {cpus}, Python {platform.python_version()}"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 of ``seconds``, in milliseconds."""
    ordered = sorted(seconds)
    return {f"p{q}": percentile(ordered, q) * 1000 for q in (50, 95, 99)}
