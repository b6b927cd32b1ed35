"""Benchmarks: each ``bench/bench_<area>.py`` module exposes ``main() -> None``."""
