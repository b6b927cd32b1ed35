"""Probes, auth, errors, limits, metrics and audit: what works before a program loads.

The loader here blocks until the test ends, so the server stays in its
"starting" state; everything below is served by the real app over HTTP.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from neam.api.auth import key_id
from prometheus_client.parser import text_string_to_metric_families

API_KEY = "sk-test-api"
ADMIN_KEY = "admin-test-key"


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def starting(api_server, gate):
    """A server whose program never finishes loading, with API and admin keys."""

    def never_loads(settings, confirmations):
        gate.wait()
        raise RuntimeError("test over")

    return api_server(
        loader=never_loads,
        program=Path("unused.neam"),
        api_keys=(API_KEY, "sk-second"),
        admin_keys=(ADMIN_KEY,),
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_probes_before_the_program_loads(starting) -> None:
    health = starting.client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and isinstance(body["uptime_seconds"], int)
    ready = starting.client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    assert "not loaded" in ready.json()["reason"]
    assert starting.client.get("/startup").status_code == 503
    claw = starting.client.get("/api/v1/claw", headers=bearer(API_KEY))
    assert claw.status_code == 503
    assert "not loaded" in claw.json()["error"]


def test_auth_matrix_of_exercise_28_3(starting) -> None:
    c = starting.client
    # 1. no key -> 401, with a JSON error and a challenge
    r = c.get("/api/v1/metrics")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "error" in r.json()
    # 2. correct API key (either of the comma-separated ones) -> passes
    assert c.get("/api/v1/metrics", headers=bearer(API_KEY)).status_code == 200
    assert c.get("/api/v1/metrics", headers=bearer("sk-second")).status_code == 200
    # 3. admin endpoint with only the API key -> 403
    for method, path in [
        ("POST", "/api/v1/admin/disable"),
        ("POST", "/api/v1/admin/enable"),
        ("GET", "/api/v1/admin/status"),
        ("GET", "/api/v1/admin/confirmations"),
        ("POST", "/api/v1/confirm"),
    ]:
        r = c.request(method, path, headers=bearer(API_KEY))
        assert r.status_code == 403, path
        assert "admin" in r.json()["error"]
    # 4. admin endpoint with the admin key -> OK
    r = c.get("/api/v1/admin/status", headers=bearer(ADMIN_KEY))
    assert r.status_code == 200
    assert r.json()["global_disabled"] is False
    assert c.get("/api/v1/admin/confirmations", headers=bearer(ADMIN_KEY)).json() == {
        "confirmations": []
    }
    # 5. probes need no key
    for path in ("/health", "/ready", "/startup"):
        assert c.get(path).status_code != 401, path
    # wrong keys, wrong scheme, admin without any key
    assert c.get("/api/v1/metrics", headers=bearer("sk-wrong")).status_code == 401
    assert c.get("/api/v1/metrics", headers={"Authorization": API_KEY}).status_code == 401
    assert c.get("/api/v1/admin/status").status_code == 401
    assert c.get("/api/v1/admin/status", headers=bearer("nope")).status_code == 401
    # the admin key also works on ordinary endpoints; unknown routes need a key too
    assert c.get("/api/v1/metrics", headers=bearer(ADMIN_KEY)).status_code == 200
    assert c.get("/no/such/route").status_code == 401


def test_development_mode_is_open(api_server, gate) -> None:
    def never_loads(settings, confirmations):
        gate.wait()
        raise RuntimeError("test over")

    server = api_server(loader=never_loads, program=Path("unused.neam"))
    assert server.client.get("/api/v1/metrics").status_code == 200
    assert server.client.get("/api/v1/admin/status").status_code == 200


def test_unknown_route_and_wrong_method_are_json(starting) -> None:
    c = starting.client
    r = c.get("/api/v1/nothing", headers=bearer(API_KEY))
    assert r.status_code == 404
    assert r.json()["error"] == "no route for GET /api/v1/nothing"
    r = c.get("/api/v1/claw/bot/sessions/k/message", headers=bearer(API_KEY))
    assert r.status_code == 405
    assert "POST" in r.headers["allow"]
    assert "not allowed" in r.json()["error"]


def test_oversized_body_is_413(api_server, gate) -> None:
    def never_loads(settings, confirmations):
        gate.wait()
        raise RuntimeError("test over")

    server = api_server(loader=never_loads, program=Path("unused.neam"), max_body_bytes=1000)
    big = json.dumps({"message": "x" * 2000})
    r = server.client.post("/api/v1/claw/bot/sessions/k/message", content=big)
    assert r.status_code == 413
    assert "too large" in r.json()["error"]

    def chunks():
        for _ in range(5):
            yield b"y" * 400

    r = server.client.post("/api/v1/agent/ask", content=chunks())
    assert r.status_code == 413
    # just under the limit passes the size check (and then meets the loading program)
    small = json.dumps({"agent_id": "a", "query": "q"})
    assert server.client.post("/api/v1/agent/ask", content=small).status_code == 503


def test_metrics_json_and_prometheus(starting) -> None:
    c = starting.client
    for _ in range(3):
        c.get("/health")
    c.get("/api/v1/nothing", headers=bearer(API_KEY))
    m = c.get("/api/v1/metrics", headers=bearer(API_KEY)).json()
    assert m["endpoints"]["GET /health"]["count"] == 3
    assert m["endpoints"]["GET unmatched"]["count"] == 1
    assert m["status_codes"]["200"] >= 3 and m["status_codes"]["404"] == 1
    assert set(m["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert m["latency_ms"]["p50"] <= m["latency_ms"]["p95"] <= m["latency_ms"]["p99"]
    assert m["pool"]["workers"] == 4 and m["pool"]["llm_pool_size"] == 8
    text = c.get("/metrics", headers=bearer(API_KEY))
    assert text.headers["content-type"].startswith("text/plain")
    lines = text.text.splitlines()
    assert 'neam_api_requests_total{method="GET",route="/health",status="200"} 3' in lines
    assert 'neam_api_request_duration_seconds_count{method="GET",route="/health"} 3' in lines
    assert "neam_api_ready 0" in lines
    assert any(line.startswith("neam_api_pool_busy ") for line in lines)


def test_the_prometheus_metrics_are_the_documented_ones(starting) -> None:
    """docs/operations.md lists every neam-api metric by the name it is served under."""
    text = starting.client.get("/metrics", headers=bearer(API_KEY)).text
    served = {family.name for family in text_string_to_metric_families(text)}
    doc = (Path(__file__).resolve().parents[3] / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `(neam_api_\w+)` \|", doc, re.MULTILINE))
    # The parser names a counter's family without its ``_total`` suffix.
    assert {re.sub(r"_total$", "", name) for name in documented} == served


def test_audit_log_records_who_did_what_without_secrets(starting, tmp_path) -> None:
    c = starting.client
    c.post(
        "/api/v1/claw/bot/sessions/user_1/message",
        headers=bearer(API_KEY),
        json={"message": "my secret plan"},
    )
    c.get("/api/v1/admin/status", headers=bearer("sk-wrong"))
    c.get("/health")
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["endpoint"] for r in records] == [
        "/api/v1/claw/{agent}/sessions/{key}/message",
        "/api/v1/admin/status",
    ]
    first, second = records
    assert first["agent"] == "bot" and first["session"] == "user_1"
    assert first["status"] == 503 and first["method"] == "POST"
    assert first["principal"] == key_id(API_KEY) and isinstance(first["latency_ms"], float)
    assert second["status"] == 401 and second["principal"] == key_id("sk-wrong")
    raw = (tmp_path / "audit.jsonl").read_text()
    for secret in ("my secret plan", API_KEY, "sk-wrong"):
        assert secret not in raw


def test_refused_requests_are_audited_with_who_and_what(api_server, gate, tmp_path) -> None:
    def never_loads(settings, confirmations):
        gate.wait()
        raise RuntimeError("test over")

    server = api_server(
        loader=never_loads,
        program=Path("unused.neam"),
        api_keys=(API_KEY,),
        admin_keys=(ADMIN_KEY,),
        max_body_bytes=1000,
    )
    c = server.client
    message = "/api/v1/claw/bot/sessions/user_9/message"
    c.post(message, json={"message": "hi"})  # 401, no credentials
    c.post(message, headers=bearer("sk-guess"), json={"message": "hi"})  # 401
    c.post("/api/v1/admin/disable", headers=bearer(API_KEY), json={"agent": "*"})  # 403
    c.post(message, headers=bearer(API_KEY), content=b"x" * 2000)  # 413
    c.get("/api/v1/forge/code_builder/status", headers=bearer("sk-guess"))  # 401
    c.put(message, headers=bearer("sk-guess"))  # 401 on a route that takes only POST
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    seen = [(r["status"], r["principal"], r["endpoint"], r["agent"], r["session"]) for r in records]
    template = "/api/v1/claw/{agent}/sessions/{key}/message"
    assert seen == [
        (401, "anonymous", template, "bot", "user_9"),
        (401, key_id("sk-guess"), template, "bot", "user_9"),
        (403, key_id(API_KEY), "/api/v1/admin/disable", None, None),
        (413, key_id(API_KEY), template, "bot", "user_9"),
        (401, key_id("sk-guess"), "/api/v1/forge/{agent}/status", "code_builder", None),
        (401, key_id("sk-guess"), template, "bot", "user_9"),
    ]
    metrics = c.get("/api/v1/metrics", headers=bearer(API_KEY)).json()
    assert "unmatched" not in metrics["endpoints"]


def test_audit_sinks_stderr_and_json(capsys) -> None:
    from neam.api.audit import AuditLog

    entry = {
        "principal": "key:abc",
        "method": "POST",
        "endpoint": "/x",
        "agent": None,
        "status": 200,
    }
    AuditLog("stderr").record(entry)
    AuditLog("json").record(entry)
    out, err = capsys.readouterr()
    assert " audit principal=key:abc method=POST endpoint=/x status=200" in err
    assert "agent=" not in err  # empty fields are left out of the readable line
    assert json.loads(out) | {"ts": "t"} == {**entry, "ts": "t"}


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {API_KEY[:-1]}",  # a prefix of a key
        f"Bearer {API_KEY[:4]}",
        f"Bearer {API_KEY}x",  # a key with more characters
        f"Bearer {API_KEY} {API_KEY}",
        f"Basic {API_KEY}",  # another scheme
        f"Token {API_KEY}",
        API_KEY,  # no scheme
        f" {API_KEY}",  # an empty scheme
        "Bearer",
        "Bearer ",
        "",
        f"Bearer {ADMIN_KEY[:-1]}",
    ],
)
def test_only_an_exact_key_with_the_bearer_scheme_passes(starting, authorization) -> None:
    # http.client sends header values as given (httpx refuses leading blanks).
    host, port = starting.url.removeprefix("http://").split(":")
    for path in ("/api/v1/metrics", "/api/v1/admin/status"):
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request("GET", path, headers={"Authorization": authorization})
            response = connection.getresponse()
            assert response.status == 401, (path, authorization)
            assert "error" in json.loads(response.read())
        finally:
            connection.close()


def test_the_scheme_is_case_insensitive(starting) -> None:
    assert (
        starting.client.get(
            "/api/v1/metrics", headers={"Authorization": f"bearer {API_KEY}"}
        ).status_code
        == 200
    )
    assert (
        starting.client.get(
            "/api/v1/admin/status", headers={"Authorization": f"BEARER {ADMIN_KEY}"}
        ).status_code
        == 200
    )
