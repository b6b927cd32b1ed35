"""Skills see the program's pure top-level ``let`` values; impure ones never run."""

from __future__ import annotations

from neam.agents.prelude import prelude_program
from neam.lang import compile_source

PROGRAM = """
let greeting = "Hello, ";
let punctuation = {"end": "!"};
let parts = [greeting, punctuation["end"]];
let reply = bot.ask("should not run at load");
const SUFFIX = " :" + str(len("ab") - 1);

skill greet {
  description: "Greet someone"
  params: { name: string }
  impl(name) { return greeting + name + punctuation["end"] + SUFFIX; }
}

claw agent bot {
  provider: "openai"
  model: "stub-model"
  skills: [greet]
}
"""


def test_skills_use_pure_top_level_lets(make_runtime, stub):
    rt = make_runtime(PROGRAM)
    stub.reply(tool_calls=[{"id": "c", "name": "greet", "arguments": {"name": "Ada"}}])
    stub.reply("done")
    assert rt.ask("bot", "k", "greet Ada") == "done"
    assert stub.requests[1].json["messages"][-1]["content"] == "Hello, Ada! :1"
    assert len(stub.requests) == 2  # the impure `let reply = bot.ask(...)` never ran


def test_purity():
    program = compile_source(PROGRAM, "p.neam").program
    kept = [stmt.name for stmt in prelude_program(program).toplevel]
    assert kept == ["greeting", "punctuation", "parts", "SUFFIX"]
