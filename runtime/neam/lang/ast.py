"""The Neam abstract syntax tree: typed dataclasses with a source position on every node.

Positions are 1-based lines and columns; ``end_column`` is one past the last
character, as lark reports it. The tree is plain data so that the compiled form
(:mod:`neam.lang.neamb`) can serialise it generically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    """Base of every AST node; positions are keyword-only so subclasses keep positional fields."""

    line: int = field(default=0, kw_only=True)
    column: int = field(default=0, kw_only=True)
    end_line: int = field(default=0, kw_only=True)
    end_column: int = field(default=0, kw_only=True)


# ----------------------------------------------------------------- expressions


@dataclass
class Expr(Node):
    pass


@dataclass
class Literal(Expr):
    value: Any  # None, bool, int, float or str


@dataclass
class MatchArm(Node):
    """``pattern => result``: ``value`` for an expression result, else ``body``."""

    pattern: Expr
    value: Expr | None
    body: list[Stmt]


@dataclass
class Match(Expr):
    subject: Expr
    arms: list[MatchArm]


@dataclass
class NamedArg(Expr):
    """``name: value`` in a call's arguments; passed positionally, in order."""

    name: str
    value: Expr


@dataclass
class Ternary(Expr):
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass
class Name(Expr):
    name: str


@dataclass
class ListExpr(Expr):
    items: list[Expr]


@dataclass
class MapEntry(Node):
    key: str
    value: Expr


@dataclass
class MapExpr(Expr):
    entries: list[MapEntry]


@dataclass
class Unary(Expr):
    op: str  # "!" or "-"
    operand: Expr


@dataclass
class Binary(Expr):
    op: str  # + - * / % == != < <= > >= && ||
    left: Expr
    right: Expr


@dataclass
class Call(Expr):
    callee: Expr
    args: list[Expr]


@dataclass
class Attribute(Expr):
    obj: Expr
    name: str


@dataclass
class Index(Expr):
    obj: Expr
    index: Expr


@dataclass
class Slice(Expr):
    """``obj[start:stop]`` on a list or string; a missing bound is None."""

    obj: Expr
    start: Expr | None
    stop: Expr | None


@dataclass
class Lambda(Expr):
    """``fn(params) { body }`` used as a value; it closes over the scope it is created in."""

    fn: FunDecl


@dataclass
class Spawn(Expr):
    """``spawn name(task)`` (``agent`` is a Literal name) or ``spawn(expr, task)``."""

    agent: Expr
    args: list[Expr]
    keyword_form: bool


# ----------------------------------------------------------------- statements


@dataclass
class Stmt(Node):
    pass


@dataclass
class Let(Stmt):
    name: str
    value: Expr
    const: bool = False


@dataclass
class Assign(Stmt):
    target: Expr  # Name, Attribute or Index
    op: str  # "=", "+=", "-=", "*=", "/="
    value: Expr


@dataclass
class Block(Stmt):
    body: list[Stmt]


@dataclass
class If(Stmt):
    cond: Expr
    then: Block
    orelse: Stmt | None  # Block, If or None


@dataclass
class While(Stmt):
    cond: Expr
    body: Block


@dataclass
class ForIn(Stmt):
    var: str
    iterable: Expr
    body: Block
    # `for (k, v in m)`: map keys and values; `for (i, x in xs)`: the items of
    # a list of pairs (e.g. `enumerate(xs)`) are unpacked, other items are
    # numbered.
    second: str | None = None


@dataclass
class Break(Stmt):
    pass


@dataclass
class Continue(Stmt):
    pass


@dataclass
class Return(Stmt):
    value: Expr | None


@dataclass
class Emit(Stmt):
    value: Expr


@dataclass
class ExprStmt(Stmt):
    expr: Expr


# ----------------------------------------------------------------- declarations


@dataclass
class Param(Node):
    name: str
    type: str | None = None


@dataclass
class FunDecl(Node):
    """A function, handler (``on_observation(text) {..}``), skill ``impl`` or trait method."""

    name: str
    params: list[Param]
    body: Block | None  # None for a trait method signature without a default body


@dataclass
class ConfigValue(Node):
    pass


@dataclass
class ConfigScalar(ConfigValue):
    value: Any  # None, bool, int, float or str


@dataclass
class ConfigRef(ConfigValue):
    """A bare identifier in a declaration body: a reference to a skill, guard, function, ..."""

    name: str


@dataclass
class ConfigList(ConfigValue):
    items: list[ConfigValue]


@dataclass
class ConfigCall(ConfigValue):
    """``name(args) { ... }`` or ``name { ... }`` in a declaration body, e.g.
    ``handoff_to(Billing) { tool_name: "billing" }`` or ``binding: builtin { ... }``."""

    name: str
    args: list[ConfigValue]
    body: ConfigBlock | None


@dataclass
class ConfigLambda(ConfigValue):
    """``fun(ctx) { ... }`` as a field value, e.g. an inline forge ``verify``."""

    fn: FunDecl


@dataclass
class ConfigField(Node):
    key: str
    value: ConfigValue


@dataclass
class ConfigBlock(ConfigValue):
    """A declaration body or nested block: fields plus handler functions."""

    fields: list[ConfigField]
    handlers: list[FunDecl]


@dataclass
class AgentNode(Node):
    kind: str  # "agent", "claw" or "forge"
    name: str
    body: ConfigBlock


@dataclass
class DeclNode(Node):
    """``skill``, ``guard``, ``channel`` or ``struct`` declaration, or one of the wider
    language's other ``word Name { ... }`` declarations (``runner``, ``knowledge``, ...),
    whose keyword position is kept for diagnostics."""

    keyword: str
    name: str
    body: ConfigBlock
    extern: bool = False  # `extern skill`: no impl, provided by the host
    keyword_line: int = 0
    keyword_column: int = 0


@dataclass
class GuardChainNode(Node):
    name: str
    members: list[ConfigRef]


@dataclass
class TraitNode(Node):
    name: str
    methods: list[FunDecl]


@dataclass
class ImplNode(Node):
    trait: str | None  # None for ``impl Name { ... }`` without a trait
    target: str
    methods: list[FunDecl]
    target_line: int = 0
    target_column: int = 0


@dataclass
class UseDecl(Node):
    """``use a.b;`` / ``import a.b as c;`` / ``module a.b;``: recorded, not resolved."""

    keyword: str
    path: list[str]
    alias: str | None


@dataclass
class TestDecl(Node):
    """``test "name" { ... }``: checked like a function body; ``neam run`` skips it."""

    name: str
    body: Block


@dataclass
class Module(Node):
    items: list[Node]  # declarations and top-level statements in source order


def plain(value: ConfigValue) -> Any:
    """A declaration value as plain Python data; references become their names."""
    if isinstance(value, ConfigScalar):
        return value.value
    if isinstance(value, ConfigRef):
        return value.name
    if isinstance(value, ConfigList):
        return [plain(v) for v in value.items]
    if isinstance(value, ConfigBlock):
        return {f.key: plain(f.value) for f in value.fields}
    if isinstance(value, ConfigLambda):
        return value.fn.name
    if isinstance(value, ConfigCall):
        out: dict[str, Any] = {"call": value.name, "args": [plain(a) for a in value.args]}
        if value.body is not None:
            out["config"] = plain(value.body)
        return out
    raise TypeError(f"not a declaration value: {value!r}")
