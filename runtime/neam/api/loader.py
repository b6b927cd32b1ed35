"""Finding and loading the program the server runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neam.api.confirmations import ConfirmationBroker
from neam.api.settings import Settings


class ProgramNotFoundError(Exception):
    pass


def resolve_program(settings: Settings) -> Path:
    """The ``.neam`` / ``.neamb`` file to load.

    * ``--program FILE`` alone: that file.
    * ``--bytecode DIR`` with ``--program NAME``: ``DIR/NAME`` (``.neamb`` added if
      missing) when it exists there, else ``--program`` as a path.
    * ``--bytecode DIR`` alone: the single ``.neamb`` in DIR, or ``DIR/main.neamb``.
    """
    program, directory = settings.program, settings.bytecode_dir
    if directory is None:
        assert program is not None
        if not program.is_file():
            raise ProgramNotFoundError(f"--program {program}: no such file")
        return program
    if not directory.is_dir():
        raise ProgramNotFoundError(f"--bytecode {directory}: not a directory")
    if program is not None:
        for candidate in (directory / program, directory / program.with_suffix(".neamb")):
            if candidate.is_file():
                return candidate
        if program.is_file():
            return program
        raise ProgramNotFoundError(f"--program {program}: not found in --bytecode {directory}")
    compiled = sorted(directory.glob("*.neamb"))
    if len(compiled) == 1:
        return compiled[0]
    if (directory / "main.neamb").is_file():
        return directory / "main.neamb"
    found = ", ".join(p.name for p in compiled) or "none"
    raise ProgramNotFoundError(
        f"--bytecode {directory}: expected one .neamb file or main.neamb (found: {found}); "
        "name one with --program"
    )


def load_runtime(settings: Settings, confirmations: ConfirmationBroker) -> tuple[Any, Path]:
    """Configures the LLM connection pool and loads the program into an AgentRuntime."""
    from neam.agents.runtime import AgentRuntime
    from neam.providers import configure_pool

    path = resolve_program(settings)
    configure_pool(settings.llm_pool_size)
    runtime = AgentRuntime.load(
        path,
        sessions_dir=settings.sessions_dir,
        workspace_dir=settings.workspace_dir,
        env=settings.env,
        confirm=confirmations.request,
        call_timeout=settings.call_timeout_seconds,
    )
    unknown = [a for a in settings.claw_agents or () if a not in runtime.program.claw_agents]
    if unknown:
        have = ", ".join(sorted(runtime.program.claw_agents)) or "none"
        raise ProgramNotFoundError(
            f"--claw-agents: {', '.join(unknown)} is not a claw agent of {path} (have: {have})"
        )
    return runtime, path
