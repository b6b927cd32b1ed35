"""Static checks on a parsed module: declarations, fields, references, traits, code.

Every problem is reported (not only the first), each with a stable ``code``.
Codes: duplicate-declaration, duplicate-field, duplicate-impl, duplicate-method,
unknown-field, field-not-allowed, missing-field, field-type, field-range,
unknown-skill, unknown-guard, unknown-channel, unknown-function, unknown-agent,
unknown-trait, unknown-impl-target, missing-trait-method, unknown-trait-method,
unknown-handler, missing-impl, skill-params, dag-node, break-outside-loop,
continue-outside-loop, not-forge, unknown-name, unknown-declaration, unknown-reference,
trait-not-allowed, too-deep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields as dc_fields
from typing import Any

from neam.lang import ast, schema
from neam.lang.diagnostics import Diagnostic
from neam.lang.natives import NAMESPACES, NATIVES
from neam.lang.scopes import UnknownName, unknown_names

# How deeply blocks, expressions and values may nest: the checker, the compiled
# form (.neamb) and the interpreter all walk the tree recursively, and this
# keeps them well inside Python's recursion limit.
MAX_NESTING = 200

_REF_LABEL = {
    "skill": "skill",
    "guard": "guard",
    "guardchain": "guardchain",
    "channel": "channel",
    "function": "function",
}
_REF_CODE = {
    "skill": "unknown-skill",
    "guard": "unknown-guard",
    "guardchain": "unknown-guard",
    "channel": "unknown-channel",
    "function": "unknown-function",
}


# Functions the wider Neam runtime provides that this interpreter does not: calling
# them is not flagged by the checker (they fail at run time here, with a clear error).
WIDER_NATIVES = frozenset(
    (
        "assert", "assert_eq", "assert_ne", "assert_true", "assert_false",
        "push", "pop", "append", "values", "contains", "split", "join", "trim",
        "upper", "lower", "replace", "substr", "starts_with", "ends_with", "format",
        "min", "max", "round", "ceil", "sqrt", "pow", "random", "int", "float", "bool",
        "to_string", "to_number", "parse_int", "parse_float", "type_of", "typeof",
        "now", "time", "sleep", "uuid", "env", "getenv", "log", "debug",
        "read_file", "write_file", "file_exists", "http_get", "http_post", "http_request", "exec",
        "Some", "Ok", "Err", "panic", "sort_by", "sort", "take", "filter", "map",
        "reduce", "zip", "sum", "any", "all", "reverse", "unique", "flatten",
        "agent_status", "agent_pause", "agent_resume", "agent_get_goals",
        "agent_set_goals", "agent_reflect", "agent_rate", "agent_learning_stats",
        "agent_prompt_history",
    )
)  # fmt: skip


class _Checker:
    def __init__(self, module: ast.Module, filename: str) -> None:
        self.module = module
        self.filename = filename
        self.diagnostics: list[Diagnostic] = []
        # name -> (namespace, node); one namespace for all top-level declarations
        self.decls: dict[str, tuple[str, ast.Node]] = {}
        self.by_kind: dict[str, set[str]] = {
            k: set()
            for k in (
                "agent",
                "claw",
                "forge",
                "skill",
                "guard",
                "guardchain",
                "channel",
                "function",
                "struct",
                "trait",
                *schema.OTHER_DECLS,
            )
        }

    # ---------------------------------------------------------------- reporting

    def report(
        self, node: Any, code: str, message: str, severity: str = "error", span: bool = True
    ) -> None:
        line, col = node.line, node.column
        end_line, end_col = (node.end_line, node.end_column) if span else (line, col + 1)
        if end_line < line or (end_line == line and end_col <= col):
            end_line, end_col = line, col + 1
        self.diagnostics.append(
            Diagnostic(self.filename, line, col, end_line, end_col, severity, code, message)
        )

    def report_repeats(
        self, items: Iterable[ast.FunDecl], code: str, message: Callable[[str], str]
    ) -> None:
        """Reports, at its name, every item whose name an earlier item already used."""
        seen: set[str] = set()
        for item in items:
            if item.name in seen:
                self.report(self.name_span(item, item.name), code, message(item.name))
            seen.add(item.name)

    def name_span(self, node: ast.Node, name: str) -> ast.Node:
        """A zero-size node spanning ``name`` at ``node``'s start (declarations point at names)."""
        return ast.Node(
            line=node.line,
            column=node.column,
            end_line=node.line,
            end_column=node.column + len(name),
        )

    # ---------------------------------------------------------------- driver

    def run(self) -> list[Diagnostic]:
        self.collect()
        impl_seen: dict[tuple[str | None, str], ast.ImplNode] = {}
        walkable: list[ast.Node] = []
        for item in self.module.items:
            deep = first_too_deep(item)
            if deep is not None:  # its other checks would walk too deep; report only this
                self.report(
                    deep,
                    "too-deep",
                    f"nested more than {MAX_NESTING} levels deep (blocks, expressions or "
                    "values inside each other)",
                    span=False,
                )
                continue
            walkable.append(item)
            if isinstance(item, ast.AgentNode):
                self.check_agent(item)
            elif isinstance(item, ast.DeclNode):
                self.check_decl(item)
            elif isinstance(item, ast.GuardChainNode):
                self.check_guardchain(item)
            elif isinstance(item, ast.FunDecl):
                self.check_function(item)
            elif isinstance(item, ast.TraitNode):
                self.check_trait(item)
            elif isinstance(item, ast.ImplNode):
                key = (item.trait, item.target)
                if key in impl_seen:
                    what = f"impl {item.trait} for {item.target}" if item.trait else item.target
                    first = impl_seen[key]
                    self.report(
                        self.name_span(item, item.trait or item.target),
                        "duplicate-impl",
                        f"duplicate {what} (first at line {first.line}:{first.column})",
                    )
                else:
                    impl_seen[key] = item
                self.check_impl(item)
            elif isinstance(item, ast.TestDecl):
                self.check_code(item.body.body, in_loop=False)
            elif isinstance(item, ast.Stmt):
                self.check_code([item], in_loop=False)
        self.check_names(walkable)
        self.diagnostics.sort(key=lambda d: (d.line, d.column))
        return self.diagnostics

    def check_names(self, items: list[ast.Node]) -> None:
        """Reports the first use of every name that nothing in scope declares."""
        known = self.decls.keys() | NATIVES.keys() | NAMESPACES.keys() | WIDER_NATIVES
        for use in unknown_names(items, known):
            name = use.name
            if use.kind in ("ask", "run"):  # `x.ask()` where no variable `x` is in scope
                self.check_agent_method(use)
                continue
            message = {
                "read": f"'{name}' is not defined here (no variable, parameter, function, "
                "native or declaration of that name is in scope)",
                "call": f"'{name}' is not a declared function, a native or a variable in scope",
                "assign": f"assignment to undeclared variable '{name}' (declare it with let)",
                "statement": f"'{name}' is not a keyword, declaration or variable",
            }[use.kind]
            self.report(use.node, "unknown-name", message)

    def check_agent_method(self, use: UnknownName) -> None:
        name = use.name
        if name not in self.decls:
            self.report(use.node, "unknown-agent", f"unknown agent '{name}' in {name}.{use.kind}()")
        elif use.kind == "run" and name in self.by_kind["agent"] | self.by_kind["claw"]:
            self.report(
                use.node,
                "not-forge",
                f"'{name}' is not a forge agent; only forge agents have .run()",
                severity="warning",
            )

    def collect(self) -> None:
        for item in self.module.items:
            kind, name = _decl_kind(item)
            if kind is None or name is None:
                continue
            if kind not in self.by_kind:
                assert isinstance(item, ast.DeclNode)
                self.report(
                    ast.Node(
                        line=item.keyword_line,
                        column=item.keyword_column,
                        end_line=item.keyword_line,
                        end_column=item.keyword_column + len(kind),
                    ),
                    "unknown-declaration",
                    f"unknown declaration kind '{kind}' (expected agent, skill, guard, channel, "
                    "struct, ...)",
                )
                continue
            if name in self.decls:
                _, first = self.decls[name]
                self.report(
                    self.name_span(item, name),
                    "duplicate-declaration",
                    f"duplicate declaration of '{name}' (first declared at line "
                    f"{first.line}:{first.column})",
                )
                continue
            self.decls[name] = (kind, item)
            self.by_kind[kind].add(name)

    # ---------------------------------------------------------------- declarations

    def check_fields(
        self, body: ast.ConfigBlock, specs: dict[str, schema.Spec], owner: str, strict: bool = True
    ) -> dict[str, ast.ConfigField]:
        """Checks keys against ``specs``; returns the first occurrence of each key."""
        seen: dict[str, ast.ConfigField] = {}
        for fld in body.fields:
            if fld.key in seen:
                first = seen[fld.key]
                self.report(
                    self.name_span(fld, fld.key),
                    "duplicate-field",
                    f"duplicate field '{fld.key}' in {owner} (first at line "
                    f"{first.line}:{first.column})",
                )
                continue
            seen[fld.key] = fld
            spec = specs.get(fld.key)
            if spec is None:
                if strict:
                    self.report(
                        self.name_span(fld, fld.key),
                        "unknown-field",
                        f"unknown field '{fld.key}' in {owner}",
                    )
                else:
                    self.report(
                        self.name_span(fld, fld.key),
                        "unknown-field",
                        f"unknown field '{fld.key}' in {owner}",
                        severity="warning",
                    )
                continue
            self.check_value(fld.value, spec, f"'{fld.key}'", owner)
        return seen

    def check_value(self, value: ast.ConfigValue, spec: schema.Spec, what: str, owner: str) -> None:
        kind = spec.kind
        if isinstance(value, ast.ConfigLambda):
            if kind == "any" or (kind == "ref" and "function" in spec.ref_kinds):
                self.check_function(value.fn)
            else:
                self.report(value, "field-type", f"{what} must be {spec.describe()}")
            return
        if kind == "any":
            return
        if kind == "block":
            if not isinstance(value, ast.ConfigBlock):
                self.report(value, "field-type", f"{what} must be {spec.describe()}")
                return
            for h in value.handlers:
                self.report(
                    self.name_span(h, h.name),
                    "unknown-field",
                    f"unexpected function '{h.name}' in {what}",
                )
            self.check_fields(value, spec.fields, f"{what} of {owner}", strict=spec.strict)
            return
        if kind in ("refs", "ref"):
            self.check_refs(value, spec, what)
            return
        if kind == "ref_or_value":
            if isinstance(value, ast.ConfigRef):
                self.check_refs(value, schema.ref(*spec.ref_kinds), what)
            return
        if kind == "agent":
            self.check_agent_ref(value, what)
            return
        if kind == "lanes":
            # `{ name: { concurrency: 4, priority: "high" }, ... }`; other shapes are free-form.
            if isinstance(value, ast.ConfigBlock):
                for lane in value.fields:
                    if isinstance(lane.value, ast.ConfigBlock):
                        for opt in lane.value.fields:
                            if opt.key == "concurrency":
                                self.check_value(opt.value, schema.POS_INT, "'concurrency'", owner)
            return
        if kind == "handoffs":
            if not isinstance(value, ast.ConfigList):
                self.report(value, "field-type", f"{what} must be a list of agents")
                return
            for item in value.items:
                if isinstance(item, ast.ConfigCall) and item.args:
                    self.check_agent_ref(item.args[0], what)
                elif not isinstance(item, ast.ConfigCall):
                    self.check_agent_ref(item, what)
            return
        if kind == "typename":
            if _name_of(value) is None:
                self.report(value, "field-type", f"{what} must be {spec.describe()}")
            return
        scalar = value.value if isinstance(value, ast.ConfigScalar) else _NotScalar
        if kind == "string":
            ok = isinstance(scalar, str)
        elif kind == "bool":
            ok = isinstance(scalar, bool)
        elif kind == "enum":
            if isinstance(scalar, str) and scalar not in spec.choices:
                self.report(
                    value,
                    "field-range",
                    f'{what} must be {spec.describe()}, not "{scalar}"',
                )
                return
            ok = isinstance(scalar, str)
        elif kind == "int":
            ok = isinstance(scalar, int) and not isinstance(scalar, bool)
        elif kind == "number":
            ok = isinstance(scalar, int | float) and not isinstance(scalar, bool)
        else:  # pragma: no cover - every Spec kind is handled above
            raise AssertionError(kind)
        if not ok:
            self.report(value, "field-type", f"{what} must be {spec.describe()}")
            return
        if kind in ("int", "number"):
            self.check_range(value, scalar, spec, what)

    def check_range(self, node: ast.Node, number: float, spec: schema.Spec, what: str) -> None:
        lo, hi = spec.minimum, spec.maximum
        if lo is not None and (number <= lo if spec.exclusive_min else number < lo):
            bound = "greater than" if spec.exclusive_min else "at least"
            if spec.exclusive_min and lo == 0:
                message = f"{what} must be positive, got {number}"
            else:
                message = f"{what} must be {bound} {lo:g}, got {number}"
            self.report(node, "field-range", message)
        elif hi is not None and number > hi:
            self.report(node, "field-range", f"{what} must be at most {hi:g}, got {number}")

    def check_agent_ref(self, value: ast.ConfigValue, what: str) -> None:
        name = _name_of(value)
        if name is None:
            self.report(value, "field-type", f"{what} must name an agent")
            return
        self.check_agent_name(value, name, what)

    def check_refs(self, value: ast.ConfigValue, spec: schema.Spec, what: str) -> None:
        if spec.kind == "refs":
            if not isinstance(value, ast.ConfigList):
                self.report(value, "field-type", f"{what} must be a list of names, e.g. [a, b]")
                return
            items = value.items
        else:
            items = [value]
        for item in items:
            name = _name_of(item)
            if name is None:
                self.report(item, "field-type", f"{what} must name a declaration")
                continue
            if spec.ref_kinds and not any(name in self.by_kind[k] for k in spec.ref_kinds):
                label = " or ".join(dict.fromkeys(_REF_LABEL.get(k, k) for k in spec.ref_kinds))
                code = _REF_CODE.get(spec.ref_kinds[0], "unknown-reference")
                if spec.ref_kinds == ("channel",) and name in self.decls:
                    # Neam resolves channel names loosely; its own guide lists skills there.
                    other = self.decls[name][0]
                    self.report(
                        item,
                        code,
                        f"'{name}' in {what} is a {other}, not a channel",
                        severity="warning",
                    )
                    continue
                self.report(item, code, f"unknown {label} '{name}' in {what}")

    def check_agent(self, node: ast.AgentNode) -> None:
        owner = f"{schema.AGENT_KIND_NAMES[node.kind]} '{node.name}'"
        specs = schema.agent_fields(node.kind)
        for fld in node.body.fields:
            home = schema.owner_of(fld.key)
            if home is not None and home != node.kind and fld.key not in specs:
                self.report(
                    self.name_span(fld, fld.key),
                    "field-not-allowed",
                    f"field '{fld.key}' is only allowed on {schema.AGENT_KIND_NAMES[home]}s, "
                    f"not in {owner}",
                )
        allowed_elsewhere = {f.key for f in node.body.fields if schema.owner_of(f.key)}
        body = ast.ConfigBlock(
            [f for f in node.body.fields if f.key in specs or f.key not in allowed_elsewhere],
            [],
        )
        seen = self.check_fields(body, specs, owner)
        for h in node.body.handlers:
            self.report(
                self.name_span(h, h.name),
                "unknown-field",
                f"unexpected function '{h.name}' in {owner}",
            )
        for required in schema.AGENT_REQUIRED[node.kind]:
            if required not in seen:
                self.report(
                    self.name_span(node, node.name),
                    "missing-field",
                    f"{owner} is missing required field '{required}'",
                )

    def check_decl(self, node: ast.DeclNode) -> None:
        owner = f"{node.keyword} '{node.name}'"
        body = node.body
        if node.keyword == "skill":
            seen = self.check_fields(body, schema.SKILL_FIELDS, owner)
            impls = [h for h in body.handlers if h.name == "impl"]
            for h in body.handlers:
                if h.name != "impl":
                    self.report(
                        self.name_span(h, h.name),
                        "unknown-handler",
                        f"unknown handler '{h.name}' in {owner} (skills have one 'impl')",
                    )
                else:
                    self.check_function(h)
            for extra in impls[1:]:
                self.report(
                    self.name_span(extra, "impl"),
                    "duplicate-method",
                    f"{owner} has more than one impl",
                )
            if not impls and not node.extern:
                self.report(
                    self.name_span(node, node.name), "missing-impl", f"{owner} has no impl(...)"
                )
            params = seen.get("params")
            if params is not None and isinstance(params.value, ast.ConfigList):
                # The list form: [{ name: "q", schema: { "type": "string" } }, ...]
                for item in params.value.items:
                    names = (
                        [f.key for f in item.fields] if isinstance(item, ast.ConfigBlock) else []
                    )
                    if "name" not in names:
                        self.report(
                            item, "field-type", "each entry of 'params' must be { name: ..., ... }"
                        )
            elif params is not None and not isinstance(params.value, ast.ConfigBlock):
                self.report(
                    params.value, "field-type", "'params' must be a block { name: type, ... }"
                )
            elif params is not None and isinstance(params.value, ast.ConfigBlock):
                for p in params.value.fields:
                    if not isinstance(p.value, ast.ConfigBlock):  # a block: {type: .., ...}
                        self.check_value(p.value, schema.TYPENAME, f"parameter '{p.key}'", owner)
                if impls and len(impls[0].params) != len(params.value.fields):
                    self.report(
                        self.name_span(impls[0], "impl"),
                        "skill-params",
                        f"impl of {owner} takes {len(impls[0].params)} parameter(s) but "
                        f"params declares {len(params.value.fields)}",
                        severity="warning",
                    )
            if "description" not in seen:
                self.report(
                    self.name_span(node, node.name),
                    "missing-field",
                    f"{owner} has no description (the LLM sees it as the tool description)",
                    severity="warning",
                )
        elif node.keyword == "guard":
            self.check_fields(body, schema.GUARD_FIELDS, owner)
            for h in body.handlers:
                if h.name not in schema.GUARD_HANDLERS:
                    self.report(
                        self.name_span(h, h.name),
                        "unknown-handler",
                        f"unknown guard handler '{h.name}' in {owner} (expected one of "
                        f"{', '.join(schema.GUARD_HANDLERS)})",
                    )
                self.check_function(h)
            self.report_repeats(
                (h for h in body.handlers if h.name in schema.GUARD_HANDLERS),
                "duplicate-method",
                lambda name: f"duplicate handler '{name}' in {owner}",
            )
        elif node.keyword == "channel":
            # Besides `type`, channel keys are transport options (port, path, token_env, ...).
            options = {f.key: schema.ANY for f in body.fields} | schema.CHANNEL_FIELDS
            self.check_fields(body, options, owner)
        elif node.keyword in schema.OTHER_DECLS:
            # Fields are free-form options of the wider language; named ones are checked.
            options = {f.key: schema.ANY for f in body.fields} | schema.OTHER_DECLS[node.keyword]
            self.check_fields(body, options, owner)
            for h in body.handlers:
                self.check_function(h)
        elif node.keyword == "struct":
            seen_struct: set[str] = set()
            for fld in body.fields:
                if fld.key in seen_struct:
                    self.report(
                        self.name_span(fld, fld.key),
                        "duplicate-field",
                        f"duplicate field '{fld.key}' in {owner}",
                    )
                seen_struct.add(fld.key)
                self.check_value(fld.value, schema.TYPENAME, f"field '{fld.key}'", owner)

    def check_guardchain(self, node: ast.GuardChainNode) -> None:
        for member in node.members:
            if member.name not in self.by_kind["guard"] | self.by_kind["guardchain"]:
                self.report(
                    member,
                    "unknown-guard",
                    f"unknown guard '{member.name}' in guardchain '{node.name}'",
                )
            elif member.name == node.name:
                self.report(member, "unknown-guard", f"guardchain '{node.name}' contains itself")

    def check_trait(self, node: ast.TraitNode) -> None:
        self.report_repeats(
            node.methods,
            "duplicate-method",
            lambda name: f"duplicate method '{name}' in trait '{node.name}'",
        )
        for m in node.methods:
            if m.body is not None:
                self.check_function(m)

    def check_impl(self, node: ast.ImplNode) -> None:
        target_node = ast.Node(
            line=node.target_line,
            column=node.target_column,
            end_line=node.target_line,
            end_column=node.target_column + len(node.target),
        )
        agents = self.by_kind["agent"] | self.by_kind["claw"] | self.by_kind["forge"]
        if node.trait is None:
            if node.target not in self.by_kind["struct"]:
                self.report(
                    target_node, "unknown-impl-target", f"unknown struct '{node.target}' in impl"
                )
        elif node.target not in agents | self.by_kind["struct"]:
            self.report(
                target_node,
                "unknown-impl-target",
                f"unknown agent or struct '{node.target}' in impl {node.trait}",
            )
        self.report_repeats(
            node.methods, "duplicate-method", lambda name: f"duplicate method '{name}' in impl"
        )
        names = {m.name: m for m in node.methods}
        for m in node.methods:
            self.check_function(m)
        if node.trait is None:
            return
        trait_span = self.name_span(node, node.trait)
        if node.trait in schema.CLAW_ONLY_TRAITS:
            for kind in ("forge", "agent"):
                if node.target in self.by_kind[kind]:
                    self.report(
                        trait_span,
                        "trait-not-allowed",
                        f"{node.trait} cannot be implemented for "
                        f"{schema.AGENT_KIND_NAMES[kind]} '{node.target}' (claw agents only)",
                    )
        builtin = schema.BUILTIN_TRAITS.get(node.trait)
        if builtin is not None:
            required, known = builtin.required, builtin.known
            extra_severity = "warning"
            if builtin.one_of and not names.keys() & set(builtin.one_of):
                self.report(
                    trait_span,
                    "missing-trait-method",
                    f"impl {node.trait} for {node.target} must define at least one of: "
                    + ", ".join(builtin.one_of),
                )
        elif node.trait in self.by_kind["trait"]:
            trait = self.decls[node.trait][1]
            assert isinstance(trait, ast.TraitNode)
            required = tuple(m.name for m in trait.methods if m.body is None)
            known = {m.name for m in trait.methods}
            extra_severity = "error"
        else:
            self.report(trait_span, "unknown-trait", f"unknown trait '{node.trait}'")
            return
        for name in required:
            if name not in names:
                self.report(
                    trait_span,
                    "missing-trait-method",
                    f"impl {node.trait} for {node.target} is missing method '{name}'",
                )
        for name, m in names.items():
            if name not in known:
                self.report(
                    self.name_span(m, name),
                    "unknown-trait-method",
                    f"method '{name}' is not part of trait '{node.trait}'",
                    severity=extra_severity,
                )

    # ---------------------------------------------------------------- code

    def check_function(self, fn: ast.FunDecl) -> None:
        if fn.body is not None:
            self.check_code(fn.body.body, in_loop=False)

    def check_code(self, stmts: list[ast.Stmt], in_loop: bool) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.Break | ast.Continue):
                if not in_loop:
                    word = "break" if isinstance(stmt, ast.Break) else "continue"
                    self.report(stmt, f"{word}-outside-loop", f"'{word}' outside a loop")
                continue
            if isinstance(stmt, ast.While | ast.ForIn):
                for expr in _stmt_exprs(stmt):
                    self.check_expr(expr)
                self.check_code(stmt.body.body, in_loop=True)
                continue
            if isinstance(stmt, ast.Block):
                self.check_code(stmt.body, in_loop)
                continue
            if isinstance(stmt, ast.If):
                self.check_expr(stmt.cond)
                self.check_code(stmt.then.body, in_loop)
                if stmt.orelse is not None:
                    self.check_code([stmt.orelse], in_loop)
                continue
            for expr in _stmt_exprs(stmt):
                self.check_expr(expr)

    def check_expr(self, expr: ast.Expr) -> None:
        for node in _walk_expr(expr):
            if isinstance(node, ast.Spawn):
                agent = node.agent
                if isinstance(agent, ast.Literal) and isinstance(agent.value, str):
                    self.check_agent_name(agent, agent.value, "spawn")
            elif isinstance(node, ast.Call):
                self.check_call(node)

    def check_call(self, call: ast.Call) -> None:
        callee = call.callee
        if (
            isinstance(callee, ast.Name)
            and callee.name == "dag_execute"
            and call.args
            and isinstance(call.args[0], ast.ListExpr)
        ):
            self.check_dag(call.args[0])

    def check_agent_name(self, node: ast.Node, name: str, where: str) -> None:
        agents = self.by_kind["agent"] | self.by_kind["claw"] | self.by_kind["forge"]
        if name not in agents:
            self.report(node, "unknown-agent", f"unknown agent '{name}' in {where}")

    def check_dag(self, nodes: ast.ListExpr) -> None:
        ids: dict[str, ast.Node] = {}
        deps: list[ast.Literal] = []
        for item in nodes.items:
            if not isinstance(item, ast.MapExpr):
                continue
            entries = {e.key: e for e in item.entries}
            id_entry = entries.get("id")
            if id_entry is None:
                self.report(item, "dag-node", 'dag_execute node has no "id"')
            elif isinstance(id_entry.value, ast.Literal) and isinstance(id_entry.value.value, str):
                if id_entry.value.value in ids:
                    self.report(
                        id_entry.value,
                        "dag-node",
                        f"duplicate dag_execute node id '{id_entry.value.value}'",
                    )
                ids[id_entry.value.value] = id_entry.value
            agent_entry = entries.get("agent")
            if agent_entry is None:
                self.report(item, "dag-node", 'dag_execute node has no "agent"')
            elif isinstance(agent_entry.value, ast.Literal) and isinstance(
                agent_entry.value.value, str
            ):
                self.check_agent_name(agent_entry.value, agent_entry.value.value, "dag_execute")
            dep_entry = entries.get("depends_on")
            if dep_entry is not None and isinstance(dep_entry.value, ast.ListExpr):
                deps.extend(
                    d
                    for d in dep_entry.value.items
                    if isinstance(d, ast.Literal) and isinstance(d.value, str)
                )
        for dep in deps:
            if dep.value not in ids:
                self.report(
                    dep, "dag-node", f"dag_execute node depends on unknown id '{dep.value}'"
                )


