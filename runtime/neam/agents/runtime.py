"""``AgentRuntime``: the facade the CLIs, the API server and the interpreter use.

It resolves agents of a checked :class:`~neam.lang.Program`, builds their
providers, tools, guards and workspaces, and runs claw turns, plain agent
calls, forge loops, ``spawn`` and ``dag_execute``. Paths:

- an agent's ``workspace`` that is relative resolves under ``workspace_dir``
  (``NEAM_WORKSPACE_DIR``, default ``./workspace``); without one the agent
  gets ``<workspace_dir>/<agent>``;
- claw sessions live in ``<sessions_dir>/<agent>/<key>.jsonl``
  (``NEAM_SESSIONS_DIR``, default ``$NEAM_WORKSPACE_DIR/sessions``, else
  ``./sessions``), or under the agent's ``session.sessions_dir`` (relative to
  ``workspace_dir``);
- a relative ``scripted_file`` is looked up in the current directory, then next
  to the program file.

Skills, guards and verify functions run in interpreters owned by the runtime:
one per thread and workspace, so parallel sessions never share one. With a
``confirm`` hook (the API server's confirmation broker), a ``sensitive`` skill
runs only when the hook approves it. Each such call may run Neam code for at
most the agent's ``call_timeout_seconds`` (else the runtime's ``call_timeout``:
``NEAM_CALL_TIMEOUT_SECONDS``, default 10 s), and :meth:`AgentRuntime.cancel_calls`
ends every call in progress (a server shutting down).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from neam.agents import compaction, compaction_report, forge_lock
from neam.agents.claw import ClawAgent, ClawSettings
from neam.agents.forge import DEFAULT_MAX_ITERATIONS, ForgeLoop, ForgeSpec, require_writable
from neam.agents.forge_lock import ForgeBusyError, WorkspaceLock
from neam.agents.git_workspace import GitSource, GitWorkspace
from neam.agents.guards import GuardBlocked, GuardPipeline
from neam.agents.memory import MemoryIndex
from neam.agents.monitor import Monitor
from neam.agents.names import check_component
from neam.agents.prelude import prelude_program
from neam.agents.results import ForgeProgress, ForgeResult
from neam.agents.sessions import SessionStore
from neam.agents.tools import Confirm, SkillExecutor, run_tool_loop, tool_spec
from neam.lang import Interpreter, NeamRuntimeError, load_program
from neam.lang.host import NodeCallback
from neam.orchestration.dag import dag_execute
from neam.orchestration.spawn import spawn
from neam.providers import get_provider

__all__ = [
    "AgentNotFoundError",
    "AgentRuntime",
    "ForgeBusyError",
    "ForgeProgress",
    "ForgeResult",
    "RuntimeHost",
    "default_dirs",
]

log = logging.getLogger("neam.agents")

DEFAULT_MAX_COST = Decimal("10.0")
DEFAULT_CALL_TIMEOUT = 10.0  # seconds of Neam code per skill, guard or verify call
MONITORABLE = "Monitorable"
_KIND_NAMES = {"agent": "plain agent", "claw": "claw agent", "forge": "forge agent"}


class AgentNotFoundError(LookupError):
    """No agent of that name (or not of the kind asked for)."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


def call_timeout_from_env(env: Mapping[str, str]) -> float:
    """``NEAM_CALL_TIMEOUT_SECONDS`` (a positive number), else the default."""
    raw = env.get("NEAM_CALL_TIMEOUT_SECONDS")
    if raw is None or not raw.strip():
        return DEFAULT_CALL_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(f"NEAM_CALL_TIMEOUT_SECONDS must be a positive number of seconds: {raw!r}")
    return value


def default_dirs(env: Mapping[str, str] = os.environ) -> dict[str, Path]:
    """``workspace_dir``: ``NEAM_WORKSPACE_DIR``, else ``./workspace``;
    ``sessions_dir``: ``NEAM_SESSIONS_DIR``, else ``sessions`` under
    ``NEAM_WORKSPACE_DIR`` when that is set, else ``./sessions``. neam-forge,
    neam run and neam-api all use these, so they find an agent's workspace (and
    the forge state in it) in the same place."""
    workspace = env.get("NEAM_WORKSPACE_DIR")
    sessions = env.get("NEAM_SESSIONS_DIR")
    return {
        "sessions_dir": Path(
            sessions or (Path(workspace) / "sessions" if workspace else "sessions")
        ),
        "workspace_dir": Path(workspace or "workspace"),
    }


