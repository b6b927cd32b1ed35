"""``neam-forge``: run one forge agent of a program from the command line.

Prints the outcome as one line of JSON on stdout (``outcome``, ``iterations``,
``total_cost``, ``message``); details go to stderr with ``--verbose``, problems
as one line each (a Python traceback only with ``--verbose``). Exit code 0 when
the loop completed, 1 otherwise (compile errors, unknown agent, a workspace in
use by another run, any other outcome). SIGTERM (and SIGINT) finish the
current iteration, then end the run ``aborted``. Inside a pod, progress also
goes to the status reporter from ``neam.report.reporter_from_env`` and the
outcome to ``$NEAM_TERMINATION_MESSAGE_PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from neam.agents.forge_lock import ForgeBusyError
from neam.agents.git_workspace import GitSource, check_credentials, check_url, parse_author
from neam.agents.results import ForgeProgress, ForgeResult
from neam.agents.runtime import AgentRuntime, default_dirs
from neam.lang import NeamCompileError, load_program
from neam.lang.neamb import NeambError
from neam.providers import ProviderError

PREFIX = "[neam-forge]"


class UsageError(Exception):
    """Bad command-line arguments (reported as an ``error`` outcome, exit 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="neam-forge",
        description="Run a forge agent's build-verify loop and print the outcome as JSON.",
    )
    parser.add_argument(
        "--agent",
        required=True,
        metavar="FILE",
        help="program with forge agent(s): .neam or .neamb",
    )
    parser.add_argument("--name", help="forge agent to run (default: the first one declared)")
    parser.add_argument("--workspace", metavar="DIR", help="override the agent's workspace")
    parser.add_argument(
        "--max-iterations", type=_positive_int, metavar="N", help="override max_iterations"
    )
    parser.add_argument(
        "--max-cost", type=_cost, metavar="USD", help="override max_cost (US dollars)"
    )
    task = parser.add_mutually_exclusive_group()
    task.add_argument(
        "--task",
        metavar="TEXT",
        help="the task when the workspace has no plan file (default: the system prompt's goal)",
    )
    task.add_argument("--task-file", type=Path, metavar="FILE", help="--task, read from FILE")
    git = parser.add_argument_group(
        "Git", "work on a clone of a repository and push the result as a branch"
    )
    git.add_argument("--git-url", metavar="URL", help="clone this repository (first start)")
    git.add_argument(
        "--git-revision", metavar="REV", help="branch, tag or commit (default: remote HEAD)"
    )
    git.add_argument("--push-branch", metavar="BRANCH", help="default: neam/<agent>")
    git.add_argument("--git-author", metavar="'NAME <EMAIL>'", help="author of the commits")
    git.add_argument(
        "--git-credentials",
        type=Path,
        metavar="DIR",
        help="files username+password, or ssh-privatekey+known_hosts "
        "(default: $NEAM_GIT_CREDENTIALS_DIR)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print compilation and loop details to stderr"
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _cost(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError("must be a non-negative number")
    return value


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def finish(result: ForgeResult, env: dict[str, str]) -> int:
    """Prints the JSON line, writes the termination message, returns the exit code.

    The termination message (``NEAM_TERMINATION_MESSAGE_PATH``) is written by
    ``neam.report.write_termination_message`` (exact decimal cost, bounded
    message) when that module is available, else as the same JSON line.
    """
    line = json.dumps(result.to_json_dict())
    print(line, flush=True)
    target = env.get("NEAM_TERMINATION_MESSAGE_PATH")
    if target:
        try:
            from neam.report import write_termination_message
        except ImportError:
            try:
                Path(target).write_text(line + "\n", encoding="utf-8")
            except OSError as exc:
                print(f"{PREFIX} cannot write termination message: {exc}", file=sys.stderr)
        else:
            write_termination_message(
                result.outcome,
                result.iterations,
                result.total_cost,
                result.message,
                env=env,
                git=result.git,
            )
    return 0 if result.outcome == "completed" else 1


def _reason(exc: BaseException) -> str:
    """One line about ``exc`` for stderr and the outcome (never a traceback)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc) or type(exc).__name__


def _error(message: str) -> ForgeResult:
    return ForgeResult("error", 0, Decimal(0), message)


def _reporter() -> Callable[[ForgeProgress], None] | None:
    try:
        from neam.report import reporter_from_env
    except ImportError:
        return None
    return reporter_from_env()


def _chain(*callbacks: Callable[[ForgeProgress], None] | None) -> Callable[[ForgeProgress], None]:
    """One callback calling each given one (the loop logs and survives failures)."""
    active = [c for c in callbacks if c is not None]

    def call(progress: ForgeProgress) -> None:
        for callback in active:
            callback(progress)

    return call


def _git_source(args: argparse.Namespace, agent: str, env: dict[str, str]) -> GitSource | None:
    if not args.git_url:
        if args.git_revision or args.push_branch or args.git_author:
            raise ValueError("--git-revision, --push-branch and --git-author need --git-url")
        return None
    check_url(args.git_url)
    author = parse_author(args.git_author)
    creds = args.git_credentials or env.get("NEAM_GIT_CREDENTIALS_DIR")
    if creds:
        check_credentials(Path(creds))
    return GitSource(
        url=args.git_url,
        branch=args.push_branch or f"neam/{agent}",
        revision=args.git_revision,
        credentials=Path(creds) if creds else None,
        **({"author_name": author[0], "author_email": author[1]} if author else {}),
    )


def main(argv: list[str] | None = None) -> int:
    env = dict(os.environ)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"neam-forge: error: {exc}", file=sys.stderr, flush=True)
        return finish(_error(f"usage: {exc}"), env)
    log: Callable[[str], None] = (
        (lambda text: print(f"{PREFIX} {text}", file=sys.stderr, flush=True))
        if args.verbose
        else (lambda text: None)
    )
    log(f"Compiling {args.agent}...")
    try:
        program = load_program(Path(args.agent))
    except NeamCompileError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return finish(_error(f"compilation failed: {args.agent}"), env)
    except (OSError, NeambError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        print(f"{PREFIX} cannot load {args.agent}: {reason}", file=sys.stderr)
        return finish(_error(f"cannot load {args.agent}: {reason}"), env)
    log(
        f"Registered {_plural(len(program.skills), 'skill')}, "
        f"{_plural(len(program.guards), 'guard')}, {_plural(len(program.channels), 'channel')}"
    )
    if not program.forge_agents:
        return finish(_error(f"no forge agent in {args.agent}"), env)
    name = args.name or next(iter(program.forge_agents))
    if name not in program.forge_agents:
        return finish(_error(f"Agent not found: {name} (no forge agent of that name)"), env)
    log(f"Found forge agent: {name}")
    overrides = [
        f"{label}={value}"
        for label, value in (
            ("workspace", args.workspace),
            ("max_iterations", args.max_iterations),
            ("max_cost", args.max_cost),
        )
        if value is not None
    ]
    if overrides:
        log(f"Applied overrides: {', '.join(overrides)}")

    try:
        task = args.task_file.read_text(encoding="utf-8") if args.task_file else args.task
    except OSError as exc:
        return finish(_error(f"cannot read --task-file {args.task_file}: {exc.strerror}"), env)
    try:
        git = _git_source(args, name, env)
    except ValueError as exc:
        print(f"{PREFIX} {exc}", file=sys.stderr, flush=True)
        return finish(_error(str(exc)), env)
    if git is not None:
        log(f"Git: {git.url} at {git.revision or 'the remote HEAD'}, pushing {git.branch}")
    try:
        runtime = AgentRuntime(program, env=env, **default_dirs(env))
    except ValueError as exc:  # a bad NEAM_* setting
        print(f"{PREFIX} {exc}", file=sys.stderr, flush=True)
        return finish(_error(str(exc)), env)
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log(f"Received {signal.Signals(signum).name}: stopping after the current iteration")
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def verbose_progress(p: ForgeProgress) -> None:
        log(
            f"iteration {p.iteration}/{p.max_iterations} cost=${p.total_cost} "
            f"task={p.current_task!r} {p.outcome}: {p.message}"
        )

    try:
        spec = runtime.forge_spec(
            name,
            max_iterations=args.max_iterations,
            max_cost=args.max_cost,
            workspace=args.workspace,
        )
        log(f"Workspace: {spec.workspace}")
        log("Starting forge loop...")
        result = runtime.run_forge(
            name,
            max_iterations=args.max_iterations,
            max_cost=args.max_cost,
            workspace=args.workspace,
            stop=stop,
            on_progress=_chain(verbose_progress, _reporter()),
            task=task,
            git=git,
        )
    except (ProviderError, ForgeBusyError, ValueError, OSError) as exc:
        reason = _reason(exc)
        print(f"{PREFIX} {reason}", file=sys.stderr, flush=True)
        result = _error(reason)
    except Exception as exc:  # stdout must still carry one JSON outcome
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        reason = f"internal error: {_reason(exc)}"
        print(f"{PREFIX} {reason}", file=sys.stderr, flush=True)
        result = _error(reason)
    log(f"Finished: {result.outcome} after {_plural(result.iterations, 'iteration')}")
    return finish(result, env)


if __name__ == "__main__":
    sys.exit(main())
