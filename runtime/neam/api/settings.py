"""Configuration of one neam-api process (the flags of chapter 28.5 plus environment)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

AUDIT_SINKS = ("stderr", "file", "json")


def parse_keys(raw: str | None) -> tuple[str, ...]:
    """Splits a comma-separated key list (``NEAM_API_KEY="k1,k2"``), dropping blanks."""
    if not raw:
        return ()
    return tuple(k.strip() for k in raw.split(",") if k.strip())


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