def _stderr_emit(value: Any) -> None:
    print(value, file=sys.stderr, flush=True)


class AgentRuntime:
    """Runs the agents of one program. Thread-safe; the API is synchronous."""

    def __init__(
        self,
        program: Any,
        *,
        sessions_dir: Path,
        workspace_dir: Path,
        env: Mapping[str, str] = os.environ,
        emit: Callable[[Any], None] | None = None,
        confirm: Confirm | None = None,
        call_timeout: float | None = None,
    ) -> None:
        self.program = program
        self._prelude = prelude_program(program)
        self.confirm = confirm
        self.sessions_dir = Path(sessions_dir).absolute()
        self.workspace_dir = Path(workspace_dir).absolute()
        self.env = env
        self.emit = emit or _stderr_emit
        self.call_timeout = call_timeout if call_timeout is not None else call_timeout_from_env(env)
        self._cancel = threading.Event()
        self.store = SessionStore(self.sessions_dir)
        self._stores: dict[Path, SessionStore] = {self.sessions_dir: self.store}
        self.host = RuntimeHost(self)
        self._lock = threading.Lock()
        self._providers: dict[str, Any] = {}
        self._claws: dict[str, ClawAgent] = {}
        self._memories: dict[Path, MemoryIndex] = {}
        self._local = threading.local()
        self.monitor = Monitor(
            lambda agent: self.call_trait(agent, MONITORABLE, "baseline"),
            lambda agent, event: self.call_trait(agent, MONITORABLE, "on_anomaly", event),
            lambda agent: program.impl_for(agent, MONITORABLE) is not None,
        )

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> AgentRuntime:
        """A runtime for a ``.neam`` or ``.neamb`` file."""
        return cls(load_program(Path(path)), **kwargs)

    # -- resolution ------------------------------------------------------------------

    def decl(self, name: str, kind: str | None = None) -> Any:
        """An agent declaration (any kind, resolved claw -> forge -> plain, or one kind)."""
        table = {
            None: None,
            "claw": self.program.claw_agents,
            "forge": self.program.forge_agents,
            "agent": self.program.agents,
        }[kind]
        found = self.program.agent(name) if table is None else table.get(name)
        if found is not None:
            return found
        other = self.program.agent(name)
        if other is None:
            raise AgentNotFoundError(f"Agent not found: {name}", name)
        raise AgentNotFoundError(
            f"Agent not found: {name} is a {_KIND_NAMES[other.kind]}, not a {_KIND_NAMES[kind]}",
            name,
        )

    def workspace(self, decl: Any, override: str | Path | None = None) -> Path:
        if override is not None:
            return Path(override).absolute()
        configured = decl.config.get("workspace")
        if not configured:
            return self.workspace_dir / check_component(decl.name, "agent name")
        path = Path(str(configured))
        return path if path.is_absolute() else self.workspace_dir / path

    def provider(self, decl: Any) -> Any:
        with self._lock:
            provider = self._providers.get(decl.name)
            if provider is None:
                provider = get_provider(self._provider_config(decl), env=self.env)
                self._providers[decl.name] = provider
            return provider

    def _provider_config(self, decl: Any) -> dict[str, Any]:
        config = dict(decl.config)
        config["name"] = decl.name
        scripted = config.get("scripted_file")
        if scripted and not Path(scripted).is_absolute() and not Path(scripted).exists():
            beside = Path(self.program.filename).parent / scripted
            if beside.exists():
                config["scripted_file"] = str(beside)
        return config

    def interpreter(self, workspace: Path) -> Any:
        """This thread's interpreter for ``workspace`` (created on first use)."""
        cache: dict[Path, Any] | None = getattr(self._local, "interpreters", None)
        if cache is None:
            cache = self._local.interpreters = {}
        interp = cache.get(workspace)
        if interp is None:
            workspace.mkdir(parents=True, exist_ok=True)
            interp = Interpreter(
                self._prelude,
                host=self.host,
                workspace=workspace,
                emit=self.emit,
                timeout=self.call_timeout,
                cancel=self._cancel,
            )
            try:
                interp.run_toplevel()  # pure top-level lets only (see neam.agents.prelude)
            except NeamRuntimeError as exc:
                log.warning("top-level values for skills are incomplete: %s", exc)
            cache[workspace] = interp
        return interp

    def cancel_calls(self) -> None:
        """Ends every skill, guard and verify call in progress (and any later one) with a
        runtime error; for a process shutting down, so no call outlives it."""
        self._cancel.set()

    def call_trait(self, agent: str, trait: str, method: str, *args: Any) -> Any:
        """Runs ``method`` of ``impl trait for agent`` as that agent, in this thread's
        interpreter for its workspace, within its call time limit (Monitorable and
        Schedulable hooks). Raises NeamRuntimeError when the Neam code fails."""
        decl = self.decl(agent)
        interp = self.interpreter(self.workspace(decl))
        return interp.call_impl(agent, trait, method, list(args), timeout=self.timeout_of(decl))

    def timeout_of(self, decl: Any) -> float:
        """The agent's ``call_timeout_seconds``, else the runtime's call timeout."""
        return float(decl.config.get("call_timeout_seconds") or self.call_timeout)

    def _guards(self, decl: Any, workspace: Path) -> GuardPipeline:
        names = self.program.resolve_guards(list(decl.config.get("guards") or []))
        guards = [(g, set(self.program.guards[g].handlers)) for g in names]
        timeout = self.timeout_of(decl)
        return GuardPipeline(
            guards,
            lambda g, h, v: self.interpreter(workspace).call_guard(
                g, h, v, timeout=timeout, agent=decl.name
            ),
        )

    def _skills(self, decl: Any, workspace: Path, guards: GuardPipeline) -> tuple[list, Any]:
        names = list(decl.config.get("skills") or [])
        tools = [tool_spec(self.program.skills[name]) for name in names]
        timeout = self.timeout_of(decl)
        executor = SkillExecutor(
            decl.name,
            names,
            lambda n, a: self.interpreter(workspace).call_skill(
                n, a, timeout=timeout, agent=decl.name
            ),
            guards,
            sensitive={n for n in names if self.program.skills[n].sensitive},
            confirm=self.confirm,
        )
        return tools, executor

    def _store(self, decl: Any) -> SessionStore:
        """The agent's session store: ``session.sessions_dir`` (relative to
        ``workspace_dir``) when set, else the runtime's ``sessions_dir``."""
        configured = (decl.config.get("session") or {}).get("sessions_dir")
        if not configured:
            return self.store
        root = Path(str(configured))
        root = root if root.is_absolute() else self.workspace_dir / root
        with self._lock:
            return self._stores.setdefault(root, SessionStore(root))

    def memory(self, workspace: Path) -> MemoryIndex:
        with self._lock:
            return self._memories.setdefault(workspace, MemoryIndex(workspace))

    # -- claw agents -----------------------------------------------------------------

    def claw(self, agent: str) -> ClawAgent:
        with self._lock:
            claw = self._claws.get(agent)
        if claw is not None:
            return claw
        decl = self.decl(check_component(agent, "agent name"), "claw")
        workspace = self.workspace(decl)
        guards = self._guards(decl, workspace)
        tools, executor = self._skills(decl, workspace, guards)
        claw = ClawAgent(
            decl.name,
            ClawSettings.from_config(decl.config),
            provider=self.provider(decl),
            tools=tools,
            executor=executor,
            guards=guards,
            store=self._store(decl),
            workspace=workspace,
            memory=self.memory(workspace),
        )
        with self._lock:
            return self._claws.setdefault(agent, claw)

    def ask(self, agent: str, session_key: str, message: str) -> str:
        """One claw turn in session ``session_key``."""
        claw = self.claw(agent)
        key = check_component(session_key, "session key")
        started = time.monotonic()
        turn = claw.ask(key, message)
        self._observe_turn(claw.name, started, turn.tool_calls, turn.cost, session_key=key)
        return turn.reply

    def _observe_turn(
        self, agent: str, started: float, tool_calls: int, cost: Decimal, **context: Any
    ) -> None:
        """Records a claw or plain agent turn with the monitor (Monitorable)."""
        values = {
            "tool_calls": tool_calls,
            "response_time_ms": (time.monotonic() - started) * 1000,
            "cost": float(cost),
        }
        self.monitor.record(agent, "turn", values, **context)

    def reset_session(self, agent: str, session_key: str) -> None:
        self.claw(agent).reset(check_component(session_key, "session key"))

    def compact(self, agent: str, session_key: str | None = None) -> dict[str, Any]:
        """Compacts one session, or every session of the agent; the report
        (:func:`neam.agents.compaction_report.report`) sums the counts and says what
        happened (``status``, ``summarizer``, ``fallback_reason``, ``message``)."""
        claw = self.claw(agent)
        keys = [session_key] if session_key is not None else claw.store.keys(agent)
        done = [claw.compact(check_component(key, "session key")) for key in keys]
        keep = compaction.kept_recent(claw.settings.max_history_turns)
        return compaction_report.report(claw.name, done, keep)

    def session_count(self, agent: str) -> int:
        return self.claw(agent).store.count(agent)

    def session_history(self, agent: str, session_key: str) -> list[dict[str, Any]]:
        return self.claw(agent).history(check_component(session_key, "session key"))

    # -- plain agents and single turns -----------------------------------------------

    def ask_agent(self, agent: str, query: str) -> str:
        """A plain agent call: guards, skills as tools, no session."""
        decl = self.decl(agent, "agent")
        workspace = self.workspace(decl)
        guards = self._guards(decl, workspace)
        tools, executor = self._skills(decl, workspace, guards)
        started = time.monotonic()
        calls, cost = 0, Decimal(0)
        try:
            text = str(guards.apply("input", query))
            messages = [
                {"role": "system", "content": str(decl.config.get("system") or "")},
                {"role": "user", "content": text},
            ]
            result = run_tool_loop(
                self.provider(decl),
                messages,
                tools,
                executor,
                temperature=decl.config.get("temperature"),
            )
            calls, cost = len(result.calls), result.cost
            reply = str(guards.apply("output", result.text))
        except GuardBlocked as exc:
            reply = f"[{exc}]"
        self._observe_turn(decl.name, started, calls, cost)
        return reply

    def single_turn(self, agent: str, task: str) -> tuple[Any, str, Decimal]:
        """One LLM call with the agent's system prompt and no tools (``spawn``).

        Returns the declaration, the reply text and its cost.
        """
        decl = self.decl(agent)
        messages = [
            {"role": "system", "content": str(decl.config.get("system") or "")},
            {"role": "user", "content": task},
        ]
        response = self.provider(decl).chat(
            messages, tools=None, temperature=decl.config.get("temperature")
        )
        return decl, response.text or "", response.cost

    def memory_search(self, agent: str, query: str, limit: int = 5) -> list[dict[str, Any]]:
        decl = self.decl(agent)
        mode = (decl.config.get("semantic_memory") or {}).get("search") or "hybrid"
        return self.memory(self.workspace(decl)).search(query, mode, limit)

    # -- forge agents ----------------------------------------------------------------

    def forge_spec(
        self,
        agent: str,
        *,
        max_iterations: int | None = None,
        max_cost: float | Decimal | None = None,
        workspace: str | Path | None = None,
        task: str | None = None,
    ) -> ForgeSpec:
        """The effective settings of a forge agent after overrides."""
        decl = self.decl(agent, "forge")
        config = decl.config
        loop = config.get("loop") or {}
        cost = max_cost if max_cost is not None else loop.get("max_cost", DEFAULT_MAX_COST)
        return ForgeSpec(
            agent=check_component(decl.name, "agent name"),
            system=str(config.get("system") or ""),
            workspace=self.workspace(decl, workspace),
            max_iterations=int(
                max_iterations
                if max_iterations is not None
                else loop.get("max_iterations") or DEFAULT_MAX_ITERATIONS
            ),
            max_cost=None if cost is None else Decimal(str(cost)),
            checkpoint=str(config.get("checkpoint") or "none"),
            plan_file=loop.get("plan_file"),
            progress_file=loop.get("progress_file"),
            learnings_file=loop.get("learnings_file"),
            temperature=config.get("temperature"),
            task=task,
        )

    def lock_forge(self, spec: ForgeSpec) -> WorkspaceLock:
        """Takes the lock of ``spec``'s workspace for a run that will start soon (hand it
        to :meth:`run_forge`); raises ForgeBusyError while another run holds it."""
        spec.workspace.mkdir(parents=True, exist_ok=True)
        require_writable(spec.workspace)
        return forge_lock.acquire(spec.workspace, spec.agent)

    def run_forge(
        self,
        agent: str,
        *,
        max_iterations: int | None = None,
        max_cost: float | Decimal | None = None,
        workspace: str | Path | None = None,
        stop: threading.Event | None = None,
        on_progress: Callable[[ForgeProgress], None] | None = None,
        task: str | None = None,
        lock: WorkspaceLock | None = None,
        git: GitSource | None = None,
        interrupt: threading.Event | None = None,
    ) -> ForgeResult:
        """Runs (or resumes) a forge loop to an outcome; blocks until it ends. ``task`` is
        the loop's one task when the workspace has no plan file; ``git`` a repository the
        workspace is cloned from (first start) and whose branch the result is pushed to.
        ``stop`` ends it after the current iteration (``aborted``); with ``interrupt``
        set too (a server shutting down) the run stays ``running`` on disk, to be resumed.

        The run holds its workspace's lock throughout: ``lock`` when the caller
        took it with :meth:`lock_forge` (released when the run ends, also on a
        failure before it starts), else it is taken here (ForgeBusyError when
        another run, in any process, holds it).
        """
        try:
            spec = self.forge_spec(
                agent,
                max_iterations=max_iterations,
                max_cost=max_cost,
                workspace=workspace,
                task=task,
            )
            decl = self.decl(agent, "forge")
            guards = self._guards(decl, spec.workspace)
            tools, executor = self._skills(decl, spec.workspace, guards)
            verify_name = decl.config.get("verify")
            timeout = self.timeout_of(decl)

            def verify(ctx: dict[str, Any]) -> Any:
                if not verify_name:
                    return True
                takes_ctx = bool(self.program.functions[verify_name].params)
                return self.interpreter(spec.workspace).call_function(
                    verify_name, [ctx] if takes_ctx else [], timeout=timeout, agent=decl.name
                )

            iterations: list[int] = []

            def observe(iteration: int, values: dict[str, float]) -> None:
                iterations.append(iteration)
                self.monitor.record(decl.name, "iteration", values, iteration=iteration)

            loop = ForgeLoop(
                spec,
                provider=self.provider(decl),
                tools=tools,
                execute=executor,
                verify=verify,
                stop=stop,
                on_progress=on_progress,
                lock=lock,
                git=GitWorkspace(spec.workspace, git) if git is not None else None,
                observe=observe,
                interrupt=interrupt,
            )
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        result = loop.run()
        if iterations:  # a run call that only reported a finished run observed nothing
            values = {"iterations": result.iterations, "cost": float(result.total_cost)}
            self.monitor.record(decl.name, "run", values, outcome=result.outcome)
        return result

    # -- orchestration ---------------------------------------------------------------

    def spawn(self, agent: str, task: str) -> Any:
        return spawn(self, agent, task)

    def dag_execute(
        self,
        nodes: list[dict[str, Any]],
        parallelism: int = 4,
        on_node: NodeCallback | None = None,
    ) -> dict[str, Any]:
        return dag_execute(self, nodes, parallelism=parallelism, on_node=on_node)


