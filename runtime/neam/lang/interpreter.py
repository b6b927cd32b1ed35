"""Tree-walking interpreter for Neam functions, skills, guards, trait methods and top-level code.

Threading: every public entry point (``run_toplevel``, ``call_function``,
``call_skill``, ``call_guard``, ``call_impl``) builds its own :class:`_Exec`
with its own scopes and call stack, so different calls may run concurrently.
The only shared mutable state is the global scope (top-level ``let``/``const``),
guarded by a lock for definition; code that mutates shared globals from
concurrent calls gets no further ordering guarantee.

Faults: every failure of Neam code, whatever its cause, leaves an entry point
as a :class:`NeamRuntimeError` with a source position. A call may be given a
time limit: the seconds its Neam code may run, checked at every loop
iteration and function call (time spent waiting for the agent host, e.g. in
``agent.ask()``, does not count). Setting the interpreter's ``cancel`` event
ends every call in progress the same way. Values are bounded too (see
:mod:`neam.lang.values`). The ``call_*`` entry points return plain data.

Calling agent: a call made for an agent (its skill, guard, verify function or
trait method; ``agent=`` on the entry points) runs as that agent, and so does a
trait method of an agent called from Neam code. ``spawn`` and ``dag_execute``
run the calling agent's ``Orchestrable`` hooks (see :mod:`neam.lang.orchestrable`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neam.lang import ast
from neam.lang.host import AgentHost, AgentUnavailableError, NoAgentHost
from neam.lang.natives import (
    NAMESPACES,
    NATIVES,
    DagNodeHook,
    Native,
    NativeContext,
    call_method,
)
from neam.lang.orchestrable import ON_DELEGATE, ON_SPAWN, hook_method, orchestrator_of
from neam.lang.program import Program, StructDecl
from neam.lang.values import (
    AgentRef,
    NeamValueError,
    binary,
    index,
    iterate,
    set_index,
    slice_of,
    stringify,
    to_json_data,
    truthy,
    type_name,
    unary,
)
from neam.lang.values import equal as _equal
from neam.lang.workspace import WorkspaceError
from neam.text import clip

# Constructor-style match patterns (`LoopOutcome.MaxIterations(n)`) compare their
# snake_cased name with a string subject or a map's outcome/kind/status/type;
# Neam's outcome names map onto this runtime's.
_OUTCOME_ALIASES = {"max_iterations": "iteration_limit", "budget_exhausted": "cost_limit"}


def _snake(name: str) -> str:
    out = [c if c.islower() or not c.isalpha() else ("_" + c.lower()) for c in name]
    return "".join(out).lstrip("_")


def _ctor_matches(name: str, subject: Any) -> bool:
    wanted = _snake(name)
    names = {wanted, _OUTCOME_ALIASES.get(wanted, wanted), name}
    if isinstance(subject, str):
        return subject in names or subject.lower() in names
    if isinstance(subject, dict):
        for key in ("outcome", "kind", "status", "type"):
            tag = subject.get(key)
            if isinstance(tag, str) and (tag in names or tag.lower() in names):
                return True
    return False


def _ctor_payload(subject: Any) -> Any:
    if isinstance(subject, dict):
        for key in ("message", "value", "result"):
            if key in subject:
                return subject[key]
    return subject


_MAX_DEPTH = 100  # Neam call depth; deeper recursion is a runtime error, not a crash


@dataclass(frozen=True)
class Frame:
    """One entry of a Neam traceback: where execution was in ``function``."""

    function: str
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column} in {self.function}"


class NeamRuntimeError(Exception):
    """An error while running Neam code, with its source position and Neam traceback."""

    def __init__(
        self,
        message: str,
        file: str,
        line: int,
        column: int,
        traceback: list[Frame] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.traceback: list[Frame] = traceback or []

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: runtime error: {self.message}"

    def format(self) -> str:
        """The error line plus the Neam traceback, most recent call last."""
        lines = [str(self)]
        if self.traceback:
            lines.append("Neam traceback (most recent call last):")
            lines.extend(f"  {frame}" for frame in self.traceback)
        return "\n".join(lines)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass(frozen=True)
class FunctionRef:
    """A user function (or bound trait method) used as a value."""

    decl: ast.FunDecl
    bound_self: Any = None
    has_self: bool = False
    closure: _Scope | None = None  # the defining scope of a lambda (None: the globals)

    def __str__(self) -> str:
        return f"<function {self.decl.name}>"


@dataclass(frozen=True)
class SkillRef:
    name: str

    def __str__(self) -> str:
        return f"<skill {self.name}>"


@dataclass(frozen=True)
class StructRef:
    decl: StructDecl

    def __str__(self) -> str:
        return f"<struct {self.decl.name}>"


class _Scope:
    __slots__ = ("parent", "vars")

    def __init__(self, parent: _Scope | None) -> None:
        self.vars: dict[str, Any] = {}
        self.parent = parent

    def find(self, name: str) -> _Scope | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope
            scope = scope.parent
        return None


@dataclass
class _StackEntry:
    function: str
    node: ast.Node = field(default_factory=ast.Node)


class Interpreter:
    """Runs the code of one checked :class:`Program`; agent calls go to ``host``."""

    def __init__(
        self,
        program: Program,
        host: AgentHost | None = None,
        workspace: str | Path | None = None,
        emit: Callable[[Any], None] | None = None,
        input_fn: Callable[[], str] | None = None,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """``timeout``: the default time limit of a call in seconds (None: no limit);
        ``cancel``: an event that, once set, ends every call with a runtime error."""
        self.program = program
        self.host: AgentHost = host if host is not None else NoAgentHost()
        self.workspace = workspace
        self.emit: Callable[[Any], None] = emit if emit is not None else _print_emit
        self.input_fn = input_fn
        self.timeout = timeout
        self.cancel = cancel if cancel is not None else threading.Event()
        self._globals = _Scope(None)
        self._globals_lock = threading.Lock()
        self._define_constants()

    @property
    def workspace(self) -> Path:
        """The directory workspace_read/write/append are confined to (default: the cwd)."""
        return self._workspace if self._workspace is not None else Path.cwd()

    @workspace.setter
    def workspace(self, value: str | Path | None) -> None:
        self._workspace = Path(value) if value is not None else None

    # ------------------------------------------------------------------ public API

    def run_toplevel(self, *, timeout: float | None = None) -> None:
        """Runs the top-level statements in source order (``emit`` goes to ``self.emit``)."""
        ex = self._exec("<toplevel>", timeout)
        try:
            ex.run_block(self.program.toplevel, self._globals, new_scope=False)
        except _Return:
            return  # a top-level `return` ends the program
        except RecursionError:
            raise self._too_deep(ex) from None

    def call_function(
        self,
        name: str,
        args: list[Any],
        *,
        timeout: float | None = None,
        agent: str | None = None,
    ) -> Any:
        """Calls a ``fun``; ``agent``: the agent it runs for (a forge agent's verify)."""
        fn = self.program.functions.get(name)
        if fn is None:
            raise self._api_error(f"no function named '{name}'")
        ex = self._exec("<host>", timeout, agent)
        return ex.plain(fn, ex.call_decl(fn, list(args), ast.Node()))

    def call_skill(
        self,
        name: str,
        args: dict[str, Any],
        *,
        timeout: float | None = None,
        agent: str | None = None,
    ) -> Any:
        """Runs a skill's ``impl`` with arguments given by parameter name, for ``agent``
        (the agent whose tool call it answers), if any."""
        skill = self.program.skills.get(name)
        if skill is None or skill.impl is None:
            raise self._api_error(f"no skill named '{name}' with an impl")
        declared = list(skill.params)
        positional: list[Any] = []
        for i, param in enumerate(skill.impl.params):
            if param.name in args:
                positional.append(args[param.name])
            elif i < len(declared) and declared[i] in args:
                positional.append(args[declared[i]])
            else:
                positional.append(None)
        ex = self._exec("<host>", timeout, agent)
        return ex.plain(
            skill.impl, ex.call_decl(skill.impl, positional, ast.Node(), f"skill {name}")
        )

    def call_guard(
        self,
        guard: str,
        handler: str,
        value: Any,
        *,
        timeout: float | None = None,
        agent: str | None = None,
    ) -> Any:
        """Runs ``handler`` of a guard (or of every guard of a guardchain) on ``value``,
        for ``agent`` (whose guards these are), if any.

        A guard without that handler passes the value through unchanged.
        """
        names = self.program.resolve_guards([guard])
        for name in names:
            decl = self.program.guards.get(name)
            if decl is None:
                raise self._api_error(f"no guard named '{name}'")
            fn = decl.handlers.get(handler)
            if fn is not None:
                ex = self._exec("<host>", timeout, agent)
                value = ex.plain(
                    fn, ex.call_decl(fn, [value], ast.Node(), f"guard {name}.{handler}")
                )
        return value

    def call_impl(
        self, target: str, trait: str, method: str, args: list[Any], *, timeout: float | None = None
    ) -> Any:
        """Runs a trait method; ``self`` is supplied when the method declares it. A method
        of an agent's impl runs as that agent."""
        impl = self.program.impl_for(target, trait)
        fn = impl.methods.get(method) if impl is not None else None
        if fn is None:
            raise self._api_error(f"no method '{method}' in impl {trait} for {target}")
        ref = FunctionRef(fn, self.self_value(target), _takes_self(fn))
        ex = self._exec("<host>", timeout)
        return ex.plain(fn, ex.call_ref(ref, list(args), ast.Node()))

    # ------------------------------------------------------------------ helpers

    def self_value(self, target: str) -> Any:
        return AgentRef(target) if self.program.agent(target) is not None else {"type": target}

    def _exec(self, entry: str, timeout: float | None, agent: str | None = None) -> _Exec:
        """The state of one call; ``timeout`` (else the interpreter's) bounds its time;
        ``agent`` is the agent the call runs for."""
        return _Exec(self, entry, timeout if timeout is not None else self.timeout, agent)

    def _too_deep(self, ex: _Exec) -> NeamRuntimeError:
        node = ex.stack[-1].node
        return ex.error(node, "expression or statements nested too deeply to evaluate")

    def _api_error(self, message: str) -> NeamRuntimeError:
        return NeamRuntimeError(message, self.program.filename, 0, 0)

    def _define_constants(self) -> None:
        """Top-level ``const`` values are available to functions even before run_toplevel."""
        ex = self._exec("<toplevel>", None)
        for stmt in self.program.toplevel:
            if isinstance(stmt, ast.Let) and stmt.const:
                try:
                    self._globals.vars[stmt.name] = ex.eval(stmt.value, self._globals)
                except NeamRuntimeError:
                    continue  # it fails again, with its traceback, in run_toplevel

    def native_context(self, on_dag_node: DagNodeHook | None = None) -> NativeContext:
        return NativeContext(self.workspace, self.host, self.input_fn, on_dag_node)


def _takes_self(fn: ast.FunDecl) -> bool:
    return bool(fn.params) and fn.params[0].name == "self"


def _print_emit(value: Any) -> None:
    print(stringify(value), flush=True)


class _Exec:
    """The state of one call into the interpreter: its Neam call stack, and the agent
    whose code it runs (None at the top level)."""

    def __init__(
        self, interp: Interpreter, entry: str, timeout: float | None, agent: str | None = None
    ) -> None:
        self.interp = interp
        self.agent = agent
        self.in_hook = False  # an Orchestrable hook is running: spawns in it fire no hooks
        self.program = interp.program
        self.file = interp.program.filename
        self.stack: list[_StackEntry] = [_StackEntry(entry)]
        self._natives: NativeContext | None = None
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.cancel = interp.cancel

    # ------------------------------------------------------------------ limits

    def tick(self, node: ast.Node) -> None:
        """Ends the call when it ran out of time or was cancelled (at loop and call steps)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise self.error(
                node, f"time limit exceeded: this call ran Neam code for over {self.timeout:g} s"
            )
        if self.cancel.is_set():
            raise self.error(node, "cancelled: the runtime is shutting down")

    def waiting(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Calls ``fn`` (the host, or the user) without counting its time against the limit."""
        started = time.monotonic()
        try:
            return fn(*args)
        finally:
            if self.deadline is not None:
                self.deadline += time.monotonic() - started

    def plain(self, decl: ast.Node, value: Any) -> Any:
        """``value`` as plain data for the caller (agents and functions become text)."""
        return self.guarded(decl, to_json_data, value)

    # ------------------------------------------------------------------ errors

    def error(self, node: ast.Node, message: str) -> NeamRuntimeError:
        self.stack[-1].node = node
        frames = [Frame(e.function, self.file, e.node.line, e.node.column) for e in self.stack]
        return NeamRuntimeError(message, self.file, node.line, node.column, frames)

    # ------------------------------------------------------------------ statements

    def run_block(self, stmts: list[ast.Stmt], scope: _Scope, new_scope: bool = True) -> None:
        inner = _Scope(scope) if new_scope else scope
        for stmt in stmts:
            self.exec(stmt, inner)

    def exec(self, stmt: ast.Stmt, scope: _Scope) -> None:
        t = type(stmt)
        if t is ast.ExprStmt:
            self.eval(stmt.expr, scope)
        elif t is ast.Let:
            value = self.eval(stmt.value, scope)
            if scope is self.interp._globals:
                with self.interp._globals_lock:
                    scope.vars[stmt.name] = value
            else:
                scope.vars[stmt.name] = value
        elif t is ast.Assign:
            self.assign(stmt, scope)
        elif t is ast.Emit:
            value = self.eval(stmt.value, scope)
            self.stack[-1].node = stmt
            self.guarded(stmt, self.interp.emit, value)
        elif t is ast.If:
            if truthy(self.eval(stmt.cond, scope)):
                self.run_block(stmt.then.body, scope)
            elif stmt.orelse is not None:
                self.exec(stmt.orelse, scope)
        elif t is ast.While:
            while truthy(self.eval(stmt.cond, scope)):
                self.tick(stmt)
                try:
                    self.run_block(stmt.body.body, scope)
                except _Break:
                    break
                except _Continue:
                    continue
        elif t is ast.ForIn:
            source = self.eval(stmt.iterable, scope)
            items = self.guarded(stmt.iterable, iterate, source)
            for number, item in enumerate(items):
                self.tick(stmt)
                inner = _Scope(scope)
                if stmt.second is None:
                    inner.vars[stmt.var] = item
                elif isinstance(source, dict):
                    inner.vars[stmt.var], inner.vars[stmt.second] = item, source[item]
                elif isinstance(item, list) and len(item) == 2:
                    inner.vars[stmt.var], inner.vars[stmt.second] = item
                else:
                    inner.vars[stmt.var], inner.vars[stmt.second] = number, item
                try:
                    self.run_block(stmt.body.body, inner, new_scope=False)
                except _Break:
                    break
                except _Continue:
                    continue
        elif t is ast.Return:
            raise _Return(None if stmt.value is None else self.eval(stmt.value, scope))
        elif t is ast.Block:
            self.run_block(stmt.body, scope)
        elif t is ast.Break:
            raise _Break()
        elif t is ast.Continue:
            raise _Continue()
        else:  # pragma: no cover - the parser produces no other statements
            raise self.error(stmt, f"cannot execute {t.__name__}")

    def assign(self, stmt: ast.Assign, scope: _Scope) -> None:
        value = self.eval(stmt.value, scope)
        target = stmt.target
        if isinstance(target, ast.Name):
            owner = scope.find(target.name)
            if owner is None:
                raise self.error(
                    target, f"assignment to undeclared variable '{target.name}' (use let)"
                )
            if stmt.op != "=":
                value = self.guarded(stmt, binary, stmt.op[0], owner.vars[target.name], value)
            owner.vars[target.name] = value
            return
        obj = self.eval(target.obj, scope)  # type: ignore[union-attr]
        key = (
            self.eval(target.index, scope) if isinstance(target, ast.Index) else target.name  # type: ignore[union-attr]
        )
        if stmt.op != "=":
            current = self.guarded(target, index, obj, key)
            value = self.guarded(stmt, binary, stmt.op[0], current, value)
        self.guarded(target, set_index, obj, key, value)

    # ------------------------------------------------------------------ expressions

    def guarded(self, node: ast.Node, fn: Callable[..., Any], *args: Any) -> Any:
        """Calls a value operation, turning its failure into a positioned runtime error."""
        try:
            return fn(*args)
        except NeamValueError as err:
            raise self.error(node, str(err)) from None
        except RecursionError:
            raise self.error(node, "values nested too deeply for this operation") from None
        except (ArithmeticError, LookupError, TypeError, ValueError, MemoryError) as err:
            # Operations check their values; this keeps any case they missed a Neam error.
            raise self.error(node, f"cannot do this: {err or type(err).__name__}") from None

    def eval(self, expr: ast.Expr, scope: _Scope) -> Any:
        t = type(expr)
        if t is ast.Literal:
            return expr.value
        if t is ast.Name:
            return self.lookup(expr, scope)
        if t is ast.Binary:
            op = expr.op
            if op == "&&":
                left = self.eval(expr.left, scope)
                return self.eval(expr.right, scope) if truthy(left) else left
            if op == "||":
                left = self.eval(expr.left, scope)
                return left if truthy(left) else self.eval(expr.right, scope)
            left = self.eval(expr.left, scope)
            right = self.eval(expr.right, scope)
            return self.guarded(expr, binary, op, left, right)
        if t is ast.Call:
            return self.eval_call(expr, scope)
        if t is ast.Attribute:
            obj = self.eval(expr.obj, scope)
            if isinstance(obj, dict):
                return obj.get(expr.name)
            raise self.error(expr, f"{type_name(obj)} has no field '{expr.name}'")
        if t is ast.Index:
            obj = self.eval(expr.obj, scope)
            return self.guarded(expr, index, obj, self.eval(expr.index, scope))
        if t is ast.Unary:
            return self.guarded(expr, unary, expr.op, self.eval(expr.operand, scope))
        if t is ast.ListExpr:
            return [self.eval(item, scope) for item in expr.items]
        if t is ast.MapExpr:
            return {e.key: self.eval(e.value, scope) for e in expr.entries}
        if t is ast.Spawn:
            return self.eval_spawn(expr, scope)
        if t is ast.Slice:
            obj = self.eval(expr.obj, scope)
            start = None if expr.start is None else self.eval(expr.start, scope)
            stop = None if expr.stop is None else self.eval(expr.stop, scope)
            return self.guarded(expr, slice_of, obj, start, stop)
        if t is ast.Lambda:
            return FunctionRef(expr.fn, closure=scope)
        if t is ast.NamedArg:
            return self.eval(expr.value, scope)
        if t is ast.Match:
            return self.eval_match(expr, scope)
        if t is ast.Ternary:
            chosen = expr.then if truthy(self.eval(expr.cond, scope)) else expr.orelse
            return self.eval(chosen, scope)
        raise self.error(expr, f"cannot evaluate {t.__name__}")  # pragma: no cover

    def eval_match(self, expr: ast.Match, scope: _Scope) -> Any:
        subject = self.eval(expr.subject, scope)
        for arm in expr.arms:
            inner = _Scope(scope)
            if not self.pattern_matches(arm.pattern, subject, inner):
                continue
            if arm.value is not None:
                return self.eval(arm.value, inner)
            self.run_block(arm.body, inner, new_scope=False)
            return None
        return None

    def pattern_matches(self, pattern: ast.Expr, subject: Any, scope: _Scope) -> bool:
        """``_`` matches anything; an unbound name binds the subject; ``A.B`` / ``B(x)``
        match by constructor name (binding ``x``); anything else compares equal."""
        if isinstance(pattern, ast.Name):
            if pattern.name == "_":
                return True
            try:
                return _equal(self.lookup(pattern, scope), subject)
            except NeamRuntimeError:
                scope.vars[pattern.name] = subject
                return True
        if isinstance(pattern, ast.Attribute) and isinstance(pattern.obj, ast.Name):
            try:
                self.lookup(pattern.obj, scope)
            except NeamRuntimeError:
                return _ctor_matches(pattern.name, subject)
        if isinstance(pattern, ast.Call) and isinstance(pattern.callee, ast.Name | ast.Attribute):
            callee = pattern.callee
            name = callee.name
            if not _ctor_matches(name, subject):
                return False
            payload = _ctor_payload(subject)
            for arg in pattern.args[:1]:
                if isinstance(arg, ast.Name) and arg.name != "_":
                    scope.vars[arg.name] = payload
            return True
        return _equal(self.eval(pattern, scope), subject)

    def lookup(self, node: ast.Name, scope: _Scope) -> Any:
        name = node.name
        owner = scope.find(name)
        if owner is not None:
            return owner.vars[name]
        globals_ = self.interp._globals.vars
        if name in globals_:
            return globals_[name]
        program = self.program
        if name in program.functions:
            return FunctionRef(program.functions[name])
        if name in NATIVES:
            return NATIVES[name]
        if name in NAMESPACES:
            return dict(NAMESPACES[name])
        if program.agent(name) is not None:
            return AgentRef(name)
        if name in program.skills:
            return SkillRef(name)
        if name in program.structs:
            return StructRef(program.structs[name])
        raise self.error(node, f"undefined name '{name}'")

    def eval_call(self, expr: ast.Call, scope: _Scope) -> Any:
        callee = expr.callee
        if isinstance(callee, ast.Attribute):
            obj = self.eval(callee.obj, scope)
            args = [self.eval(a, scope) for a in expr.args]
            return self.call_method(expr, obj, callee.name, args)
        fn = self.eval(callee, scope)
        args = [self.eval(a, scope) for a in expr.args]
        return self.call_ref(fn, args, expr)

    def call_method(self, node: ast.Call, obj: Any, name: str, args: list[Any]) -> Any:
        if isinstance(obj, AgentRef):
            return self.call_agent_method(node, obj, name, args)
        if isinstance(obj, dict) and isinstance(obj.get(name), FunctionRef | Native | SkillRef):
            return self.call_ref(obj[name], args, node)
        return self.guarded(node, call_method, obj, name, args)

    def call_agent_method(self, node: ast.Call, agent: AgentRef, name: str, args: list[Any]) -> Any:
        host = self.interp.host
        if name == "ask":
            if not 1 <= len(args) <= 2:
                raise self.error(node, f"{agent.name}.ask() takes a message and an optional key")
            key = None if len(args) < 2 or args[1] is None else self.text(node, args[1])
            return self.host_call(node, host.ask, agent.name, self.text(node, args[0]), key)
        if name == "run":
            if args:
                raise self.error(node, f"{agent.name}.run() takes no arguments")
            return self.host_call(node, host.run, agent.name)
        for impl in self.program.impls:
            if impl.target == agent.name and name in impl.methods:
                fn = impl.methods[name]
                return self.call_ref(FunctionRef(fn, agent, _takes_self(fn)), args, node)
        raise self.error(node, f"agent '{agent.name}' has no method '{name}'")

    def text(self, node: ast.Node, value: Any) -> str:
        return self.guarded(node, stringify, value)

    def host_call(self, node: ast.Node, fn: Callable[..., Any], *args: Any) -> Any:
        self.stack[-1].node = node
        try:
            return self.waiting(fn, *args)
        except AgentUnavailableError as err:
            raise self.error(node, str(err)) from None
        except NeamRuntimeError:
            raise
        except Exception as err:  # a host failure surfaces at the Neam call site
            raise self.error(node, f"{type(err).__name__}: {err}") from err

    def eval_spawn(self, expr: ast.Spawn, scope: _Scope) -> Any:
        agent = self.text(expr, self.eval(expr.agent, scope))
        args = [self.eval(a, scope) for a in expr.args]
        if len(args) != 1:
            raise self.error(expr, "spawn takes exactly one task argument")
        if self.program.agent(agent) is None:
            raise self.error(expr, f"Agent not found: {clip(agent, 80)}")
        task = self.text(expr, args[0])
        told = None if self.in_hook else orchestrator_of(self.program, self.agent, agent)
        if told is not None:
            self.hook(expr, told, ON_SPAWN, agent)
        result = self.host_call(expr, self.interp.host.spawn, agent, task)
        if told is not None:
            self.hook(expr, told, ON_DELEGATE, result)
        return result

    def hook(self, node: ast.Node, agent: str, method: str, arg: Any) -> None:
        """Runs ``agent``'s Orchestrable ``method`` (if it defines it) as that agent; a
        spawn inside the hook fires no hooks of its own."""
        fn = hook_method(self.program, agent, method)
        if fn is None:
            return
        was = self.in_hook
        self.in_hook = True
        try:
            self.call_ref(FunctionRef(fn, AgentRef(agent), _takes_self(fn)), [arg], node)
        finally:
            self.in_hook = was

    def dag_node_hook(self, node: dict[str, Any], phase: str, value: Any) -> None:
        """``dag_execute``'s per-node callback: ``on_spawn`` before a node runs,
        ``on_delegate`` with its result after. It is called while this call waits for
        the DAG, so each hook gets its own time limit."""
        method = {"running": ON_SPAWN, "succeeded": ON_DELEGATE}.get(phase)
        child = str(node.get("agent"))
        told = None if self.in_hook else orchestrator_of(self.program, self.agent, child)
        if method is None or told is None:
            return
        saved = self.deadline
        self.deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            self.hook(self.stack[-1].node, told, method, child if method == ON_SPAWN else value)
        finally:
            self.deadline = saved

    def call_ref(self, fn: Any, args: list[Any], node: ast.Node) -> Any:
        if isinstance(fn, FunctionRef):
            if fn.has_self:
                args = [fn.bound_self, *args]
            if not isinstance(fn.bound_self, AgentRef):
                return self.call_decl(fn.decl, args, node, closure=fn.closure)
            caller, self.agent = self.agent, fn.bound_self.name  # an agent's method runs as it
            try:
                return self.call_decl(fn.decl, args, node, closure=fn.closure)
            finally:
                self.agent = caller
        if isinstance(fn, Native):
            return self.call_native(fn, args, node)
        if isinstance(fn, SkillRef):
            skill = self.program.skills[fn.name]
            if skill.impl is None:
                raise self.error(node, f"skill '{fn.name}' has no impl")
            return self.call_decl(skill.impl, args, node, f"skill {fn.name}")
        if isinstance(fn, StructRef):
            names = list(fn.decl.fields)
            if len(args) > len(names):
                raise self.error(node, f"{fn.decl.name}() takes at most {len(names)} arguments")
            return {n: (args[i] if i < len(args) else None) for i, n in enumerate(names)}
        raise self.error(node, f"{type_name(fn)} is not callable")

    def call_native(self, fn: Native, args: list[Any], node: ast.Node) -> Any:
        if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
            if fn.max_args is None:
                want = f"at least {fn.min_args}"
            elif fn.min_args == fn.max_args:
                want = str(fn.min_args)
            else:
                want = f"{fn.min_args} to {fn.max_args}"
            raise self.error(node, f"{fn.name}() takes {want} argument(s), got {len(args)}")
        if self._natives is None:
            self._natives = self.interp.native_context(self.dag_node_hook)
        self.stack[-1].node = node
        try:
            if fn.waits:
                return self.waiting(fn.fn, self._natives, args)
            return fn.fn(self._natives, args)
        except NeamValueError as err:
            raise self.error(node, str(err)) from None
        except WorkspaceError as err:
            raise self.error(node, f"{fn.name}(): {err}") from None
        except AgentUnavailableError as err:
            raise self.error(node, str(err)) from None
        except NeamRuntimeError:
            raise
        except OSError as err:
            raise self.error(node, f"{fn.name}(): {err.strerror or err}") from None
        except Exception as err:  # host failures inside dag_execute & co.
            raise self.error(node, f"{fn.name}(): {type(err).__name__}: {err}") from err

    def call_decl(
        self,
        decl: ast.FunDecl,
        args: list[Any],
        node: ast.Node,
        label: str | None = None,
        closure: _Scope | None = None,
    ) -> Any:
        name = label or decl.name
        params = decl.params
        if len(args) != len(params):
            if len(args) > len(params):
                raise self.error(node, f"{name}() takes {len(params)} argument(s), got {len(args)}")
            args = args + [None] * (len(params) - len(args))  # missing arguments are nil
        if len(self.stack) >= _MAX_DEPTH:
            raise self.error(node, f"maximum call depth ({_MAX_DEPTH}) exceeded in {name}()")
        self.tick(node)
        self.stack[-1].node = node
        scope = _Scope(closure if closure is not None else self.interp._globals)
        for param, value in zip(params, args, strict=True):
            scope.vars[param.name] = value
        self.stack.append(_StackEntry(name, decl))
        try:
            if decl.body is not None:
                self.run_block(decl.body.body, scope, new_scope=False)
        except _Return as ret:
            return ret.value
        except RecursionError:
            raise self.error(self.stack[-1].node, f"nesting too deep in {name}()") from None
        finally:
            self.stack.pop()
        return None
