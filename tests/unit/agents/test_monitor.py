"""Monitorable: the runtime records what each agent does and calls on_anomaly when an
observation breaks the baseline's rule (more than 2x an avg_ value, above a max_)."""

from __future__ import annotations

import json

from neam.agents.monitor import ANOMALY_FACTOR, rules

PROGRAM = """
skill lookup {
  description: "Look something up"
  params: { q: string }
  impl(q) { return "found " + q; }
}

claw agent bot {
  provider: "openai"
  model: "stub-model"
  skills: [lookup]
}

agent plain {
  provider: "openai"
  model: "stub-model"
}

fun ok(ctx) { return ctx.iteration >= 3; }

forge agent builder {
  provider: "openai"
  model: "stub-model"
  verify: ok
}

impl Monitorable for bot {
  fn baseline(self) {
    return { "avg_response_time_ms": 250, "max_tool_calls": 1, "note": "kept" };
  }
  fn on_anomaly(self, event) {
    emit "ALERT " + json_stringify(event);
    return nil;
  }
}

impl Monitorable for builder {
  fn baseline(self) { return { "avg_iterations": 1, "avg_cost": 100 }; }
  fn on_anomaly(self, event) { emit "ALERT " + json_stringify(event); }
}
"""

BROKEN = """
claw agent bot {
  provider: "openai"
  model: "stub-model"
}
impl Monitorable for bot {
  fn baseline(self) { return 1 / 0; }
  fn on_anomaly(self, event) { emit "never"; }
}
agent loud {
  provider: "openai"
  model: "stub-model"
}
impl Monitorable for loud {
  fn baseline(self) { return { "max_tool_calls": 0, "avg_response_time_ms": 0 }; }
  fn on_anomaly(self, event) { return 1 / 0; }
}
"""


def alerts(emitted: list) -> list[dict]:
    return [json.loads(e[len("ALERT ") :]) for e in emitted if str(e).startswith("ALERT ")]


def test_rules_read_avg_max_and_bare_metric_keys() -> None:
    found = {
        r.key: (r.metric, r.limit)
        for r in rules(
            {
                "avg_tool_calls": 3,
                "max_response_time_ms": 900,
                "cost": 0.5,
                "avg_unknown": 1,
                "max_tool_calls": -1,
                "avg_iterations": True,
                "note": "text",
            }
        )
    }
    assert ANOMALY_FACTOR == 2
    assert found == {
        "avg_tool_calls": ("tool_calls", 6),
        "max_response_time_ms": ("response_time_ms", 900),
        "cost": ("cost", 1.0),
    }


def test_a_slow_reply_is_an_anomaly_with_a_map_describing_it(make_runtime, stub) -> None:
    emitted: list = []
    rt = make_runtime(PROGRAM, emit=emitted.append)
    stub.reply("slow answer", delay=1.0)
    assert rt.ask("bot", "slow", "take your time") == "slow answer"
    slow = [a for a in alerts(emitted) if a["session_key"] == "slow"]
    assert len(slow) == 1
    event = slow[0]
    assert event["agent"] == "bot" and event["metric"] == "response_time_ms"
    assert event["value"] == rt.monitor.status("bot")["observed"]["last_response_time_ms"]
    assert (event["baseline_key"], event["baseline"], event["limit"]) == (
        "avg_response_time_ms",
        250,
        500,
    )
    assert event["rule"] == "more than 2x avg_response_time_ms (500)"
    assert event["scope"] == "turn" and isinstance(event["ts"], float)


def test_a_slow_scripted_reply_is_an_anomaly_offline(make_runtime, tmp_path) -> None:
    replies = tmp_path / "slow.json"
    replies.write_text(json.dumps({"replies": [{"text": "at last", "delay_ms": 600}]}))
    source = (
        'claw agent slow { provider: "scripted" model: "gpt-4o" scripted_file: "FILE" }\n'
        "impl Monitorable for slow {\n"
        '  fn baseline(self) { return { "avg_response_time_ms": 200 }; }\n'
        '  fn on_anomaly(self, event) { emit "ALERT " + json_stringify(event); }\n'
        "}\n"
    ).replace("FILE", str(replies))
    emitted: list = []
    rt = make_runtime(source, emit=emitted.append)
    assert rt.ask("slow", "k", "hello?") == "at last"
    [event] = alerts(emitted)  # the reply took 600 ms: more than twice the 200 ms baseline
    assert (event["metric"], event["limit"]) == ("response_time_ms", 400)
    assert rt.monitor.status("slow")["observed"]["last_response_time_ms"] == event["value"]


def test_tool_calls_above_the_max_are_anomalies(make_runtime, stub) -> None:
    emitted: list = []
    rt = make_runtime(PROGRAM, emit=emitted.append)
    one = [{"name": "lookup", "arguments": {"q": "a"}}]
    stub.reply("", tool_calls=one)
    stub.reply("one lookup")
    rt.ask("bot", "k", "look once")
    assert not [a for a in alerts(emitted) if a["metric"] == "tool_calls"]
    stub.reply("", tool_calls=one * 2)
    stub.reply("two lookups")
    rt.ask("bot", "k", "look twice")
    [event] = [a for a in alerts(emitted) if a["metric"] == "tool_calls"]
    assert (event["value"], event["limit"], event["baseline_key"]) == (2, 1, "max_tool_calls")
    status = rt.monitor.status("bot")
    assert status["monitorable"] is True
    assert status["baseline"]["note"] == "kept"
    observed = status["observed"]
    assert observed["turn"] == 2
    assert (observed["avg_tool_calls"], observed["max_tool_calls"]) == (1.5, 2)
    assert observed["last_tool_calls"] == 2
    assert status["anomalies"] >= 1 and status["last_anomaly"]["agent"] == "bot"


def test_a_forge_run_with_more_than_twice_the_iterations_is_an_anomaly(make_runtime, stub):
    emitted: list = []
    rt = make_runtime(PROGRAM, emit=emitted.append)
    result = rt.run_forge("builder")
    assert (result.outcome, result.iterations) == ("completed", 3)
    [event] = [a for a in alerts(emitted) if a["scope"] == "run"]
    assert (event["metric"], event["value"], event["limit"]) == ("iterations", 3, 2)
    assert event["outcome"] == "completed"
    observed = rt.monitor.status("builder")["observed"]
    assert (observed["iteration"], observed["run"], observed["avg_iterations"]) == (3, 1, 3)
    assert observed["last_cost"] > 0
    # running it again only reports the completed run: nothing new is observed
    rt.run_forge("builder")
    assert rt.monitor.status("builder")["observed"]["run"] == 1


def test_every_agent_is_observed_and_broken_hooks_never_break_a_turn(make_runtime, stub):
    emitted: list = []
    rt = make_runtime(BROKEN, emit=emitted.append)
    assert rt.ask("bot", "k", "hi") == "echo: hi"
    status = rt.monitor.status("bot")
    assert status["baseline"] is None
    assert "baseline() failed" in status["baseline_error"]
    assert "division by zero" in status["baseline_error"]
    assert status["observed"]["turn"] == 1
    assert rt.ask_agent("loud", "hi") == "echo: hi"  # on_anomaly fails: logged, answered
    assert rt.monitor.status("loud")["anomalies"] == 1
    assert emitted == []
