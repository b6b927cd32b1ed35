"""Checker: one test per diagnostic, asserting its code, position and message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from neam.lang import Diagnostic, compile_source

P = 'provider: "openai" model: "gpt-4o"'
BASE = f"""skill s {{ description: "d" params: {{ q: string }} impl(q) {{ return q; }} }}
guard g {{ description: "g" on_observation(t) {{ return t; }} }}
guardchain gc = [g];
channel ch {{ type: "http" }}
fun v(ctx) {{ return true; }}
claw agent c {{ {P} }}
"""  # 6 lines; test sources start at line 7


def diags(src: str) -> list[Diagnostic]:
    return compile_source(BASE + src, "x.neam").diagnostics


M = "\u2038"  # marks where the diagnostic must point; removed before compiling

CASES = [
    # (source with the marker, code, message)
    (
        'skill {M}s { description: "d" impl() { return 1; } }',
        "duplicate-declaration",
        "duplicate declaration of 's' (first declared at line 1:7)",
    ),
    (
        f"agent {M}c {{ {P} }}",
        "duplicate-declaration",
        "duplicate declaration of 'c' (first declared at line 6:12)",
    ),
    (
        f'agent a {{ {P}\n  {M}model: "x" }}',
        "duplicate-field",
        "duplicate field 'model' in agent 'a' (first at line 7:30)",
    ),
    (f'agent a {{ {P} {M}modle: "x" }}', "unknown-field", "unknown field 'modle' in agent 'a'"),
    (
        f"claw agent a {{ {P}\n  {M}loop: {{ max_iterations: 3 }} }}",
        "field-not-allowed",
        "field 'loop' is only allowed on forge agents, not in claw agent 'a'",
    ),
    (
        f'forge agent a {{ {P} verify: v\n  {M}session {{ compaction: "auto" }} }}',
        "field-not-allowed",
        "field 'session' is only allowed on claw agents, not in forge agent 'a'",
    ),
    (
        'claw agent {M}a { model: "m" }',
        "missing-field",
        "claw agent 'a' is missing required field 'provider'",
    ),
    (
        'agent {M}a { provider: "p" }',
        "missing-field",
        "agent 'a' is missing required field 'model'",
    ),
    (
        f"forge agent {M}a {{ {P} }}",
        "missing-field",
        "forge agent 'a' is missing required field 'verify'",
    ),
    (f'agent a {{ {P} temperature: {M}"hot" }}', "field-type", "'temperature' must be a number"),
    (
        f"agent a {{ {P} temperature: {M}3.5 }}",
        "field-range",
        "'temperature' must be at most 2, got 3.5",
    ),
    (f"agent a {{ {P} max_tokens: {M}0 }}", "field-range", "'max_tokens' must be positive, got 0"),
    (
        f'claw agent a {{ {P}\n  session: {{ compaction: {M}"sometimes" }} }}',
        "field-range",
        '\'compaction\' must be one of "auto", "manual", "disabled", not "sometimes"',
    ),
    (
        f"claw agent a {{ {P}\n  session {{ idle_reset_minutes {M}-5 }} }}",
        "field-range",
        "'idle_reset_minutes' must be positive, got -5",
    ),
    (
        f"claw agent a {{ {P}\n  session {{ max_history_turns: {M}2.5 }} }}",
        "field-type",
        "'max_history_turns' must be a positive integer",
    ),
    (
        f'claw agent a {{ {P}\n  semantic_memory: {{ search: {M}"fuzzy" }} }}',
        "field-range",
        '\'search\' must be one of "keyword", "vector", "hybrid", "none", not "fuzzy"',
    ),
    (
        f'forge agent a {{ {P} verify: v checkpoint: {M}"svn" }}',
        "field-range",
        '\'checkpoint\' must be one of "git", "snapshot", "none", not "svn"',
    ),
    (
        f"forge agent a {{ {P} verify: v\n  loop: {{ max_cost: {M}-1.0 }} }}",
        "field-range",
        "'max_cost' must be positive, got -1.0",
    ),
    (
        f'forge agent a {{ {P} verify: v\n  loop: {{ max_iterations: 10 {M}plan: "p" }} }}',
        "unknown-field",
        "unknown field 'plan' in 'loop' of forge agent 'a'",
    ),
    (
        f"agent a {{ {P} skills: [s, {M}nope] }}",
        "unknown-skill",
        "unknown skill 'nope' in 'skills'",
    ),
    (
        f"agent a {{ {P} skills: {M}s }}",
        "field-type",
        "'skills' must be a list of names, e.g. [a, b]",
    ),
    (
        f"agent a {{ {P} guards: [gc, g, {M}nope] }}",
        "unknown-guard",
        "unknown guard or guardchain 'nope' in 'guards'",
    ),
    (
        "guardchain bad = [g, {M}missing];",
        "unknown-guard",
        "unknown guard 'missing' in guardchain 'bad'",
    ),
    (
        f"agent a {{ {P} channels: [ch, {M}telegram] }}",
        "unknown-channel",
        "unknown channel 'telegram' in 'channels'",
    ),
    (
        f"forge agent a {{ {P} verify: {M}check_it }}",
        "unknown-function",
        "unknown function 'check_it' in 'verify'",
    ),
    ('let r = spawn {M}ghost("task");', "unknown-agent", "unknown agent 'ghost' in spawn"),
    ('let r = spawn({M}"ghost", "task");', "unknown-agent", "unknown agent 'ghost' in spawn"),
    (
        'let r = dag_execute([{"id": "a", "agent": "c"},\n  {"id": "b", "agent": {M}"ghost"}]);',
        "unknown-agent",
        "unknown agent 'ghost' in dag_execute",
    ),
    (
        'let r = dag_execute([{"id": "a", "agent": "c", "depends_on": [{M}"zz"]}]);',
        "dag-node",
        "dag_execute node depends on unknown id 'zz'",
    ),
    (
        "impl {M}Loggable for c { fn log(self) { return 1; } }",
        "unknown-trait",
        "unknown trait 'Loggable'",
    ),
    (
        "impl Monitorable for {M}ghost {\n  fn baseline(self) { return 1; }\n"
        "  fn on_anomaly(self, e) { return e; } }",
        "unknown-impl-target",
        "unknown agent or struct 'ghost' in impl Monitorable",
    ),
    (
        "impl {M}Monitorable for c { fn baseline(self) { return {}; } }",
        "missing-trait-method",
        "impl Monitorable for c is missing method 'on_anomaly'",
    ),
    (
        f"forge agent f {{ {P} verify: v }}\n"
        "impl {M}Schedulable for f { fn on_heartbeat(self) { } }",
        "trait-not-allowed",
        "Schedulable cannot be implemented for forge agent 'f' (claw agents only)",
    ),
    (
        f"agent p {{ {P} }}\nimpl {M}Channelable for p {{ fn on_message(self, m) {{ }} }}",
        "trait-not-allowed",
        "Channelable cannot be implemented for agent 'p' (claw agents only)",
    ),
    (
        f"forge agent f {{ {P}\n  verify: fun(ctx) {{ {M}break; }} }}",
        "break-outside-loop",
        "'break' outside a loop",
    ),
    (
        f"agent a {{ {P} skills: [s]\n  system: {M}fun(x) {{ return x; }} }}",
        "field-type",
        "'system' must be a string",
    ),
    (
        f'claw agent a {{ {P}\n  semantic_memory: {{ {M}serach: "hybrid" }} }}',
        "unknown-field",
        "unknown field 'serach' in 'semantic_memory' of claw agent 'a'",
    ),
    (
        f"claw agent a {{ {P}\n  lanes: {{ main: {{ concurrency: {M}0 }} }} }}",
        "field-range",
        "'concurrency' must be positive, got 0",
    ),
    (
        f"forge agent f {{ {P} verify: v\n  {M}channels: [ch] }}",
        "field-not-allowed",
        "field 'channels' is only allowed on claw agents, not in forge agent 'f'",
    ),
    (
        f"{M}clow agent x {{ {P} }}",
        "unknown-name",
        "'clow' is not a keyword, declaration or variable",
    ),
    (
        "{M}runer R { entry_agent: c }",
        "unknown-declaration",
        "unknown declaration kind 'runer' (expected agent, skill, guard, channel, struct, ...)",
    ),
    (
        f"agent a {{ {P} budget: {M}Money }}",
        "unknown-reference",
        "unknown budget 'Money' in 'budget'",
    ),
    (
        "runner R { entry_agent: {M}nobody max_turns: 3 }",
        "unknown-agent",
        "unknown agent 'nobody' in 'entry_agent'",
    ),
    (
        f'agent a {{ {P} handoffs: [c, handoff_to({M}ghost) {{ tool_name: "t" }}] }}',
        "unknown-agent",
        "unknown agent 'ghost' in 'handoffs'",
    ),
    (
        f"agent a {{ {P} connected_knowledge: [{M}Wiki] }}",
        "unknown-reference",
        "unknown knowledge 'Wiki' in 'connected_knowledge'",
    ),
    (
        "runner R { entry_agent: c max_turns: {M}0 }",
        "field-range",
        "'max_turns' must be positive, got 0",
    ),
    (
        "trait Named { fn name(self); fn hello(self) { return 1; } }\n"
        "impl Named for c { fn name(self) { return 1; } fn {M}extra(self) { return 2; } }",
        "unknown-trait-method",
        "method 'extra' is not part of trait 'Named'",
    ),
    (
        "impl {M}Schedulable for c { fn heartbeat_interval(self) { return 60; } }",
        "missing-trait-method",
        "impl Schedulable for c must define at least one of: "
        "on_heartbeat, heartbeat, on_schedule, schedule, cron, on_cron",
    ),
    (
        "trait Named { fn name(self); }\nimpl {M}Named for c { }",
        "missing-trait-method",
        "impl Named for c is missing method 'name'",
    ),
    (
        "impl Monitorable for c {\n  fn baseline(self) { return 1; }\n"
        "  fn on_anomaly(self, e) { return e; }\n}\n"
        "impl {M}Monitorable for c {\n  fn baseline(self) { return 1; }\n"
        "  fn on_anomaly(self, e) { return e; }\n}",
        "duplicate-impl",
        "duplicate impl Monitorable for c (first at line 7:6)",
    ),
    (
        'guard h { description: "d"\n  {M}on_input(t) { return t; } }',
        "unknown-handler",
        "unknown guard handler 'on_input' in guard 'h' (expected one of on_observation, "
        "on_action, on_tool_input, on_tool_output, on_tool_call, on_result)",
    ),
    (
        'guard h { description: "d" on_result(t) { return t; }\n  {M}on_result(t) { return t; } }',
        "duplicate-method",
        "duplicate handler 'on_result' in guard 'h'",
    ),
    (
        "trait Named { fn name(self); fn {M}name(self); }",
        "duplicate-method",
        "duplicate method 'name' in trait 'Named'",
    ),
    (
        "trait Named { fn name(self); }\n"
        "impl Named for c { fn name(self) { return 1; } fn {M}name(self) { return 2; } }",
        "duplicate-method",
        "duplicate method 'name' in impl",
    ),
    (
        'skill {M}t { description: "d" params: { q: string } }',
        "missing-impl",
        "skill 't' has no impl(...)",
    ),
    (
        'skill t { description: "d" params: { q: {M}3 } impl(q) { return q; } }',
        "field-type",
        "parameter 'q' must be a type name",
    ),
    ('emit {M}Asistant.ask("q");', "unknown-agent", "unknown agent 'Asistant' in Asistant.ask()"),
    ("fun f() {\n  {M}break;\n}", "break-outside-loop", "'break' outside a loop"),
    ("fun f() { if true { {M}continue; } }", "continue-outside-loop", "'continue' outside a loop"),
    (
        "let deep = " + "[" * 199 + "{M}[" + "]" * 200 + ";",
        "too-deep",
        "nested more than 200 levels deep (blocks, expressions or values inside each other)",
    ),
]
CASES = [(src.replace("{M}", M), code, msg) for src, code, msg in CASES]


def marker_position(src: str) -> tuple[int, int]:
    text = BASE + src
    before = text[: text.index(M)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


@pytest.mark.parametrize(
    ("src", "code", "message"), CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)]
)
def test_diagnostic(src: str, code: str, message: str) -> None:
    line, column = marker_position(src)
    found = [d for d in diags(src.replace(M, "")) if d.severity == "error"]
    assert [(d.line, d.column, d.code, d.message) for d in found] == [(line, column, code, message)]


def test_every_checker_code_is_tested() -> None:
    from neam.lang import checker

    documented = {c.strip(" ,.\n") for c in checker.__doc__.split("Codes:")[1].split(",")}
    tested = {c[1] for c in CASES} | {"skill-params", "not-forge", "unknown-name"}
    assert documented <= tested, documented - tested


def test_warnings_are_separate_and_do_not_fail() -> None:
    src = (
        "skill w { params: { a: string, b: string } impl(a) { return a; } }\n"
        f'claw agent m {{ {P} semantic_memory: {{ search: "hybrid" }} channels: [s] }}'
    )
    result = compile_source(BASE + src, "x.neam")
    assert result.ok and result.program is not None
    assert result.errors == []
    got = [(d.line, d.column, d.code) for d in result.warnings]
    assert got == [(7, 7, "missing-field"), (7, 44, "skill-params"), (8, 100, "unknown-channel")]


def test_all_errors_are_reported_in_one_run() -> None:
    src = (
        'claw agent a { provider: "p" model: "m" skills: [x1]\n'
        '  session { compaction: "no" } }\n'
        'forge agent b { provider: "p" model: "m" verify: nofn checkpoint: "tape" }\n'
    )
    result = compile_source(src, "multi.neam")
    assert not result.ok and result.program is None
    assert [(d.line, d.code) for d in result.errors] == [
        (1, "unknown-skill"),
        (2, "field-range"),
        (3, "unknown-function"),
        (3, "field-range"),
    ]


def test_diagnostic_format_json_and_str() -> None:
    src = 'agent a { provider: "p"\n  model: 42 }'
    (d,) = compile_source(src, "f.neam").errors
    assert str(d) == "f.neam:2:10: error: 'model' must be a string"
    assert d.format(src) == (
        "f.neam:2:10: error: 'model' must be a string\n   model: 42 }\n          ^^"
    )
    data = json.loads(json.dumps(d.to_dict()))
    assert data == {
        "file": "f.neam",
        "line": 2,
        "column": 10,
        "end_line": 2,
        "end_column": 12,
        "severity": "error",
        "code": "field-type",
        "message": "'model' must be a string",
    }
    assert Diagnostic.from_dict(data) == d


def test_seed_style_program_is_clean() -> None:
    result = compile_source(BASE + '{ let r = spawn c("x"); emit r; }', "x.neam")
    assert result.ok and result.diagnostics == []


def test_call_warnings() -> None:
    src = (
        "fun gg(agent_var) { return agent_var.run(); }\n"
        "emit c.run();\n"
        'let v = c; emit v.ask("x"); emit gg(c); emit len([1]);\n'
    )
    result = compile_source(BASE + src, "x.neam")
    assert result.ok, result.format()
    assert [(d.line, d.column, d.code, d.message) for d in result.warnings] == [
        (8, 6, "not-forge", "'c' is not a forge agent; only forge agents have .run()"),
    ]


@pytest.mark.parametrize(
    "methods",
    [
        "fn on_heartbeat(self) { return nil; }",
        'fn cron(self) { return "0 9 * * *"; } fn heartbeat_interval(self) { return 30; }',
    ],
)
def test_builtin_traits_accept_any_of_their_hooks(methods: str) -> None:
    result = compile_source(BASE + f"impl Schedulable for c {{ {methods} }}", "x.neam")
    assert result.ok and result.diagnostics == [], result.format()


WIDER = """
knowledge Docs {
  vector_store: "usearch", chunk_size: 64, sources: [{ type: "file", path: "a.md" }]
}
budget Limits { api_calls: 30 tokens: 1000 }
extern skill shell {
  description: "host shell"
  params: { cmd: string }
  binding: host_builtin { type: "bash" }
}
fun allowed() { return true; }
agent Billing { provider: "ollama" model: "m" }
agent Front {
  provider: "ollama"
  model: "m"
  skills: [s, shell]
  handoffs: [Billing, handoff_to(c) { tool_name: "chat" is_enabled: allowed() }]
  connected_knowledge: [Docs]
  budget: Limits
  max_retries: 2
}
runner Desk { entry_agent: Front max_turns: 4 tracing: enabled input_guardrails: [gc] }
claw agent talker {
  provider: "openai" model: "gpt-4o" channels: [ch] lanes: { main: { concurrency: 2 } }
}
impl Orchestrable for talker { fn on_spawn(self, child) { return nil; } }
let budget = 3;
budget = budget - 1;
{ let r = Desk.run("hi"); emit r["final_output"]; }
"""


def test_wider_neam_declarations_and_fields_check_clean() -> None:
    """runner/knowledge/budget/extern skill, handoffs and the like are accepted and resolved."""
    result = compile_source(BASE + WIDER, "x.neam")
    assert result.ok and result.diagnostics == [], result.format()
    front = result.program.agents["Front"].config
    assert front["handoffs"][0] == "Billing"
    assert front["handoffs"][1]["call"] == "handoff_to"
    assert front["handoffs"][1]["args"] == ["c"]
    assert front["handoffs"][1]["config"]["tool_name"] == "chat"
    assert result.program.skills["shell"].impl is None


def test_channel_naming_another_declaration_is_a_warning() -> None:
    result = compile_source(BASE + f"claw agent b {{ {P} channels: [s] }}", "x.neam")
    assert result.ok, result.format()
    assert [(d.line, d.column, d.code) for d in result.warnings] == [(7, 62, "unknown-channel")]


MODULES = """
module demo.app;
use std.text;
import std.voice.budget as vb;
pub fun shout(s) { return text.upper(s) + "!"; }
pub agent Helper { provider: "ollama" model: "m" reasoning: chain_of_thought goals: ["a"] }
agent Reflective {
  provider: "ollama" model: "m"
  reflect: { after: each_response evaluate: [accuracy] min_confidence: 0.7 }
  learning: { strategy: "experience_replay" } initiative: true
}
test "shout adds a bang" {
  assert_eq(shout("hi"), "HI!");
  let b = vb.default_budget();
}
let test = 1; let pub = 2; let use = 3;
test = test + pub + use;
"""


def test_inline_verify_function_is_checked_and_callable(tmp_path: Any) -> None:
    from neam.lang import Interpreter

    src = (
        'claw agent helper { provider: "openai" model: "m" channels: [] policy: Strict'
        ' mode: "claw" }\n'
        "policy Strict { max_tool_calls: 3 }\n"
        'forge agent builder {\n  provider: "openai"\n  model: "gpt-4o"\n'
        '  verify: fun(ctx) {\n    if (ctx.iteration > 2) { return "abort"; }\n'
        "    return ctx.iteration == 2;\n  }\n}\n"
    )
    result = compile_source(src, "x.neam")
    assert result.ok and result.diagnostics == [], result.format()
    prog = result.program
    assert prog.forge_agents["builder"].config["verify"] == "builder.verify"
    interp = Interpreter(prog)
    assert interp.call_function("builder.verify", [{"iteration": 2}]) is True
    assert interp.call_function("builder.verify", [{"iteration": 3}]) == "abort"


def test_module_words_tests_and_cognitive_fields_check_clean() -> None:
    result = compile_source(MODULES, "x.neam")
    assert result.ok and result.diagnostics == [], result.format()
    assert "shout" in result.program.functions and "Helper" in result.program.agents


SPEC_STYLE = """
guard g { on_observation(t) { return t; } }
guardchain SafetyChain = [g];
skill SavePreference {
  description: "Save a user preference",
  params: [
    { name: "key", schema: { "type": "string" } },
    { name: "value", schema: { "type": "string" } }
  ],
  impl: fun(key, value) {
    return f"Saved: {key} = {value}";
  }
}
fun exec(cmd, timeout) { return cmd + ":" + str(timeout); }
agent A { provider: "openai", model: "m", guardchains: [SafetyChain], skills: [SavePreference] }
emit exec("npm test", timeout: 60000);
"""


def test_spec_style_skill_impl_field_named_arguments_and_guardchains() -> None:
    from neam.lang import Interpreter

    result = compile_source(SPEC_STYLE, "x.neam")
    assert result.ok and result.diagnostics == [], result.format()
    prog = result.program
    assert prog.skills["SavePreference"].params == {"key": "string", "value": "string"}
    assert prog.skills["SavePreference"].impl is not None
    assert prog.agents["A"].config["guards"] == ["SafetyChain"]
    out: list[Any] = []
    interp = Interpreter(prog, emit=out.append)
    interp.run_toplevel()
    assert out == ["npm test:60000"]
    assert interp.call_skill("SavePreference", {"key": "k", "value": "v"}) == "Saved: k = v"


def test_params_list_entries_need_a_name() -> None:
    src = 'skill s { description: "d" params: [{ type: "string" }] impl(q) { return q; } }'
    result = compile_source(src, "x.neam")
    assert [(d.line, d.column, d.code) for d in result.errors] == [(1, 37, "field-type")]
