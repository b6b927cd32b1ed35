"""Monitorable through neam-api: a slow reply from the stub LLM is an anomaly, and
``GET /api/v1/admin/status`` shows the observed values next to the baseline."""

from __future__ import annotations

from tests.support.llm_stubs import FAST_RETRY_ENV

PROGRAM = """
claw agent support_bot {
  provider: "openai"
  model: "gpt-4o"
  system: "Support."
}

agent Assistant {
  provider: "openai"
  model: "gpt-4o-mini"
}

impl Monitorable for support_bot {
  fn baseline(self) {
    return { "avg_tool_calls": 2, "avg_response_time_ms": 300 };
  }
  fn on_anomaly(self, event) {
    workspace_append("anomalies.txt", event.metric + " " + event.session_key + "\\n");
    return nil;
  }
}
"""
ADMIN = {"Authorization": "Bearer admin"}


def test_admin_status_shows_observed_values_next_to_the_baseline(api_server, llm, tmp_path):
    program = tmp_path / "monitored.neam"
    program.write_text(PROGRAM)
    server = api_server(
        program=program, env={**llm.env(), **FAST_RETRY_ENV}, admin_keys=("admin",)
    ).wait_loaded()
    c = server.client
    before = c.get("/api/v1/admin/status", headers=ADMIN).json()
    monitors = {a["name"]: a["monitor"] for a in before["agents"]}
    assert monitors["support_bot"]["baseline"] == {
        "avg_tool_calls": 2,
        "avg_response_time_ms": 300,
    }
    assert monitors["support_bot"]["observed"] == {} and monitors["support_bot"]["anomalies"] == 0
    assert monitors["Assistant"]["monitorable"] is False
    assert monitors["Assistant"]["baseline"] is None

    llm.reply("thinking hard", delay=1.0)
    r = c.post("/api/v1/claw/support_bot/sessions/slow/message", json={"message": "hm?"})
    assert r.status_code == 200
    status = c.get("/api/v1/admin/status", headers=ADMIN).json()
    monitor = {a["name"]: a["monitor"] for a in status["agents"]}["support_bot"]
    observed = monitor["observed"]
    assert observed["turn"] == 1 and observed["avg_tool_calls"] == 0
    assert monitor["anomalies"] == 1  # the reply took a second: over twice the 300 ms
    assert monitor["last_anomaly"]["metric"] == "response_time_ms"
    assert observed["avg_response_time_ms"] == monitor["last_anomaly"]["value"]
    assert monitor["last_anomaly"]["session_key"] == "slow"
    written = (tmp_path / "workspace" / "support_bot" / "anomalies.txt").read_text()
    assert "response_time_ms slow" in written.splitlines()
