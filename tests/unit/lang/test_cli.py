"""neamc and neam: exit codes, JSON output, output paths, running programs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from neam.cli import neam_run, neamc
from neam.lang.host import NoAgentHost
from neam.lang.neamb import read_neamb

EXAMPLES = Path(__file__).parents[3] / "examples"
BAD = 'agent a { provider: "p" }\nlet x = spawn nobody("t");\n'


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.neam"
    path.write_text(BAD)
    return path


def test_check_clean_files_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in sorted(EXAMPLES.glob("*.neam"))]
    assert neamc.main(["check", *files]) == 0
    assert "OK" in capsys.readouterr().err


def test_check_errors_exit_1_with_caret(bad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert neamc.main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:1:7: error: agent 'a' is missing required field 'model'" in err
    assert f"{bad}:2:15: error: unknown agent 'nobody' in spawn" in err
    assert ' let x = spawn nobody("t");\n               ^^^^^^' in err


def test_check_json(bad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert neamc.main(["check", "--json", str(bad)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["errors"] == 2
    assert [(d["line"], d["column"], d["code"]) for d in doc["diagnostics"]] == [
        (1, 7, "missing-field"),
        (2, 15, "unknown-agent"),
    ]


@pytest.mark.parametrize("argv", [[], ["check"], ["frobnicate", "--x"], ["compile"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert neamc.main(argv) == 2


def test_compile_with_o_and_chapter_20_form(tmp_path: Path) -> None:
    src = EXAMPLES / "assistant.neam"
    out1 = tmp_path / "one.neamb"
    out2 = tmp_path / "src" / "main.neamb"
    assert neamc.main(["compile", str(src), "-o", str(out1)]) == 0
    assert neamc.main([str(src), "-o", str(out2)]) == 0
    assert read_neamb(out1) == read_neamb(out2)
    assert "Assistant" in read_neamb(out1).agents


def test_compile_output_dir(tmp_path: Path) -> None:
    files = [str(EXAMPLES / "agents.neam"), str(EXAMPLES / "hello.neam")]
    assert neamc.main(["compile", *files, "--output", f"{tmp_path}/bytecode/"]) == 0
    assert sorted(p.name for p in (tmp_path / "bytecode").iterdir()) == [
        "agents.neamb",
        "hello.neamb",
    ]


def test_compile_errors_write_nothing(bad: Path, tmp_path: Path) -> None:
    out = tmp_path / "bad.neamb"
    assert neamc.main(["compile", str(bad), "-o", str(out)]) == 1
    assert not out.exists()


def test_neam_run_prints_emits(capsys: pytest.CaptureFixture[str]) -> None:
    assert neam_run.main(["run", str(EXAMPLES / "hello.neam")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FizzBuzz 1-15: 1 2 Fizz 4 Buzz")
    assert lines[-2] == "Sum of even numbers up to 10: 30"


def test_neam_run_neamb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hello.neamb"
    assert neamc.main(["compile", str(EXAMPLES / "hello.neam"), "-o", str(out)]) == 0
    capsys.readouterr()
    assert neam_run.main(["run", str(out)]) == 0
    assert "FizzBuzz" in capsys.readouterr().out


def test_neam_run_agent_call_without_provider_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("what is up?\n"))
    monkeypatch.setattr(neam_run, "make_host", lambda program: NoAgentHost())
    assert neam_run.main(["run", str(EXAMPLES / "assistant.neam")]) == 1
    err = capsys.readouterr().err
    assert "assistant.neam:11:6: runtime error: Assistant.ask() needs the agent runtime" in err
    assert "Neam traceback" in err


def test_neam_run_compile_error(bad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert neam_run.main(["run", str(bad)]) == 1
    assert "missing required field 'model'" in capsys.readouterr().err


def test_neam_run_workspace_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = tmp_path / "w.neam"
    prog.write_text('workspace_write("out.txt", "hi");\nemit workspace_read("out.txt");\n')
    ws = tmp_path / "ws"
    ws.mkdir()
    assert neam_run.main(["run", str(prog), "--workspace", str(ws)]) == 0
    assert capsys.readouterr().out == "hi\n"
    assert (ws / "out.txt").read_text() == "hi"


def test_unreadable_file_is_a_read_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.neam"
    assert neamc.main(["check", "--json", str(missing)]) == 1
    (diag,) = json.loads(capsys.readouterr().out)["diagnostics"]
    assert (diag["code"], diag["line"], diag["column"]) == ("read-error", 1, 1)
    assert diag["message"] == "cannot read file: No such file or directory"


def test_neam_run_with_a_bad_call_timeout_setting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEAM_CALL_TIMEOUT_SECONDS", "soon")
    assert neam_run.main(["run", str(EXAMPLES / "assistant.neam")]) == 2
    err = capsys.readouterr().err
    assert err == "neam: NEAM_CALL_TIMEOUT_SECONDS must be a positive number of seconds: 'soon'\n"


def test_a_file_that_is_not_utf8_is_a_positioned_read_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "latin1.neam"
    bad.write_bytes('let a = 1;\nlet b = "caf\xe9";\n'.encode("latin-1"))
    assert neam_run.main(["run", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2:13: error: the file is not UTF-8 text (byte 0xe9)" in err
    assert "Traceback" not in err
    assert neamc.main(["check", str(bad)]) == 1
    assert f"{bad}:2:13: error: the file is not UTF-8 text" in capsys.readouterr().err


def test_neamc_cannot_write_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    target = blocker / "out.neamb"
    assert neamc.main(["compile", str(EXAMPLES / "hello.neam"), "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"neamc: cannot write {target}: ") and err.count("\n") == 1
