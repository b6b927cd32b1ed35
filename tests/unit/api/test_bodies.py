"""Request bodies: unknown fields and wrong types are 400s that name them, and no
JSON a client can send (deep nesting, huge numbers, NaN, invalid UTF-8) is a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MESSAGE = "/api/v1/claw/support_bot/sessions/k/message"
START = "/api/v1/forge/code_builder/start"
ENDPOINTS = [
    MESSAGE,
    "/api/v1/claw/support_bot/compact",
    "/api/v1/agent/ask",
    START,
    "/api/v1/admin/disable",
    "/api/v1/admin/enable",
    "/api/v1/confirm",
]


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        (
            START,
            {"max_iteration": 3},
            "unknown field 'max_iteration' (this endpoint takes: max_iterations, max_cost)",
        ),
        (START, {"max_iterations": "3"}, "max_iterations: Input should be a valid integer"),
        (START, {"max_iterations": True}, "max_iterations: Input should be a valid integer"),
        (START, {"max_iterations": 2.0}, "max_iterations: Input should be a valid integer"),
        (START, {"max_cost": "5"}, "max_cost: Input should be a valid number"),
        (MESSAGE, {"message": "hi", "session": "x"}, "unknown field 'session'"),
        (MESSAGE, {"message": 42}, "message: Input should be a valid string"),
        ("/api/v1/claw/support_bot/compact", {"session": "k"}, "unknown field 'session'"),
        ("/api/v1/agent/ask", {"agent": "Assistant", "query": "q"}, "unknown field 'agent'"),
        ("/api/v1/confirm", {"id": "x", "approved": "yes"}, "approved: Input should be a valid"),
        ("/api/v1/confirm", {"id": 7, "approved": True}, "id: Input should be a valid string"),
    ],
)
def test_unknown_fields_and_wrong_types_are_named(demo, llm, path, body, needle) -> None:
    c = demo().client
    r = c.post(path, json=body)
    assert r.status_code == 400, r.text
    assert needle in r.json()["error"]
    assert llm.requests == []  # nothing ran with defaults
    assert c.get("/api/v1/forge/code_builder/status").json()["running"] is False


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 32 levels deep"),
        (b'{"message": ' + b"[" * 40 + b"]" * 40 + b"}", "nested more than 32 levels deep"),
        (b'{"max_iterations": ' + b"9" * 5000 + b"}", "more than 30 digits"),
        (b'{"max_cost": 1e999}', "is too large"),
        (b'{"max_cost": NaN}', "NaN is not a JSON number"),
        (b'{"max_cost": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"message": "\xff\xfe"}', "not valid JSON"),
        (b"\x00", "not valid JSON"),
    ],
)
def test_json_the_parser_cannot_handle_is_400(demo, raw, needle) -> None:
    c = demo().client
    for path in (MESSAGE, START):
        r = c.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (path, r.text[:200])
        assert needle in r.json()["error"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ["message", "session_key", "agent_id", "query", "max_iterations", "max_cost", "agent",
          "reason", "id", "approved", "approve", "decision", "extra"]  # fmt: skip
BODIES = st.one_of(
    st.binary(max_size=200),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=4).map(
        lambda d: json.dumps(d).encode()
    ),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 3000).map(lambda n: b'{"message": ' + b"9" * n + b"}"),
    st.sampled_from([b"NaN", b"1e99999", b'{"max_cost": Infinity}', b"\xc3\x28", b"{}", b""]),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.sampled_from(ENDPOINTS), BODIES)
def test_no_body_is_a_server_error(demo_server, path: str, raw: bytes) -> None:
    r = demo_server.client.post(path, content=raw)
    assert r.status_code < 500 or r.status_code == 503, (path, raw[:100], r.text[:300])
    body = r.json()
    assert isinstance(body, dict)
    if r.status_code >= 400:
        assert isinstance(body["error"], str) and "Traceback" not in body["error"]


@pytest.fixture
def demo_server(demo):
    return demo()
