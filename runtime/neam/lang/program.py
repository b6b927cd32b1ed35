"""The checked program: declarations by kind, with agent configuration as plain data.

:func:`compile_source` parses, checks and builds a :class:`Program`; the
runtime, API server and operator read ``Program`` and never touch the AST of
agents, only the function bodies the interpreter runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neam.lang import ast
from neam.lang.checker import check
from neam.lang.diagnostics import Diagnostic, NeamCompileError, format_all
from neam.lang.parser import parse


@dataclass
class AgentDecl:
    name: str
    kind: str  # "agent", "claw" or "forge"
    line: int
    column: int
    config: dict[str, Any]  # plain data; references are names (str / list[str])


@dataclass
class SkillDecl:
    name: str
    description: str
    params: dict[str, str]  # parameter -> type name
    sensitive: bool
    impl: ast.FunDecl | None
    line: int = 0
    column: int = 0
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class GuardDecl:
    name: str
    description: str
    handlers: dict[str, ast.FunDecl]  # e.g. "on_observation" -> handler
    line: int = 0
    column: int = 0


@dataclass
class ChannelDecl:
    name: str
    config: dict[str, Any]
    line: int = 0
    column: int = 0


@dataclass
class StructDecl:
    name: str
    fields: dict[str, str]  # field -> type name
    line: int = 0
    column: int = 0


@dataclass
class TraitDecl:
    name: str
    methods: dict[str, ast.FunDecl]  # body None = required
    line: int = 0
    column: int = 0


@dataclass
class ImplDecl:
    trait: str | None
    target: str
    methods: dict[str, ast.FunDecl]
    line: int = 0
    column: int = 0


@dataclass
class Program:
    filename: str
    source_hash: str
    agents: dict[str, AgentDecl] = field(default_factory=dict)
    claw_agents: dict[str, AgentDecl] = field(default_factory=dict)
    forge_agents: dict[str, AgentDecl] = field(default_factory=dict)
    skills: dict[str, SkillDecl] = field(default_factory=dict)
    guards: dict[str, GuardDecl] = field(default_factory=dict)
    guardchains: dict[str, list[str]] = field(default_factory=dict)
    channels: dict[str, ChannelDecl] = field(default_factory=dict)
    functions: dict[str, ast.FunDecl] = field(default_factory=dict)
    structs: dict[str, StructDecl] = field(default_factory=dict)
    traits: dict[str, TraitDecl] = field(default_factory=dict)
    impls: list[ImplDecl] = field(default_factory=list)
    toplevel: list[ast.Stmt] = field(default_factory=list)  # top-level statements in order

    def agent(self, name: str) -> AgentDecl | None:
        """Any agent by name, looked up claw -> forge -> plain (spawn's resolution order)."""
        return self.claw_agents.get(name) or self.forge_agents.get(name) or self.agents.get(name)

    def impl_for(self, target: str, trait: str | None) -> ImplDecl | None:
        for impl in self.impls:
            if impl.target == target and impl.trait == trait:
                return impl
        return None

    def traits_of(self, target: str) -> list[str]:
        return [i.trait for i in self.impls if i.target == target and i.trait]

    def resolve_guards(self, names: list[str]) -> list[str]:
        """Expands guardchain names into the guard names they list, in order."""
        out: list[str] = []
        for name in names:
            if name in self.guardchains:
                out.extend(self.resolve_guards(self.guardchains[name]))
            else:
                out.append(name)
        return out


@dataclass
class CompileResult:
    diagnostics: list[Diagnostic]
    program: Program | None
    source: str = ""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def format(self) -> str:
        return format_all(self.diagnostics, self.source)


def block_config(block: ast.ConfigBlock) -> dict[str, Any]:
    return {f.key: ast.plain(f.value) for f in block.fields}


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def build_program(module: ast.Module, filename: str, digest: str) -> Program:
    """Builds the :class:`Program` of a module that checked clean (first declaration wins)."""
    prog = Program(filename=filename, source_hash=digest)
    by_kind = {"agent": prog.agents, "claw": prog.claw_agents, "forge": prog.forge_agents}
    for item in module.items:
        if isinstance(item, ast.AgentNode):
            table = by_kind[item.kind]
            for fld in item.body.fields:
                if isinstance(fld.value, ast.ConfigLambda):
                    # An inline `verify: fun(ctx) { ... }` becomes a function the runtime
                    # calls by name; `agent.field` cannot clash with a Neam identifier.
                    fld.value.fn.name = f"{item.name}.{fld.key}"
                    prog.functions.setdefault(fld.value.fn.name, fld.value.fn)
            cfg = block_config(item.body)
            if "guardchains" in cfg and "guards" not in cfg:
                cfg["guards"] = cfg["guardchains"]  # the runtime reads `guards`
            table.setdefault(
                item.name, AgentDecl(item.name, item.kind, item.line, item.column, cfg)
            )
        elif isinstance(item, ast.DeclNode):
            _add_decl(prog, item)
        elif isinstance(item, ast.GuardChainNode):
            prog.guardchains.setdefault(item.name, [m.name for m in item.members])
        elif isinstance(item, ast.FunDecl):
            prog.functions.setdefault(item.name, item)
        elif isinstance(item, ast.TraitNode):
            methods = {m.name: m for m in item.methods}
            prog.traits.setdefault(item.name, TraitDecl(item.name, methods, item.line, item.column))
        elif isinstance(item, ast.ImplNode):
            methods = {m.name: m for m in item.methods}
            prog.impls.append(ImplDecl(item.trait, item.target, methods, item.line, item.column))
        elif isinstance(item, ast.Stmt):
            prog.toplevel.append(item)
    return prog


def _add_decl(prog: Program, item: ast.DeclNode) -> None:
    cfg = block_config(item.body)
    if item.keyword == "skill" and item.name not in prog.skills:
        impl = next((h for h in item.body.handlers if h.name == "impl"), None)
        params = cfg.get("params")
        prog.skills[item.name] = SkillDecl(
            name=item.name,
            description=str(cfg.get("description", "")),
            params=_param_types(params),
            sensitive=bool(cfg.get("sensitive", False)),
            impl=impl,
            line=item.line,
            column=item.column,
            config=cfg,
        )
    elif item.keyword == "guard" and item.name not in prog.guards:
        handlers = {h.name: h for h in item.body.handlers}
        prog.guards[item.name] = GuardDecl(
            item.name, str(cfg.get("description", "")), handlers, item.line, item.column
        )
    elif item.keyword == "channel" and item.name not in prog.channels:
        prog.channels[item.name] = ChannelDecl(item.name, cfg, item.line, item.column)
    elif item.keyword == "struct" and item.name not in prog.structs:
        fields = {k: str(v) for k, v in cfg.items()}
        prog.structs[item.name] = StructDecl(item.name, fields, item.line, item.column)


def _param_types(params: Any) -> dict[str, str]:
    """``params: { q: string }`` or ``params: { q: { type: string, ... } }`` -> {q: "string"}."""
    if isinstance(params, list):  # [{ name: "q", schema: { "type": "string" } }, ...]
        listed: dict[str, str] = {}
        for entry in params:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                schema = entry.get("schema")
                kind = schema.get("type") if isinstance(schema, dict) else entry.get("type")
                listed[entry["name"]] = str(kind or "any")
        return listed
    if not isinstance(params, dict):
        return {}
    out: dict[str, str] = {}
    for name, spec in params.items():
        if isinstance(spec, dict):
            out[name] = str(spec.get("type", "any"))
        else:
            out[name] = str(spec)
    return out


def compile_source(text: str, filename: str = "<input>") -> CompileResult:
    """Parses and checks ``text``; the program is ``None`` when there are errors."""
    invalid = _invalid_character(text, filename)
    if invalid is not None:
        return CompileResult([invalid], None, text)
    module, diagnostics = parse(text, filename)
    if module is None:
        return CompileResult(diagnostics, None, text)
    diagnostics = check(module, filename)
    if any(d.severity == "error" for d in diagnostics):
        return CompileResult(diagnostics, None, text)
    prog = build_program(module, filename, source_hash(text))
    return CompileResult(diagnostics, prog, text)


def _invalid_character(text: str, filename: str) -> Diagnostic | None:
    """A lone UTF-16 surrogate in ``text`` (it cannot be written as UTF-8), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        line = text.count("\n", 0, err.start) + 1
        column = err.start - (text.rfind("\n", 0, err.start) + 1) + 1
        code = ord(text[err.start])
        message = f"invalid character U+{code:04X} (half of a UTF-16 surrogate pair)"
        return Diagnostic(filename, line, column, line, column + 1, "error", "syntax", message)
    return None


def compile_file(path: str | Path) -> CompileResult:
    """Compiles a file; one that is not UTF-8 text is a read-error at the first bad byte.
    Raises OSError when the file cannot be read."""
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        before = data[: err.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        message = f"the file is not UTF-8 text (byte 0x{data[err.start]:02x})"
        diag = Diagnostic(str(path), line, column, line, column + 1, "error", "read-error", message)
        return CompileResult([diag], None, data.decode("utf-8", errors="replace"))
    return compile_source(text, str(path))


def load_program(path: str | Path) -> Program:
    """Loads a ``.neam`` source (compiling it) or a ``.neamb`` compiled program (no parsing)."""
    path = Path(path)
    if path.suffix == ".neamb":
        from neam.lang.neamb import read_neamb

        return read_neamb(path)
    result = compile_file(path)
    if result.program is None:
        raise NeamCompileError(result.errors, result.source)
    return result.program
