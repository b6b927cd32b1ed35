"""kustomize/monitoring builds (``kubectl kustomize``), scrapes the operator's metrics
port, and its alerts use only metrics and labels the operator really exports."""

from __future__ import annotations

import asyncio
import re
import subprocess
from functools import cache
from typing import Any

import pytest
import yaml
from neam_operator.metrics import OperatorMetrics
from neam_operator.scheduler import Scheduler

from tests.support.cluster import REPO_ROOT, ClusterError, built_kubectl

# PromQL words that look like metric names but are functions, keywords or modifiers.
PROMQL_WORDS = {
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "by",
    "without",
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "rate",
    "irate",
    "increase",
    "delta",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
    "absent",
    "offset",
    "bool",
}


@cache
def build(directory: str) -> tuple[dict[str, Any], ...]:
    """``kubectl kustomize`` of a directory of the repository, parsed."""
    try:
        kubectl = built_kubectl()
    except ClusterError as e:
        pytest.skip(str(e))
    out = subprocess.run(
        [str(kubectl), "kustomize", str(REPO_ROOT / directory)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def one(directory: str, kind: str) -> dict[str, Any]:
    (obj,) = [d for d in build(directory) if d["kind"] == kind]
    return obj


def exported() -> dict[str, set[str]]:
    """Every sample name the operator's registry exports, with its label names: each
    metric recorded once so that the labelled ones have a series."""
    m = OperatorMetrics()
    with m.in_flight("ForgeRun"), m.reconciling("ForgeRun"):
        pass
    m.watch_timers("ForgeRun", Scheduler(lambda _: asyncio.sleep(0)))
    m.seen("ForgeRun", ("ns", "run"), {"status": {"phase": "Pending"}})
    m.finished("ForgeRun", "ns", "Failed")
    m.spent("ForgeRun", "ns", "0.1")
    m.api_error("GET", "/api/v1/namespaces/ns/pods/p", 500)
    names: dict[str, set[str]] = {}
    for family in m.registry.collect():
        for s in family.samples:
            names.setdefault(s.name, set()).update(s.labels)
    return names


def test_the_kustomization_builds_a_service_a_servicemonitor_and_a_rule() -> None:
    kinds = sorted((d["kind"], d["metadata"]["namespace"]) for d in build("kustomize/monitoring"))
    assert kinds == [
        ("PrometheusRule", "neam-system"),
        ("Service", "neam-system"),
        ("ServiceMonitor", "neam-system"),
    ]
    assert all(
        d["apiVersion"] == "monitoring.coreos.com/v1"
        for d in build("kustomize/monitoring")
        if d["kind"] != "Service"
    )


def test_the_service_and_monitor_reach_the_operator_pods_metrics_port() -> None:
    deployment = one("manifests", "Deployment")
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    # The pod listens where Prometheus can reach it, on the port it declares.
    assert env["NEAM_OPERATOR_METRICS_HOST"] == "0.0.0.0"
    assert int(env["NEAM_OPERATOR_METRICS_PORT"]) == ports["metrics"]

    service = one("kustomize/monitoring", "Service")
    assert service["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    selector = service["spec"]["selector"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "metrics"

    monitor = one("kustomize/monitoring", "ServiceMonitor")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == (port["name"], "/metrics")
    assert endpoint["honorLabels"] is True  # the runs' namespace label stays `namespace`


def test_the_overlays_keep_the_metrics_address() -> None:
    for overlay in ("dev", "staging", "production"):
        (container,) = one(f"kustomize/overlays/{overlay}", "Deployment")["spec"]["template"][
            "spec"
        ]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["NEAM_OPERATOR_METRICS_HOST"] == "0.0.0.0", overlay
        assert any(p["name"] == "metrics" for p in container["ports"]), overlay


def test_the_alerts_use_only_exported_metrics_and_labels() -> None:
    names = exported()
    rule = one("kustomize/monitoring", "PrometheusRule")
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"NeamRunsFailing", "NeamRunsStuckPending", "NeamOperatorReconcileErrors"} <= set(alerts)
    for alert, r in alerts.items():
        expr = _without_strings(r["expr"])
        used = {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)} - PROMQL_WORDS
        metrics = {w for w in used if w in names}
        assert metrics, f"{alert} uses no exported metric"
        labels = set().union(*(names[m] for m in metrics))
        # Words that are neither a metric nor a label the metrics carry: a typo, or a
        # metric the operator does not export.
        assert used - metrics - labels - _durations(expr) == set(), alert
        for matcher in re.findall(r"\{([^}]*)\}", r["expr"]):
            for label in re.findall(r"(\w+)\s*[=!]~?", matcher):
                assert label in labels, f"{alert}: no metric it uses has the label {label}"
        assert r["labels"]["severity"] and r["annotations"]["summary"]


def _without_strings(expr: str) -> str:
    return re.sub(r'"[^"]*"', '""', expr)


def _durations(expr: str) -> set[str]:
    """The unit letters of range durations (``[30m]``) that the word scan picks up."""
    return set(re.findall(r"\[\d+([smhdwy])\]", expr))
