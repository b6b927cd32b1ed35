"""``neam-operator``: run the kopf operator.

All namespaces by default; ``--namespace NS`` (repeatable, or NEAM_OPERATOR_NAMESPACES,
comma-separated) restricts it. Liveness: ``GET http://HOST:PORT/healthz``; Prometheus
metrics: ``GET http://METRICS_HOST:METRICS_PORT/metrics``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys

import kopf

from neam_operator import metrics_http
from neam_operator.app import build_registry
from neam_operator.metrics import OperatorMetrics
from neam_operator.settings import Settings


def parse_args(argv: list[str], settings: Settings) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="neam-operator", description=__doc__.splitlines()[0])
    p.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        help="watch only this namespace (repeatable); default: all namespaces",
    )
    p.add_argument("--liveness-host", default=settings.health_host)
    p.add_argument("--liveness-port", type=int, default=settings.health_port)
    p.add_argument(
        "--metrics-host",
        default=settings.metrics_host,
        help="address of the Prometheus /metrics endpoint (default: %(default)s)",
    )
    p.add_argument("--metrics-port", type=int, default=settings.metrics_port)
    p.add_argument(
        "--resync-seconds",
        type=int,
        default=settings.resync_seconds,
        help="check the children of unfinished runs this often (default: %(default)s)",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    env_settings = Settings.from_env()
    args = parse_args(sys.argv[1:] if argv is None else argv, env_settings)
    namespaces = tuple(args.namespace) or env_settings.namespaces
    settings = dataclasses.replace(
        env_settings,
        namespaces=namespaces,
        health_host=args.liveness_host,
        health_port=args.liveness_port,
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        resync_seconds=max(1, args.resync_seconds),
    )
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # one line per handled event or API request is noise at 1,000s of runs
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        logging.getLogger("httpx2").setLevel(logging.WARNING)
    asyncio.run(run(settings))
    return 0


async def run(settings: Settings) -> None:
    """Serve the metrics, then run kopf until it stops."""
    metrics = OperatorMetrics()
    where = f"{settings.metrics_host}:{settings.metrics_port}"
    try:
        server = await metrics_http.serve(
            metrics.registry, settings.metrics_host, settings.metrics_port
        )
    except OSError as e:  # the port is taken, or the address is not this host's
        raise SystemExit(f"neam-operator: cannot serve metrics on {where}: {e}") from None
    try:
        await kopf.operator(
            registry=build_registry(settings, metrics),
            standalone=True,
            clusterwide=not settings.namespaces,
            namespaces=list(settings.namespaces),
            liveness_endpoint=f"http://{settings.health_host}:{settings.health_port}/healthz",
        )
    finally:
        await server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
