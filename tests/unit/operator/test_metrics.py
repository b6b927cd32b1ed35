"""The operator's metric bookkeeping, its /metrics endpoint and the API error hook."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from neam_operator import metrics_http
from neam_operator.dagstatus import ended
from neam_operator.kube import ApiError, Kube, Unreachable, refusal
from neam_operator.metrics import OperatorMetrics
from neam_operator.scheduler import Scheduler
from prometheus_client.parser import text_string_to_metric_families

from tests.support.kubeconfigs import token_kubeconfig
from tests.support.operator_harness import free_port


def value(m: OperatorMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def series(m: OperatorMetrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of family ``name``, by its sorted labels."""
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in m.registry.collect()
        if family.name == name
        for s in family.samples
    }


async def test_reconciles_are_counted_and_timed_by_result() -> None:
    m = OperatorMetrics()
    assert value(m, "neam_operator_reconciles_total", kind="ForgeRun", result="error") == 0
    with m.reconciling("ForgeRun"):
        pass
    with m.reconciling("ForgeRun") as outcome:
        outcome.result = "rejected"
    with pytest.raises(RuntimeError), m.reconciling("ForgeRun"):
        raise RuntimeError("boom")

    async def cancelled() -> None:
        with m.reconciling("ForgeRun"):
            await asyncio.sleep(10)

    task = asyncio.create_task(cancelled())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    for result in ("success", "rejected", "error"):
        labels = {"kind": "ForgeRun", "result": result}
        assert value(m, "neam_operator_reconciles_total", **labels) == 1
        assert value(m, "neam_operator_reconcile_duration_seconds_count", **labels) == 1
    assert value(m, "neam_operator_reconciles_total", kind="AgentDAG", result="success") == 0


def test_in_flight_counts_until_the_reconcile_ends() -> None:
    m = OperatorMetrics()
    with m.in_flight("AgentDAG"), m.in_flight("AgentDAG"):
        assert value(m, "neam_operator_reconciles_in_flight", kind="AgentDAG") == 2
    assert value(m, "neam_operator_reconciles_in_flight", kind="AgentDAG") == 0


def test_resources_by_phase_follow_what_was_seen_and_deleted() -> None:
    m = OperatorMetrics()
    m.seen("ForgeRun", ("a", "one"), {"metadata": {}})
    m.seen("ForgeRun", ("a", "two"), {"status": {"phase": "Running"}})
    m.seen("ForgeRun", ("b", "one"), {"status": {"phase": "Running"}})
    m.seen("ClawAgent", ("a", "bot"), {"status": {"phase": "Ready"}})
    m.seen("ForgeRun", ("a", "two"), {"status": {"phase": "Failed"}})  # a later event
    m.gone("ForgeRun", ("b", "one"))
    m.gone("ForgeRun", ("b", "never-seen"))

    got = {
        (dict(k)["kind"], dict(k)["phase"]): v
        for k, v in series(m, "neam_operator_resources").items()
    }
    assert got[("ForgeRun", "Unknown")] == 1
    assert got[("ForgeRun", "Failed")] == 1
    assert got[("ForgeRun", "Running")] == 0  # kept at 0, not left at its last value
    assert got[("ClawAgent", "Ready")] == 1
    assert got[("AgentDAG", "Pending")] == 0
    assert ("ClawAgent", "Running") not in got  # only the phases a kind has
    assert sum(got.values()) == 3


def test_cost_and_ends_are_counted_by_namespace_and_kind() -> None:
    m = OperatorMetrics()
    m.finished("ForgeRun", "team-a", "Succeeded")
    m.spent("ForgeRun", "team-a", "0.25")
    m.spent("ForgeRun", "team-a", "0.0042")
    for ignored in (None, "", "0", "-1", "NaN", "a lot"):
        m.spent("ForgeRun", "team-a", ignored)
    m.spent("AgentDAG", "team-b", "1.5")
    assert value(m, "neam_operator_llm_cost_usd_total", namespace="team-a", kind="ForgeRun") == (
        pytest.approx(0.2542)
    )
    assert value(m, "neam_operator_llm_cost_usd_total", namespace="team-b", kind="AgentDAG") == 1.5
    labels = {"namespace": "team-a", "kind": "ForgeRun", "phase": "Succeeded"}
    assert value(m, "neam_operator_runs_finished_total", **labels) == 1


@pytest.mark.parametrize(
    ("method", "url", "status", "labels"),
    [
        ("GET", "/apis/batch/v1/namespaces/ns/jobs/run-forge", 500, ("get", "Job", "500")),
        ("GET", "/api/v1/namespaces/ns/pods", 403, ("list", "Pod", "403")),
        ("POST", "/api/v1/namespaces/ns/serviceaccounts", 409, ("create", "ServiceAccount", "409")),
        (
            "PATCH",
            "/apis/neam.dev/v1alpha1/namespaces/ns/forgeruns/r/status",
            422,
            ("patch", "ForgeRun", "422"),
        ),
        ("POST", "/api/v1/namespaces/ns/events", None, ("create", "Event", "none")),
        ("DELETE", "/apis/apps/v1/namespaces/ns/widgets/w", 404, ("delete", "widgets", "404")),
    ],
)
def test_api_errors_by_verb_kind_and_code(
    method: str, url: str, status: int | None, labels: tuple[str, str, str]
) -> None:
    m = OperatorMetrics()
    m.api_error(method, url, status)
    verb, kind, code = labels
    assert value(m, "neam_operator_api_errors_total", verb=verb, kind=kind, code=code) == 1


