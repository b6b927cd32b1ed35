"""Compiling a ForgeRun's source and selecting its forge agent."""

from __future__ import annotations

import re

from neam.lang.neamb import loads
from neam_operator.program import Compiled, Rejected, compile_forge

from tests.support.operator_harness import BAD_PROGRAM, PROGRAM


def test_first_forge_agent_by_default() -> None:
    res = compile_forge(PROGRAM, "main.neam", None)
    assert isinstance(res, Compiled)
    assert (res.agent, res.max_iterations) == ("builder", 4)
    assert sorted(loads(res.neamb).forge_agents) == ["builder", "second"]
    assert res.program_hash == compile_forge(PROGRAM, "main.neam", None).program_hash


def test_named_agent() -> None:
    res = compile_forge(PROGRAM, "main.neam", "second")
    assert isinstance(res, Compiled) and res.agent == "second" and res.max_iterations is None


def test_unknown_agent() -> None:
    res = compile_forge(PROGRAM, "main.neam", "nobody")
    assert isinstance(res, Rejected) and res.reason == "AgentNotFound"
    assert "nobody" in res.message and "builder" in res.message


def test_compile_error_has_positions() -> None:
    res = compile_forge(BAD_PROGRAM, "main.neam", None)
    assert isinstance(res, Rejected) and res.reason == "CompileError"
    assert re.search(r"^main\.neam:\d+:\d+: error", res.message, re.MULTILINE), res.message
