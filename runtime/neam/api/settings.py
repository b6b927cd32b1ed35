"""Configuration of one neam-api process (the flags of chapter 28.5 plus environment)."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

AUDIT_SINKS = ("stderr", "file", "json")


def parse_keys(raw: str | None) -> tuple[str, ...]:
    """Splits a comma-separated key list (``NEAM_API_KEY="k1,k2"``), dropping blanks."""
    if not raw:
        return ()
    return tuple(k.strip() for k in raw.split(",") if k.strip())


def keys_from_env(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """The keys of environment variable ``name``; none when it is unset.

    Fails closed: a variable that is set but holds no key (empty, blanks, only
    commas) is an error, never "no authentication", and so is a key no client
    could send in a Bearer header.
    """
    raw = env.get(name)
    if raw is None:
        return ()
    keys = parse_keys(raw)
    if not keys:
        raise ValueError(
            f"{name} is set but holds no key (it is empty or only separators); "
            "set at least one key, or unset it"
            + (" for development mode" if name == "NEAM_API_KEY" else "")
        )
    check_keys(name, keys)
    return keys


def check_keys(what: str, keys: tuple[str, ...]) -> None:
    """Every key must be printable ASCII without spaces (what a Bearer header can carry)."""
    for number, key in enumerate(keys, 1):
        if not key or not all("!" <= c <= "~" for c in key):
            raise ValueError(
                f"{what}: key {number} is empty or holds spaces, control or non-ASCII "
                "characters; keys are printable ASCII without spaces"
            )


def check_directory(flag: str, path: Path) -> None:
    """Creates ``path`` if needed and checks that a file can be made in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        raise ValueError(f"{flag} {path}: {exc.strerror or exc}") from None


def check_file(flag: str, path: Path) -> None:
    """Creates ``path`` (and its directory) if needed and checks it can be appended to."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know before it starts.

    ``program`` is a ``.neam`` or ``.neamb`` file; with ``bytecode_dir`` it may
    also name a file inside that directory (see :func:`neam.api.loader.resolve_program`).
    """

    program: Path | None = None
    bytecode_dir: Path | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 4
    timeout_ms: int = 60_000
    pool_size: int | None = None
    llm_pool_size: int = 8
    drain_seconds: float = 10.0
    audit_sink: str = "stderr"
    audit_log: Path | None = None
    sessions_dir: Path = Path("sessions")
    workspace_dir: Path = Path("workspace")
    max_body_bytes: int = 1 << 20
    confirm_timeout_seconds: float = 300.0
    call_timeout_seconds: float | None = None  # None: NEAM_CALL_TIMEOUT_SECONDS, else 10
    api_keys: tuple[str, ...] = ()
    admin_keys: tuple[str, ...] = ()
    # The claw agents served (``--claw-agents``); None serves every one in the program.
    claw_agents: tuple[str, ...] | None = None
    # ``--resume-forge``: start the interrupted forge runs again once the program loads.
    resume_forge: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("--workers must be at least 1")
        if self.pool_size is not None and self.pool_size < 1:
            raise ValueError("--pool-size must be at least 1")
        if self.llm_pool_size < 1:
            raise ValueError("--llm-pool-size must be at least 1")
        if self.timeout_ms < 1:
            raise ValueError("--timeout must be at least 1 ms")
        if self.drain_seconds < 0:
            raise ValueError("--drain-seconds must not be negative")
        if self.call_timeout_seconds is not None and not 0 < self.call_timeout_seconds < math.inf:
            raise ValueError("--call-timeout must be a positive number of seconds")
        if self.audit_sink not in AUDIT_SINKS:
            raise ValueError(f"--audit-sink must be one of {', '.join(AUDIT_SINKS)}")
        if self.audit_sink == "file" and self.audit_log is None:
            raise ValueError("--audit-sink file needs --audit-log PATH")
        if self.program is None and self.bytecode_dir is None:
            raise ValueError("give --program FILE or --bytecode DIR")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"--port must be from 0 to 65535, not {self.port}")
        if self.max_body_bytes < 1:
            raise ValueError("--max-body-bytes must be at least 1")
        check_keys("NEAM_API_KEY", self.api_keys)
        check_keys("NEAM_ADMIN_KEY", self.admin_keys)
        if self.claw_agents is not None and not self.claw_agents:
            raise ValueError("--claw-agents names no agent")

    def check_paths(self) -> None:
        """Creates the directories and audit file the server writes, or fails with a
        one-line ValueError, so a bad path shows at start, not on the first request."""
        check_directory("--sessions-dir", self.sessions_dir)
        check_directory("--workspace-dir", self.workspace_dir)
        if self.audit_sink == "file" and self.audit_log is not None:
            check_file("--audit-log", self.audit_log)

    @property
    def effective_pool_size(self) -> int:
        """``--pool-size`` defaults to ``--workers``."""
        return self.pool_size or self.workers

    @property
    def timeout_seconds(self) -> float:
        return self.timeout_ms / 1000.0

    @property
    def dev_mode(self) -> bool:
        """No ``NEAM_API_KEY``: every endpoint is open (logged as a warning at start)."""
        return not self.api_keys