class RuntimeHost:
    """The :class:`neam.lang.host.AgentHost` view of a runtime, for interpreters.

    ``AgentHost.ask`` takes ``(agent, message, session_key)`` while the runtime's
    claw API takes ``(agent, session_key, message)``; this adapter maps one onto
    the other so the interpreter's calls reach the same code.
    """

    def __init__(self, runtime: AgentRuntime) -> None:
        self._rt = runtime

    def ask(self, agent: str, message: str, session_key: str | None = None) -> str:
        decl = self._rt.decl(agent)
        if decl.kind == "claw":
            return self._rt.ask(agent, session_key or "default", message)
        if decl.kind == "forge":
            return self._rt.single_turn(agent, message)[1]
        return self._rt.ask_agent(agent, message)

    def run(self, agent: str) -> dict[str, Any]:
        return self._rt.run_forge(agent).to_json_dict()

    def spawn(self, agent: str, task: str) -> Any:
        return self._rt.spawn(agent, task)

    def dag_execute(
        self, nodes: list[dict[str, Any]], on_node: NodeCallback | None = None
    ) -> dict[str, Any]:
        return self._rt.dag_execute(nodes, on_node=on_node)

    def memory_search(self, agent: str, query: str, limit: int = 5) -> list[dict[str, Any]]:
        return self._rt.memory_search(agent, query, limit)

    def session_history(self, agent: str, session_key: str) -> list[dict[str, Any]]:
        return self._rt.session_history(agent, session_key)