async def test_delayed_reconciles_waiting_and_due() -> None:
    m = OperatorMetrics()
    release = asyncio.Event()

    async def action(_: tuple[str, str]) -> None:
        await release.wait()

    s = Scheduler(action)
    m.watch_timers("ForgeRun", s)
    s.at(("ns", "a"), 100)
    s.at(("ns", "b"), 0)
    await asyncio.sleep(0.01)

    def timers(state: str) -> float | None:
        return value(m, "neam_operator_delayed_reconciles", kind="ForgeRun", state=state)

    assert (timers("waiting"), timers("due")) == (1, 1)
    release.set()
    await asyncio.sleep(0.01)
    s.cancel(("ns", "a"))
    assert (timers("waiting"), timers("due")) == (0, 0)


def test_node_ends_are_found_once() -> None:
    old = {"a": {"id": "a", "phase": "Succeeded"}, "b": {"id": "b", "phase": "Running"}}
    new = [
        {"id": "a", "phase": "Succeeded", "cost": "1"},
        {"id": "b", "phase": "Failed", "cost": "2"},
        {"id": "c", "phase": "Stopped"},
        {"id": "d", "phase": "Skipped"},
        {"id": "e", "phase": "Running"},
    ]
    assert [e["id"] for e in ended(old, new)] == ["b", "c"]


class StandIn:
    """A stand-in API server on 127.0.0.1 answering with the status named by the
    path's last segment, and the errors its clients reported."""

    def __init__(self, port: int, configs: Path) -> None:
        self.port = port
        self.configs = configs
        self.errors: list[tuple[str, str, int | None]] = []
        self.clients: list[Kube] = []

    async def client(self, port: int | None = None) -> Kube:
        """A client as the operator makes it, of a kubeconfig for this server."""
        server = f"http://127.0.0.1:{port or self.port}"
        config = token_kubeconfig(self.configs / f"{len(self.clients)}.kubeconfig", server)
        kube = await Kube.connect(str(config), lambda *error: self.errors.append(error))
        self.clients.append(kube)
        return kube


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[StandIn]:
    async def answer(request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        return web.json_response({"kind": "Status", "message": "no"}, status=status)

    app = web.Application()
    app.router.add_route("*", "/api/v1/namespaces/ns/configmaps/{status}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    stand_in = StandIn(free_port(), tmp_path)
    await web.TCPSite(runner, "127.0.0.1", stand_in.port).start()
    yield stand_in
    for kube in stand_in.clients:
        await kube.close()
    await runner.cleanup()


async def test_the_client_reports_failed_requests(api: StandIn) -> None:
    kube = await api.client()
    url = "/api/v1/namespaces/ns/configmaps/"
    assert await kube.get(url + "200") == {"kind": "Status", "message": "no"}
    assert await kube.get(url + "404") is None
    with pytest.raises(ApiError):
        await kube.merge_patch(url + "500", {})
    with pytest.raises(Unreachable) as unreachable:  # nothing listens there
        await (await api.client(free_port())).get(url + "x")
    assert refusal(unreachable.value) is None  # worth retrying
    assert unreachable.value.message.startswith(f"no answer from the API server to GET {url}x")
    assert api.errors == [
        ("GET", url + "404", 404),
        ("PATCH", url + "500", 500),
        ("GET", url + "x", None),
    ]


async def test_the_endpoint_serves_the_registry_over_http() -> None:
    m = OperatorMetrics()
    m.spent("ForgeRun", "ns", "0.5")
    port = free_port()
    runner = await metrics_http.serve(m.registry, "127.0.0.1", port)
    try:

        def scrape() -> tuple[str, str]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return r.headers["Content-Type"], r.read().decode()

        content_type, text = await asyncio.to_thread(scrape)
    finally:
        await runner.cleanup()
    assert content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    (cost,) = families["neam_operator_llm_cost_usd"].samples
    assert cost.value == 0.5 and cost.labels == {"namespace": "ns", "kind": "ForgeRun"}
    assert "process_resident_memory_bytes" in families
    assert not any(name.endswith("_created") for name in families)


async def test_a_taken_port_is_an_error() -> None:
    m = OperatorMetrics()
    port = free_port()
    first = await metrics_http.serve(m.registry, "127.0.0.1", port)
    try:
        with pytest.raises(OSError):
            await metrics_http.serve(m.registry, "127.0.0.1", port)
    finally:
        await first.cleanup()
