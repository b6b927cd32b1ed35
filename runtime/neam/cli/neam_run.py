"""``neam``: run a Neam program's top-level code.

Usage::

    neam run FILE [--workspace DIR]     FILE is .neam (compiled on the fly) or .neamb

Each ``emit`` prints one line on stdout. Compile errors and runtime errors
(with their Neam traceback) go to stderr; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neam.lang import Interpreter, NeamCompileError, NeamRuntimeError, Program, load_program
from neam.lang.diagnostics import caret_snippet, source_lines
from neam.lang.host import AgentHost, NoAgentHost
from neam.lang.neamb import NeambError
from neam.lang.values import stringify


def make_host(program: Program) -> AgentHost:
    """The agent host for ``neam run``: the agent runtime when the program declares
    agents (directories from NEAM_WORKSPACE_DIR / NEAM_SESSIONS_DIR), else none."""
    if not (program.agents or program.claw_agents or program.forge_agents):
        return NoAgentHost()
    from neam.agents.runtime import AgentRuntime, default_dirs

    def emit(value: object) -> None:
        print(stringify(value), flush=True)

    return AgentRuntime(program, emit=emit, **default_dirs()).host


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neam", description="Run Neam programs.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the top-level code of a program")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--workspace", metavar="DIR", help="workspace for workspace_* natives")
    return parser


def _source_line(path: str, line: int) -> str | None:
    try:
        lines = source_lines(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return lines[line - 1] if 1 <= line <= len(lines) else None


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    try:
        program = load_program(args.file)
    except NeamCompileError as err:
        print(err, file=sys.stderr)
        return 1
    except (OSError, NeambError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else err
        print(f"neam: cannot load {args.file}: {reason}", file=sys.stderr)
        return 1
    try:
        host = make_host(program)
    except ValueError as err:  # a bad NEAM_* setting
        print(f"neam: {err}", file=sys.stderr)
        return 2
    interp = Interpreter(program, host=host, workspace=args.workspace)
    try:
        interp.run_toplevel()
    except NeamRuntimeError as err:
        print(err.format(), file=sys.stderr)
        text = _source_line(err.file, err.line)
        if text is not None:
            print(caret_snippet(text, err.column), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
