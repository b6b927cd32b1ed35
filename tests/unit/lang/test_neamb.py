"""The compiled form: round trip, versioning, source hash, loading without parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from neam.lang import Interpreter, compile_file, load_program
from neam.lang import parser as neam_parser
from neam.lang.neamb import (
    FORMAT_VERSION,
    NeambError,
    dumps,
    is_current,
    loads,
    read_neamb,
    write_neamb,
)
from neam.lang.program import source_hash

EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.mark.parametrize("name", ["agents.neam", "dag_research.neam", "hello.neam"])
def test_round_trip_is_identical(name: str) -> None:
    prog = compile_file(EXAMPLES / name).program
    assert prog is not None
    again = loads(dumps(prog))
    assert again == prog
    assert dumps(again) == dumps(prog)


def test_header_fields(tmp_path: Path) -> None:
    path = EXAMPLES / "agents.neam"
    prog = compile_file(path).program
    assert prog is not None
    out = tmp_path / "agents.neamb"
    write_neamb(prog, out)
    doc = json.loads(out.read_text())
    assert doc["format"] == "neamb"
    assert doc["version"] == FORMAT_VERSION
    assert doc["source_hash"] == source_hash(path.read_text()) == prog.source_hash
    assert doc["program"]["forge_agents"]["code_builder"]["config"]["verify"] == "verify_code"
    assert is_current(read_neamb(out), path)


def test_loading_neamb_does_not_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prog = compile_file(EXAMPLES / "hello.neam").program
    assert prog is not None
    out = tmp_path / "hello.neamb"
    write_neamb(prog, out)

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("parse called while loading .neamb")

    monkeypatch.setattr(neam_parser, "parse", no_parsing)
    monkeypatch.setattr(neam_parser._LARK, "parse", no_parsing)
    loaded = load_program(out)
    emitted: list[object] = []
    Interpreter(loaded, emit=emitted.append).run_toplevel()
    assert emitted[0].startswith("FizzBuzz 1-15: 1 2 Fizz")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("not json", "invalid JSON"),
        ('{"format": "other"}', "missing"),
        ('{"format": "neamb", "version": 99}', "format version 99"),
        ('{"format": "neamb", "version": 1, "program": {"_t": "Evil"}}', "unknown object type"),
        ('{"format": "neamb", "version": 1, "program": {"_t": "Name", "bad": 1}}', "malformed"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"format": "neamb", "n": ' + "9" * 5000 + "}", "invalid JSON"),
        (
            '{"format": "neamb", "version": 1, "program": '
            + '{"_t": "ListExpr", "items": [' * 3000
            + "]}" * 3000
            + "}",
            "nested too deeply",
        ),
    ],
)
def test_bad_files_are_refused(text: str, needle: str) -> None:
    with pytest.raises(NeambError) as info:
        loads(text)
    assert needle in str(info.value)


def test_tampered_hash_is_refused() -> None:
    prog = compile_file(EXAMPLES / "hello.neam").program
    assert prog is not None
    doc = json.loads(dumps(prog))
    doc["source_hash"] = "0" * 64
    with pytest.raises(NeambError, match="source hashes differ"):
        loads(json.dumps(doc))
