"""Name resolution: every name Neam code reads, calls or assigns must be in scope.

Scopes follow the interpreter: a function sees its parameters, the names its
blocks declare *before* the use (``let``/``const``, ``for`` variables, ``match``
bindings, each visible to the end of its block) and the program's globals; a
lambda (``fn(x) { ... }``) also sees every name its enclosing code declares,
even later (it runs after they exist, e.g. a recursive ``let f = fn...``).
Globals are the top-level ``let``/``const`` names and ``use``/``import``
aliases: function bodies see all of them (they may run after any top-level
statement), top-level code sees a ``let`` from its statement on and every
``const`` from the start (the interpreter evaluates constants first).
Names that need no declaration in code (functions, agents, skills, structs and
every other declaration, natives and their namespaces) come from the caller.

:func:`unknown_names` returns the first use of each name that resolves to
nothing, in source order, and the agent method calls the checker looks at.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from neam.lang import ast


@dataclass(frozen=True)
class UnknownName:
    """A use of ``name`` that no code declares. ``kind``: ``read``, ``call``, ``assign``,
    ``statement`` (a name alone as a statement), or ``ask`` / ``run``: the ``x`` of
    ``x.ask()`` / ``x.run()`` when no variable ``x`` is in scope (``x`` may still
    be an agent: these are reported whether or not ``x`` is declared)."""

    node: ast.Name
    name: str
    kind: str


class _Scope:
    __slots__ = ("names", "parent")

    def __init__(self, parent: _Scope | None, names: Iterable[str] = ()) -> None:
        self.parent = parent
        self.names = set(names)

    def has(self, name: str) -> bool:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return True
            scope = scope.parent
        return False


def declared_in(nodes: Iterable[Any]) -> set[str]:
    """Every name a ``let``, ``for`` or parameter declares anywhere inside ``nodes``."""
    names: set[str] = set()
    stack: list[Any] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, ast.Node):
            continue
        if isinstance(node, ast.Let | ast.Param):
            names.add(node.name)
        elif isinstance(node, ast.ForIn):
            names.update(n for n in (node.var, node.second) if n is not None)
        stack.extend(vars(node).values())
    return names


class _Resolver:
    def __init__(self, known: set[str]) -> None:
        self.known = known  # declarations, natives, namespaces
        self.found: list[UnknownName] = []
        # The bodies being resolved (parameters and statements), innermost last, and
        # (computed for lambdas only) every name one declares.
        self.enclosing: list[tuple[Sequence[ast.Param], list[ast.Stmt]]] = []
        self._declared: dict[int, set[str]] = {}

    # ------------------------------------------------------------------ entry points

    def function(self, fn: ast.FunDecl, globals_: _Scope) -> None:
        if fn.body is not None:
            self.body(fn.body.body, _Scope(globals_, (p.name for p in fn.params)), fn.params)

    def body(self, stmts: list[ast.Stmt], scope: _Scope, params: Sequence[ast.Param] = ()) -> None:
        """Resolves a function body (or the top-level statements) in ``scope``."""
        self.enclosing.append((params, stmts))
        try:
            self.block(stmts, scope)
        finally:
            self.enclosing.pop()

    def declared_around(self) -> set[str]:
        """Every name the innermost enclosing body declares (for a lambda in it)."""
        params, stmts = self.enclosing[-1]
        key = id(stmts)
        if key not in self._declared:
            self._declared[key] = declared_in([list(params), stmts])
        return self._declared[key]

    # ------------------------------------------------------------------ statements

    def block(self, stmts: list[ast.Stmt], scope: _Scope) -> None:
        """Resolves ``stmts`` in order; their declarations go into ``scope``."""
        for stmt in stmts:
            self.stmt(stmt, scope)

    def stmt(self, stmt: ast.Stmt, scope: _Scope) -> None:
        if isinstance(stmt, ast.Let):
            self.expr(stmt.value, scope)
            scope.names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            self.expr(stmt.value, scope)
            target = stmt.target
            if isinstance(target, ast.Name):
                if not scope.has(target.name):
                    self.found.append(UnknownName(target, target.name, "assign"))
            else:
                self.expr(target, scope)
        elif isinstance(stmt, ast.If):
            self.expr(stmt.cond, scope)
            self.block(stmt.then.body, _Scope(scope))
            if stmt.orelse is not None:
                self.stmt(stmt.orelse, scope)
        elif isinstance(stmt, ast.While):
            self.expr(stmt.cond, scope)
            self.block(stmt.body.body, _Scope(scope))
        elif isinstance(stmt, ast.ForIn):
            self.expr(stmt.iterable, scope)
            names = [n for n in (stmt.var, stmt.second) if n is not None]
            self.block(stmt.body.body, _Scope(scope, names))
        elif isinstance(stmt, ast.Block):
            self.block(stmt.body, _Scope(scope))
        elif isinstance(stmt, ast.ExprStmt) and isinstance(stmt.expr, ast.Name):
            self.name(stmt.expr, scope, "statement")
        elif isinstance(stmt, ast.ExprStmt | ast.Emit):
            self.expr(stmt.expr if isinstance(stmt, ast.ExprStmt) else stmt.value, scope)
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            self.expr(stmt.value, scope)

    # ------------------------------------------------------------------ expressions

    def name(self, node: ast.Name, scope: _Scope, kind: str) -> None:
        if node.name in self.known or scope.has(node.name):
            return
        self.found.append(UnknownName(node, node.name, kind))

    def expr(self, expr: ast.Expr | None, scope: _Scope) -> None:
        if expr is None:
            return
        kind = type(expr)
        if kind is ast.Literal:
            return
        if kind is ast.Name:
            self.name(expr, scope, "read")  # type: ignore[arg-type]
        elif kind is ast.Binary:
            self.expr(expr.left, scope)  # type: ignore[attr-defined]
            self.expr(expr.right, scope)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            self.expr(expr.obj, scope)  # type: ignore[attr-defined]
        elif isinstance(expr, ast.Call) and isinstance(expr.callee, ast.Name):
            self.name(expr.callee, scope, "call")
            self.exprs(expr.args, scope)
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.callee, ast.Attribute)
            and expr.callee.name in ("ask", "run")
            and isinstance(expr.callee.obj, ast.Name)
        ):
            obj = expr.callee.obj
            if not scope.has(obj.name):
                self.found.append(UnknownName(obj, obj.name, expr.callee.name))
            self.exprs(expr.args, scope)
        elif isinstance(expr, ast.Lambda):
            # A lambda runs later: it sees every name its enclosing code declares.
            outer = _Scope(scope, self.declared_around())
            self.function(expr.fn, outer)
        elif isinstance(expr, ast.Match):
            self.expr(expr.subject, scope)
            for arm in expr.arms:
                inner = _Scope(scope)
                self.pattern(arm.pattern, inner)
                self.expr(arm.value, inner)
                self.block(arm.body, inner)
        elif isinstance(expr, ast.MapExpr):
            self.exprs((e.value for e in expr.entries), scope)
        else:
            self.exprs(_sub_expressions(expr), scope)

    def exprs(self, exprs: Iterable[ast.Expr], scope: _Scope) -> None:
        for expr in exprs:
            self.expr(expr, scope)

    def pattern(self, pattern: ast.Expr, scope: _Scope) -> None:
        """A match pattern: ``_`` and unknown names bind, constructor forms
        (``A.B``, ``B(x)``) need no declaration, anything else is an expression."""
        if isinstance(pattern, ast.Name):
            if not (pattern.name in self.known or scope.has(pattern.name)):
                scope.names.add(pattern.name)
        elif isinstance(pattern, ast.Attribute) and isinstance(pattern.obj, ast.Name):
            return
        elif isinstance(pattern, ast.Call) and isinstance(pattern.callee, ast.Name | ast.Attribute):
            scope.names.update(a.name for a in pattern.args[:1] if isinstance(a, ast.Name))
        else:
            self.expr(pattern, scope)


def _sub_expressions(expr: ast.Expr) -> Iterator[ast.Expr]:
    for value in vars(expr).values():
        items = value if isinstance(value, list) else (value,)
        yield from (item for item in items if isinstance(item, ast.Expr))


def _toplevel_functions(item: ast.Node) -> Iterator[ast.FunDecl]:
    """The function bodies a top-level declaration holds (handlers, methods, lambdas)."""
    if isinstance(item, ast.FunDecl):
        yield item
    elif isinstance(item, ast.TraitNode | ast.ImplNode):
        yield from item.methods
    elif isinstance(item, ast.AgentNode | ast.DeclNode):
        stack: list[Any] = [item.body]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.FunDecl):
                yield node
            elif isinstance(node, ast.ConfigLambda):
                yield node.fn
            elif isinstance(node, ast.ConfigBlock):
                stack.extend(node.handlers)
                stack.extend(f.value for f in node.fields)
            elif isinstance(node, ast.ConfigList):
                stack.extend(node.items)
            elif isinstance(node, ast.ConfigCall):
                stack.extend(node.args)
                if node.body is not None:
                    stack.append(node.body)


def unknown_names(items: list[ast.Node], known: set[str]) -> list[UnknownName]:
    """In source order: the first use of each name that nothing declares, and every
    ``x.ask()`` / ``x.run()`` whose ``x`` is no variable in scope.

    ``items`` are the module's top-level items to resolve; ``known`` the names
    that need no declaration in code (declarations, natives, namespaces).
    """
    lets = [i for i in items if isinstance(i, ast.Let)]
    aliases = {
        i.alias or i.path[-1] for i in items if isinstance(i, ast.UseDecl) and i.keyword != "module"
    }
    globals_ = _Scope(None, {let.name for let in lets} | aliases)
    resolver = _Resolver(known)
    statements: list[ast.Stmt] = []
    for item in items:
        if isinstance(item, ast.Stmt):
            statements.append(item)
        elif isinstance(item, ast.TestDecl):
            resolver.function(ast.FunDecl("<test>", [], item.body), globals_)
        else:
            for fn in _toplevel_functions(item):
                resolver.function(fn, globals_)
    resolver.body(statements, _Scope(None, {let.name for let in lets if let.const} | aliases))
    uses: list[UnknownName] = []
    reported: set[str] = set()
    for use in sorted(resolver.found, key=lambda u: (u.node.line, u.node.column)):
        if use.kind in ("ask", "run"):
            uses.append(use)
        elif use.name not in reported:
            reported.add(use.name)
            uses.append(use)
    return uses