class _NotScalarType:
    pass


_NotScalar = _NotScalarType()


def _decl_kind(item: ast.Node) -> tuple[str | None, str | None]:
    if isinstance(item, ast.AgentNode):
        return item.kind, item.name
    if isinstance(item, ast.DeclNode):
        return item.keyword, item.name
    if isinstance(item, ast.GuardChainNode):
        return "guardchain", item.name
    if isinstance(item, ast.FunDecl):
        return "function", item.name
    if isinstance(item, ast.TraitNode):
        return "trait", item.name
    return None, None


_NODE_FIELDS: dict[type, tuple[str, ...]] = {}


def _children(node: ast.Node) -> list[Any]:
    """The sub-nodes and node lists of ``node`` (field names cached per class)."""
    names = _NODE_FIELDS.get(type(node))
    if names is None:
        names = _NODE_FIELDS[type(node)] = tuple(
            f.name
            for f in dc_fields(node)
            if f.name not in ("line", "column", "end_line", "end_column")
        )
    out = []
    for name in names:
        value = getattr(node, name)
        if isinstance(value, ast.Node | list):
            out.append(value)
    return out


def first_too_deep(item: ast.Node) -> ast.Node | None:
    """The first node, in source order, nested more than MAX_NESTING levels inside ``item``."""
    first: ast.Node | None = None
    stack: list[tuple[ast.Node, int]] = [(item, 1)]
    push = stack.append
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            if first is None or (node.line, node.column) < (first.line, first.column):
                first = node
            continue
        depth += 1
        for value in node.__dict__.values():
            if type(value) is list:
                for child in value:
                    if isinstance(child, ast.Node):
                        push((child, depth))
            elif isinstance(value, ast.Node):
                push((value, depth))
    return first


def _stmt_exprs(stmt: ast.Stmt) -> list[ast.Expr]:
    return [c for c in _children(stmt) if isinstance(c, ast.Expr)]


def _walk_expr(expr: ast.Expr) -> Iterator[ast.Expr]:
    stack: list[Any] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if isinstance(node, ast.MapEntry):
            stack.append(node.value)
            continue
        if not isinstance(node, ast.Expr):
            continue
        yield node
        stack.extend(_children(node))


def check(module: ast.Module, filename: str = "<input>") -> list[Diagnostic]:
    """All diagnostics (errors and warnings) for ``module``, sorted by position."""
    return _Checker(module, filename).run()


def _name_of(value: ast.ConfigValue) -> str | None:
    """The name a config value refers to: a bare identifier or a string; None otherwise."""
    if isinstance(value, ast.ConfigRef):
        return value.name
    if isinstance(value, ast.ConfigScalar) and isinstance(value.value, str):
        return value.value
    return None
