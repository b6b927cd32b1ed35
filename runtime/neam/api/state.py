"""Process-wide server state shared by the routes (``request.app.state.neam``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from neam.agents.scheduler import Scheduler
from neam.api.audit import AuditLog
from neam.api.confirmations import ConfirmationBroker
from neam.api.errors import ApiError, agent_not_found
from neam.api.forge_jobs import ForgeJobs
from neam.api.killswitch import KillSwitch
from neam.api.metrics import Metrics
from neam.api.pool import WorkerPool
from neam.api.settings import Settings


@dataclass
class ServerState:
    settings: Settings
    metrics: Metrics
    audit: AuditLog
    pool: WorkerPool
    confirmations: ConfirmationBroker
    killswitch: KillSwitch = field(default_factory=KillSwitch)
    started: float = field(default_factory=time.monotonic)
    runtime: Any = None
    forge: ForgeJobs | None = None
    scheduler: Scheduler | None = None
    program_path: str | None = None
    providers: dict[str, str] = field(default_factory=dict)
    load_error: str | None = None
    draining: bool = False

    @property
    def uptime_seconds(self) -> int:
        return int(time.monotonic() - self.started)

    @property
    def loaded(self) -> bool:
        return self.runtime is not None

    def attach(self, runtime: Any, program_path: str, providers: dict[str, str]) -> None:
        """Makes a loaded program servable; ``providers`` is its readiness report."""
        self.providers = providers
        self.program_path = program_path
        self.runtime = runtime
        self.forge = ForgeJobs(runtime)

    def schedule(self) -> Scheduler:
        """The heartbeats and cron schedules of the served claw agents (not started)."""
        return Scheduler(
            self.require_runtime(),
            list(self.claw_agents()),
            active=lambda agent: not self.draining and not self.killswitch.is_disabled(agent),
        )

    def require_runtime(self) -> Any:
        """The runtime, or 503 while the program is loading (or failed to load)."""
        if self.runtime is None:
            raise ApiError(503, self.load_error or "the program is not loaded yet")
        return self.runtime

    def claw_agents(self) -> dict[str, Any]:
        """The claw agents this server serves: ``--claw-agents``, else all of the program."""
        agents = self.require_runtime().program.claw_agents
        only = self.settings.claw_agents
        return agents if only is None else {n: d for n, d in agents.items() if n in only}

    def claw_agent(self, name: str) -> Any:
        """The declaration of served claw agent ``name``, or 404."""
        decl = self.claw_agents().get(name)
        if decl is None:
            raise agent_not_found(name, "claw")
        return decl

    def require_forge(self) -> ForgeJobs:
        self.require_runtime()
        assert self.forge is not None
        return self.forge
