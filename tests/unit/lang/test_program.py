"""Program: declarations by kind as plain data, lookups, load_program."""

from __future__ import annotations

from pathlib import Path

import pytest
from neam.lang import NeamCompileError, compile_source, load_program

SRC = """
skill s { description: "d" params: { q: string } sensitive: true impl(q) { return q; } }
guard g1 { description: "one" on_observation(t) { return t; } }
guard g2 { description: "two" on_result(r) { return r; } }
guardchain inner = [g2];
guardchain chain = [g1, inner];
channel web { type: "http", port: 8080 }
fun check_it(ctx) { return true; }
struct Point { x: number, y: number }
trait Named { fn name(self); }
agent plain { provider: "ollama" model: "llama3" api_key_env: "KEY" base_url: "http://x" }
claw agent helper { provider: "openai" model: "gpt-4o" guards: [chain] channels: [web]
  session { max_history_turns 5 } semantic_memory: { search: "vector" } }
forge agent builder { provider: "openai" model: "gpt-4o" verify: check_it checkpoint: "none"
  loop { max_iterations 3 max_cost 1.5 progress_file "p.jsonl" } }
impl Named for Point { fn name(self) { return "p"; } }
impl Monitorable for helper { fn baseline(self) { return {}; } fn on_anomaly(self, e) { } }
emit "top";
"""


def test_program_tables() -> None:
    result = compile_source(SRC, "p.neam")
    prog = result.program
    assert prog is not None, result.format()
    assert list(prog.agents) == ["plain"]
    assert list(prog.claw_agents) == ["helper"] and list(prog.forge_agents) == ["builder"]
    helper = prog.claw_agents["helper"]
    assert (helper.kind, helper.line, helper.column) == ("claw", 12, 12)
    assert helper.config["session"] == {"max_history_turns": 5}
    assert helper.config["guards"] == ["chain"] and helper.config["channels"] == ["web"]
    assert prog.forge_agents["builder"].config["loop"] == {
        "max_iterations": 3,
        "max_cost": 1.5,
        "progress_file": "p.jsonl",
    }
    assert prog.agents["plain"].config["api_key_env"] == "KEY"
    skill = prog.skills["s"]
    assert (skill.description, skill.params, skill.sensitive) == ("d", {"q": "string"}, True)
    assert skill.impl is not None and [p.name for p in skill.impl.params] == ["q"]
    assert prog.guards["g1"].description == "one" and list(prog.guards["g1"].handlers) == [
        "on_observation"
    ]
    assert prog.guardchains == {"inner": ["g2"], "chain": ["g1", "inner"]}
    assert prog.resolve_guards(["chain"]) == ["g1", "g2"]
    assert prog.channels["web"].config == {"type": "http", "port": 8080}
    assert list(prog.functions) == ["check_it"]
    assert prog.structs["Point"].fields == {"x": "number", "y": "number"}
    assert list(prog.traits["Named"].methods) == ["name"]
    assert [(i.trait, i.target) for i in prog.impls] == [
        ("Named", "Point"),
        ("Monitorable", "helper"),
    ]
    assert prog.traits_of("helper") == ["Monitorable"]
    assert prog.impl_for("helper", "Monitorable") is prog.impls[1]
    assert prog.agent("builder") is prog.forge_agents["builder"]
    assert prog.agent("nobody") is None
    assert len(prog.toplevel) == 1
    assert len(prog.source_hash) == 64


def test_load_program_raises_formatted_compile_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.neam"
    path.write_text('agent a {\n  provider: "p"\n}\n')
    with pytest.raises(NeamCompileError) as info:
        load_program(path)
    assert str(info.value) == (
        f"{path}:1:7: error: agent 'a' is missing required field 'model'\n agent a {{\n       ^"
    )
    assert [d.code for d in info.value.diagnostics] == ["missing-field"]


def test_load_program_from_source(tmp_path: Path) -> None:
    path = tmp_path / "ok.neam"
    path.write_text(SRC)
    assert "helper" in load_program(path).claw_agents
