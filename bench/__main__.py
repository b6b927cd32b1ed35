"""Runs every benchmark module (``bench/bench_*.py``), or those named on the command line.

Usage: ``python -m bench [area ...]`` — e.g. ``python -m bench lang api``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    wanted = set(argv)
    for name in _modules():
        area = name.removeprefix("bench_")
        if wanted and area not in wanted:
            continue
        print(f"== {area} ==", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
