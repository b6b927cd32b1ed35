"""``neam-api``: serve a program's claw, forge and plain agents over HTTP (chapter 28.5)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from neam.agents.runtime import call_timeout_from_env, default_dirs
from neam.api.settings import AUDIT_SINKS, Settings, keys_from_env, parse_keys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="neam-api",
        description="HTTP server for Neam claw, forge and plain agents.",
        epilog="Auth: NEAM_API_KEY (comma-separated keys allowed) and NEAM_ADMIN_KEY. "
        "Directories: NEAM_SESSIONS_DIR, NEAM_WORKSPACE_DIR. Bind address: NEAM_API_HOST.",
    )
    p.add_argument(
        "--program", type=Path, metavar="FILE", help=".neam or .neamb file declaring the agents"
    )
    p.add_argument(
        "--bytecode", type=Path, metavar="DIR", help="directory holding pre-compiled .neamb files"
    )
    p.add_argument("--host", help="interface to bind (default: $NEAM_API_HOST, else 0.0.0.0)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    p.add_argument(
        "--workers", type=int, default=4, help="worker threads for runtime calls (default 4)"
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=60_000,
        metavar="MS",
        help="request timeout in milliseconds (default 60000)",
    )
    p.add_argument(
        "--pool-size",
        type=int,
        default=None,
        metavar="N",
        help="concurrent runtime calls (default: --workers)",
    )
    p.add_argument(
        "--llm-pool-size",
        type=int,
        default=8,
        metavar="N",
        help="LLM HTTP connection pool size (default 8)",
    )
    p.add_argument(
        "--drain-seconds",
        type=float,
        default=10.0,
        metavar="N",
        help="graceful shutdown drain period (default 10)",
    )
    p.add_argument(
        "--audit-sink",
        choices=AUDIT_SINKS,
        default="stderr",
        help="audit log destination (default stderr)",
    )
    p.add_argument(
        "--audit-log", type=Path, metavar="PATH", help="audit log file (with --audit-sink file)"
    )
    p.add_argument(
        "--sessions-dir",
        type=Path,
        metavar="DIR",
        help="claw session files (default $NEAM_SESSIONS_DIR or ./sessions)",
    )
    p.add_argument(
        "--workspace-dir",
        type=Path,
        metavar="DIR",
        help="agent workspaces (default $NEAM_WORKSPACE_DIR or ./workspace)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=1 << 20,
        metavar="N",
        help="largest accepted request body (default 1 MiB)",
    )
    p.add_argument(
        "--confirm-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long a sensitive skill waits for approval (default 300)",
    )
    p.add_argument(
        "--call-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="longest a skill, guard or verify call may run Neam code, unless the agent sets "
        "call_timeout_seconds (default $NEAM_CALL_TIMEOUT_SECONDS, else 10)",
    )
    p.add_argument(
        "--claw-agents",
        metavar="NAMES",
        help="serve only these claw agents (comma-separated; default: all in the program)",
    )
    p.add_argument(
        "--resume-forge",
        action="store_true",
        help="once the program is loaded, start again the forge runs a stop or crash of the "
        "server interrupted (with the limits they were started with)",
    )
    p.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    return p


def settings_from_args(args: argparse.Namespace, env: dict[str, str]) -> Settings:
    dirs = default_dirs(env)  # the same directories neam-forge and neam run use
    return Settings(
        program=args.program,
        bytecode_dir=args.bytecode,
        host=args.host or env.get("NEAM_API_HOST") or "0.0.0.0",
        port=args.port,
        workers=args.workers,
        timeout_ms=args.timeout,
        pool_size=args.pool_size,
        llm_pool_size=args.llm_pool_size,
        drain_seconds=args.drain_seconds,
        audit_sink=args.audit_sink,
        audit_log=args.audit_log,
        sessions_dir=args.sessions_dir or dirs["sessions_dir"],
        workspace_dir=args.workspace_dir or dirs["workspace_dir"],
        max_body_bytes=args.max_body_bytes,
        confirm_timeout_seconds=args.confirm_timeout,
        call_timeout_seconds=(
            call_timeout_from_env(env) if args.call_timeout is None else args.call_timeout
        ),
        api_keys=keys_from_env(env, "NEAM_API_KEY"),
        admin_keys=keys_from_env(env, "NEAM_ADMIN_KEY"),
        claw_agents=None if args.claw_agents is None else parse_keys(args.claw_agents),
        resume_forge=args.resume_forge,
        env=env,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    env = dict(os.environ)
    try:
        settings = settings_from_args(args, env)
        settings.check_paths()
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from neam.api.server import serve

    return serve(settings, log_level=args.log_level)


if __name__ == "__main__":
    sys.exit(main())
