"""Running the app under uvicorn with a graceful drain on SIGTERM.

On the first SIGTERM/SIGINT the server keeps listening but ``/ready`` answers
503 (so load balancers stop sending traffic), heartbeats and cron hooks stop,
no new forge loop starts, running forge loops are asked to stop after their
current iteration, and in-flight requests finish. Once nothing is in flight and
no loop runs, or after ``--drain-seconds``, uvicorn shuts down and the process
exits 0; at that point Neam code still running (a skill in an endless loop) is
cancelled, so no call keeps the process alive. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from types import FrameType

import uvicorn

from neam.api.app import Loader, create_app
from neam.api.loader import load_runtime
from neam.api.settings import Settings
from neam.api.state import ServerState

log = logging.getLogger("neam.api")
POLL_SECONDS = 0.05


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: ServerState) -> None:
        super().__init__(config)
        self.state = state
        self.exit_code = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_task: asyncio.Task[None] | None = None

    async def serve(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def fail(self, _message: str) -> None:
        """Called when the program cannot be loaded (already logged): exit with status 1."""
        self.exit_code = 1
        self.should_exit = True

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.state.draining or self._loop is None:
            self.should_exit = True
            self.force_exit = self.state.draining
            return
        log.info(
            "received %s: draining for up to %ss",
            signal.Signals(sig).name,
            self.state.settings.drain_seconds,
        )
        self.state.draining = True
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        self._drain_task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        state = self.state
        deadline = time.monotonic() + state.settings.drain_seconds
        if state.scheduler is not None:
            state.scheduler.stop()  # no heartbeat or cron hook starts while draining
        # interrupted, not ended: the runs resume on start (or --resume-forge) after a restart
        stopping = state.forge.stop_all(interrupt=True) if state.forge else []
        if stopping:
            log.info("asked forge loops to stop after their iteration: %s", ", ".join(stopping))
        state.confirmations.deny_all()
        while time.monotonic() < deadline:
            forge_busy = bool(state.forge and state.forge.running_agents())
            if state.metrics.in_flight == 0 and state.pool.stats()["busy"] == 0 and not forge_busy:
                break
            await asyncio.sleep(POLL_SECONDS)
        else:
            log.warning("drain period over with work still running; exiting anyway")
            if state.runtime is not None:
                state.runtime.cancel_calls()  # stuck Neam calls end; their requests answer
                await asyncio.sleep(POLL_SECONDS)
        self.should_exit = True


def serve(settings: Settings, *, loader: Loader = load_runtime, log_level: str = "info") -> int:
    """Serves until drained; returns the process exit code (1 if the program fails to load)."""
    app = create_app(settings, loader=loader, on_load_failure=lambda message: server.fail(message))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=max(1, int(settings.drain_seconds)),
    )
    server = DrainingServer(config, app.state.neam)
    server.run()
    return server.exit_code
