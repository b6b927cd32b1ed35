"""Source text -> :class:`neam.lang.ast.Module`, or a syntax :class:`Diagnostic`.

The lark parser is built once per process (LALR, fed by :mod:`neam.lang.lexer`) and the
transformer runs inline while parsing, so no lark tree is ever materialised.
Parsing is thread-safe: the transformer keeps no state.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from neam.lang import ast
from neam.lang.diagnostics import Diagnostic
from neam.lang.lexer import NeamLexer
from neam.lang.values import MAX_INT_DIGITS
from neam.text import clip

_GRAMMAR = Path(__file__).with_name("grammar.lark")

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "0": "\0",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "{": "{",
    "}": "}",
    "/": "/",
    "b": "\b",
    "f": "\f",
}


_OP_SYMBOL = {"or": "||", "and": "&&"}
_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    **dict.fromkeys(("==", "!=", "<", "<=", ">", ">=", "in"), 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
}


class _TransformError(Exception):
    """A syntax problem found while building the AST (e.g. assigning to a call)."""

    def __init__(self, code: str, message: str, node: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.node = node


class EscapeError(ValueError):
    """A malformed ``\\u`` escape; ``offset`` is its index in the string token."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_MAX_CODE_POINT = 0x10FFFF


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in _HEX_DIGITS for c in text)


def _unicode_escape(body: str, i: int) -> tuple[str | None, int]:
    """The character of the ``\\u`` escape at ``body[i]`` and the index after it.

    ``\\u{X...}`` takes 1 to 6 hex digits, ``\\uXXXX`` exactly four (a UTF-16
    surrogate pair ``\\uD83D\\uDE00`` is one character); ``None`` means ``\\u``
    not followed by hex digits, kept as written. A code point beyond U+10FFFF or
    a lone surrogate raises :class:`EscapeError`.
    """
    if body.startswith("{", i + 2):
        close = body.find("}", i + 3, i + 10)  # at most six digits before the '}'
        digits = body[i + 3 : close] if close > 0 else ""
        if not _is_hex(digits):
            raise EscapeError(r"invalid escape: \u{...} takes 1 to 6 hex digits and '}'", i)
        code, after = int(digits, 16), close + 1
    else:
        digits = body[i + 2 : i + 6]
        if len(digits) < 4 or not _is_hex(digits):
            return None, i + 1
        code, after = int(digits, 16), i + 6
        low = body[after + 2 : after + 6] if body.startswith("\\u", after) else ""
        if 0xD800 <= code < 0xDC00 and _is_hex(low) and 0xDC00 <= int(low, 16) < 0xE000:
            code = 0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00)
            after += 6
    if code > _MAX_CODE_POINT:
        raise EscapeError(f"invalid escape: U+{code:X} is beyond U+10FFFF", i)
    if 0xD800 <= code < 0xE000:
        raise EscapeError(f"invalid escape: U+{code:X} is half of a UTF-16 surrogate pair", i)
    return chr(code), after


def decode_string(raw: str) -> str:
    """Strips the quotes of a string token and resolves backslash escapes.

    Unknown escapes are kept verbatim (backslash included), which is liberal
    towards regex-like strings such as ``"\\d+"``; a malformed ``\\u`` escape
    raises :class:`EscapeError`.
    """
    quote = 3 if raw.startswith(('"""', "'''")) and len(raw) >= 6 else 1
    body = raw[quote:-quote]
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u":
            try:
                char, after = _unicode_escape(body, i)
            except EscapeError as err:
                raise EscapeError(err.message, err.offset + quote) from None
            out.append(ch if char is None else char)
            i = after
        elif nxt == "\n":  # line continuation
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _fstring_pieces(tok: Token) -> list[tuple[bool, str]]:
    """Splits an f-string body into (is_code, text) pieces; ``{{``/``}}`` are literal braces."""
    body = tok.value[2:-1]
    pieces: list[tuple[bool, str]] = []
    text: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            text.append(body[i : i + 2])
            i += 2
        elif body.startswith(("{{", "}}"), i):
            text.append(ch)
            i += 2
        elif ch == "{":
            end = body.find("}", i)
            if end < 0:
                raise _TransformError("syntax", "unclosed '{' in f-string", _tok(ast.Node(), tok))
            pieces.append((False, "".join(text)))
            text = []
            # Quotes inside the braces are escaped in the token: f"{m[\"k\"]}".
            pieces.append((True, body[i + 1 : end].replace('\\"', '"').replace("\\'", "'")))
            i = end + 1
        elif ch == "}":
            raise _TransformError(
                "syntax", "single '}' in f-string (use '}}')", _tok(ast.Node(), tok)
            )
        else:
            text.append(ch)
            i += 1
    pieces.append((False, "".join(text)))
    return pieces


def _interpolation(code: str, tok: Token) -> ast.Expr:
    """Parses one ``{expr}`` of an f-string; its nodes take the f-string's position."""
    if not code.strip():
        raise _TransformError("syntax", "empty expression in f-string", _tok(ast.Node(), tok))
    try:
        module = _LARK.parse(f"emit ({code});")
    except (UnexpectedInput, _TransformError):
        raise _TransformError(
            "syntax", f"invalid expression in f-string: {{{code}}}", _tok(ast.Node(), tok)
        ) from None
    emit = module.items[0]
    if len(module.items) != 1 or not isinstance(emit, ast.Emit):
        raise _TransformError(
            "syntax", f"invalid expression in f-string: {{{code}}}", _tok(ast.Node(), tok)
        )
    stack: list[Any] = [emit.value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, ast.Node):
            _tok(node, tok)
            stack.extend(v for v in vars(node).values() if isinstance(v, ast.Node | list))
    return emit.value


def _number(tok: Token) -> int | float:
    """The value of a NUMBER token; one the runtime could not hold is a positioned error."""
    text = tok.value
    if any(c in text for c in ".eE"):
        value = float(text)
        if math.isinf(value):
            message = f"number {clip(text, 40)} is too large for a 64-bit float"
            raise _TransformError("invalid-literal", message, _tok(ast.Node(), tok))
        return value
    if len(text) > MAX_INT_DIGITS:
        message = f"integer literal has {len(text)} digits; at most {MAX_INT_DIGITS} are allowed"
        raise _TransformError("invalid-literal", message, _tok(ast.Node(), tok))
    return int(text)


def _string(tok: Token) -> str:
    """The value of a STRING token; a malformed escape is an error at that escape."""
    try:
        return decode_string(tok.value)
    except EscapeError as err:
        raw = tok.value
        newline = raw.rfind("\n", 0, err.offset)
        line = tok.line + raw.count("\n", 0, err.offset)
        column = tok.column + err.offset if newline < 0 else err.offset - newline
        node = ast.Node(line=line, column=column, end_line=line, end_column=column + 2)
        raise _TransformError("invalid-literal", err.message, node) from None


def _tok(node: ast.Node, tok: Token) -> ast.Node:
    node.line, node.column = tok.line, tok.column
    node.end_line, node.end_column = tok.end_line, tok.end_column
    return node


def _positioned(item: Any) -> bool:
    return isinstance(item, Token) or (isinstance(item, ast.Node) and item.line > 0)


def _around(node: ast.Node, children: list[Any]) -> ast.Node:
    """Spans ``node`` from its first to its last positioned child (brackets are not kept)."""
    flat = [g for c in children for g in (c if isinstance(c, list) else (c,))]
    first = next((c for c in flat if _positioned(c)), None)
    if first is not None:
        last = next(c for c in reversed(flat) if _positioned(c))
        _span(node, first, last)
    return node


def _span(node: ast.Node, first: Any, last: Any) -> ast.Node:
    node.line, node.column = first.line, first.column
    node.end_line, node.end_column = last.end_line, last.end_column
    return node


def _tokens(children: list[Any], type_: str) -> list[Token]:
    return [c for c in children if isinstance(c, Token) and c.type == type_]


class _ToAst(Transformer):
    """Builds AST nodes bottom-up during the LALR parse."""

    # -------------------------------------------------------------- module

    def start(self, ch: list[ast.Node]) -> ast.Module:
        return _around(ast.Module(ch), ch)

    # -------------------------------------------------------------- declarations

    def agent_decl(self, ch: list[Any]) -> ast.AgentNode:
        name = ch[-2]
        kind = ch[0].value if len(ch) == 3 else "agent"
        return _tok(ast.AgentNode(kind, name.value, ch[-1]), name)

    def _decl(self, keyword: str, ch: list[Any]) -> ast.DeclNode:
        return _tok(ast.DeclNode(keyword, ch[0].value, ch[1]), ch[0])

    def skill_decl(self, ch: list[Any]) -> ast.DeclNode:
        node = self._decl("skill", ch[1:])
        node.extern = ch[0] is not None  # `extern skill`: implemented outside the program
        return node

    def other_decl(self, ch: list[Any]) -> ast.DeclNode:
        node = _tok(ast.DeclNode(ch[0].value, ch[1].value, ch[2]), ch[1])
        node.keyword_line, node.keyword_column = ch[0].line, ch[0].column
        return node

    def guard_decl(self, ch: list[Any]) -> ast.DeclNode:
        return self._decl("guard", ch)

    def channel_decl(self, ch: list[Any]) -> ast.DeclNode:
        return self._decl("channel", ch)

    def struct_decl(self, ch: list[Any]) -> ast.DeclNode:
        return self._decl("struct", ch)

    def guardchain_decl(self, ch: list[Any]) -> ast.GuardChainNode:
        members = [c for c in ch[1:] if c is not None]
        return _tok(ast.GuardChainNode(ch[0].value, members), ch[0])

    def ref(self, ch: list[Token]) -> ast.ConfigRef:
        return _tok(ast.ConfigRef(ch[0].value), ch[0])

    def fun_decl(self, ch: list[Any]) -> ast.FunDecl:
        name, params, _ret, body = ch
        return _tok(ast.FunDecl(name.value, params or [], body), name)

    def trait_member(self, ch: list[Any]) -> ast.FunDecl:
        name, params = ch[0], ch[1]
        body = ch[3] if len(ch) > 3 else None
        return _tok(ast.FunDecl(name.value, params or [], body), name)

    def params(self, ch: list[ast.Param]) -> list[ast.Param]:
        return ch

    def param(self, ch: list[Any]) -> ast.Param:
        return _tok(ast.Param(ch[0].value, ch[1]), ch[0])

    def ret_type(self, ch: list[str]) -> str:
        return ch[0]

    def type_name(self, ch: list[Any]) -> str:
        text = ch[0].value
        if len(ch) > 1 and isinstance(ch[1], str):
            text += f"[{ch[1]}]"
        return text

    def trait_decl(self, ch: list[Any]) -> ast.TraitNode:
        return _tok(ast.TraitNode(ch[0].value, ch[1:]), ch[0])

    def impl_decl(self, ch: list[Any]) -> ast.ImplNode:
        first, for_tok, target = ch[0], ch[1], ch[2]
        methods = ch[3:]
        if for_tok is None:
            node = ast.ImplNode(None, first.value, methods)
            node.target_line, node.target_column = first.line, first.column
        else:
            node = ast.ImplNode(first.value, target.value, methods)
            node.target_line, node.target_column = target.line, target.column
        return _tok(node, first)

    def body(self, ch: list[Any]) -> ast.ConfigBlock:
        fields = [c for c in ch if isinstance(c, ast.ConfigField)]
        handlers = [c for c in ch if isinstance(c, ast.FunDecl)]
        for f in fields:
            if f.key == "impl" and isinstance(f.value, ast.ConfigLambda):
                # `impl: fun(a, b) { ... }` is the same as `impl(a, b) { ... }`.
                fn = f.value.fn
                fn.name = "impl"
                fn.line, fn.column = f.line, f.column
                handlers.append(fn)
        fields = [
            f for f in fields if not (f.key == "impl" and isinstance(f.value, ast.ConfigLambda))
        ]
        return _around(ast.ConfigBlock(fields, handlers), ch)

    def field(self, ch: list[Any]) -> ast.ConfigField:
        key = ch[0]
        text = _string(key) if key.type == "STRING" else key.value
        return _tok(ast.ConfigField(text, ch[1]), key)

    def handler(self, ch: list[Any]) -> ast.FunDecl:
        name, params, _ret, body = ch
        return _tok(ast.FunDecl(name.value, params or [], body), name)

    def cstring(self, ch: list[Token]) -> ast.ConfigScalar:
        return _tok(ast.ConfigScalar(_string(ch[0])), ch[0])

    def cnumber(self, ch: list[Token]) -> ast.ConfigScalar:
        value = _number(ch[-1])
        if len(ch) == 2:
            return _span(ast.ConfigScalar(-value), ch[0], ch[1])
        return _tok(ast.ConfigScalar(value), ch[0])

    def ctrue(self, ch: list[Token]) -> ast.ConfigScalar:
        return _tok(ast.ConfigScalar(True), ch[0])

    def cfalse(self, ch: list[Token]) -> ast.ConfigScalar:
        return _tok(ast.ConfigScalar(False), ch[0])

    def cnil(self, ch: list[Token]) -> ast.ConfigScalar:
        return _tok(ast.ConfigScalar(None), ch[0])

    def cref(self, ch: list[Token]) -> ast.ConfigRef:
        return _tok(ast.ConfigRef(ch[0].value), ch[0])

    def use_decl(self, ch: list[Any]) -> ast.UseDecl:
        kw, path, _as, alias = ch
        node = ast.UseDecl(kw.value, path, alias.value if alias is not None else None)
        return _span(node, kw, alias or kw)

    def dotted(self, ch: list[Token]) -> list[str]:
        return [t.value for t in ch]

    def pub_decl(self, ch: list[Any]) -> ast.Node:
        return ch[1]

    def test_decl(self, ch: list[Any]) -> ast.TestDecl:
        return _tok(ast.TestDecl(_string(ch[1]), ch[2]), ch[1])

    def clambda(self, ch: list[Any]) -> ast.ConfigLambda:
        kw, params, _ret, body = ch
        fn = _around(ast.FunDecl("<lambda>", params or [], body), [kw, body])
        return _around(ast.ConfigLambda(fn), [fn])

    def ctagged(self, ch: list[Any]) -> ast.ConfigCall:
        return _span(ast.ConfigCall(ch[0].value, [], ch[1]), ch[0], ch[1])

    def ccall(self, ch: list[Any]) -> ast.ConfigCall:
        name, args, body = ch[0], ch[1] or [], ch[2]
        node = ast.ConfigCall(name.value, args, body)
        return _around(_tok(node, name), [name, *args, *([body] if body else [])])

    def cargs(self, ch: list[Any]) -> list[Any]:
        return ch

    def clist(self, ch: list[Any]) -> ast.ConfigList:
        items = [c for c in ch if isinstance(c, ast.ConfigValue)]
        return _around(ast.ConfigList(items), ch)

    # -------------------------------------------------------------- statements

    def block(self, ch: list[ast.Stmt]) -> ast.Block:
        stmts = [c for c in ch if isinstance(c, ast.Stmt)]
        return _around(ast.Block(stmts), ch)

    def let_stmt(self, ch: list[Any]) -> ast.Let:
        kw, name, _type, value = ch
        return _span(ast.Let(name.value, value, kw.type == "CONST"), kw, value)

    def assign_stmt(self, ch: list[Any]) -> ast.Assign:
        target, op, value = ch
        if not isinstance(target, ast.Name | ast.Attribute | ast.Index):
            raise _TransformError("invalid-assignment", "cannot assign to this expression", target)
        return _span(ast.Assign(target, op.value, value), target, value)

    def if_stmt(self, ch: list[Any]) -> ast.If:
        cond, then = ch[0], ch[1]
        orelse = ch[2] if len(ch) > 2 else None
        return _around(ast.If(cond, then, orelse), ch)

    def while_stmt(self, ch: list[Any]) -> ast.While:
        return _around(ast.While(ch[0], ch[1]), ch)

    def for_stmt(self, ch: list[Any]) -> ast.ForIn:
        names = _tokens(ch, "NAME")
        iterable, body = ch[-2], ch[-1]
        second = names[1].value if len(names) > 1 else None
        return _around(ast.ForIn(names[0].value, iterable, body, second), ch)

    def break_stmt(self, ch: list[Token]) -> ast.Break:
        return _tok(ast.Break(), ch[0])

    def continue_stmt(self, ch: list[Token]) -> ast.Continue:
        return _tok(ast.Continue(), ch[0])

    def return_stmt(self, ch: list[Any]) -> ast.Return:
        value = ch[1] if len(ch) > 1 and isinstance(ch[1], ast.Expr) else None
        node = ast.Return(value)
        return _span(node, ch[0], value) if value is not None else _tok(node, ch[0])

    def emit_stmt(self, ch: list[Any]) -> ast.Emit:
        return _around(ast.Emit(ch[0]), ch)

    def expr_stmt(self, ch: list[Any]) -> ast.ExprStmt:
        parts = [c for c in ch if not (isinstance(c, Token) and c.type == "SEMICOLON")]
        value = parts[0] if len(parts) == 1 else self.expr(parts)
        return _around(ast.ExprStmt(value), ch)

    # -------------------------------------------------------------- expressions

    def match_(self, ch: list[Any]) -> ast.Match:
        kw, subject = ch[0], ch[1]
        arms = [c for c in ch[2:] if isinstance(c, ast.MatchArm)]
        return _span(ast.Match(subject, arms), kw, ch[-1])

    def match_arm(self, ch: list[Any]) -> ast.MatchArm:
        pattern, rest = ch[0], ch[2:]
        if len(rest) == 1 and isinstance(rest[0], ast.Block):
            arm = ast.MatchArm(pattern, None, rest[0].body)
        elif len(rest) == 1 and isinstance(rest[0], ast.Stmt):
            arm = ast.MatchArm(pattern, None, [rest[0]])
        else:
            value = rest[0] if len(rest) == 1 else self.expr(rest)
            arm = ast.MatchArm(pattern, value, [])
        return _around(arm, [pattern, *rest])

    def expr(self, ch: list[Any]) -> ast.Expr:
        """Groups ``operand (op operand)*`` by precedence (all operators are left-associative)."""
        if len(ch) > 3 and isinstance(ch[-4], Token) and ch[-4].type == "QMARK":
            # `cond ? a : b`: the operator chain before `?` is the condition.
            cond = ch[0] if len(ch) == 5 else self.expr(ch[:-4])
            then, orelse = ch[-3], ch[-1]
            return _span(ast.Ternary(cond, then, orelse), cond, orelse)
        operands: list[ast.Expr] = [ch[0]]
        ops: list[str] = []

        def reduce() -> None:
            right, left = operands.pop(), operands.pop()
            operands.append(_span(ast.Binary(ops.pop(), left, right), left, right))

        for i in range(1, len(ch), 2):
            op = _OP_SYMBOL.get(ch[i].value, ch[i].value)
            while ops and _PRECEDENCE[ops[-1]] >= _PRECEDENCE[op]:
                reduce()
            ops.append(op)
            operands.append(ch[i + 1])
        while ops:
            reduce()
        return operands[0]

    def unop(self, ch: list[Any]) -> ast.Unary:
        op, operand = ch
        symbol = "!" if op.value in ("!", "not") else "-"
        return _span(ast.Unary(symbol, operand), op, operand)

    def call(self, ch: list[Any]) -> ast.Call:
        return _around(ast.Call(ch[0], ch[1] or []), ch)  # ch[2] is ")"

    def attr(self, ch: list[Any]) -> ast.Attribute:
        return _span(ast.Attribute(ch[0], ch[1].value), ch[0], ch[1])

    def index(self, ch: list[Any]) -> ast.Index:
        return _around(ast.Index(ch[0], ch[1]), ch)

    def slice(self, ch: list[Any]) -> ast.Slice:
        obj, start, _colon, stop = ch
        return _around(ast.Slice(obj, start, stop), ch)

    def lambda_(self, ch: list[Any]) -> ast.Lambda:
        params, body = ch
        fn = _around(ast.FunDecl("<lambda>", params or [], body), [body])
        return _around(ast.Lambda(fn), [body])

    def args(self, ch: list[Any]) -> list[ast.Expr]:
        if not any(isinstance(c, Token) for c in ch):
            return ch
        out: list[ast.Expr] = []
        i = 0
        while i < len(ch):
            c = ch[i]
            if isinstance(c, Token) and c.type == "NAME":
                value = ch[i + 2]
                out.append(_span(ast.NamedArg(c.value, value), c, value))
                i += 3
            else:
                out.append(c)
                i += 1
        return out

    def number(self, ch: list[Token]) -> ast.Literal:
        return _tok(ast.Literal(_number(ch[0])), ch[0])

    def string(self, ch: list[Token]) -> ast.Literal:
        return _tok(ast.Literal(_string(ch[0])), ch[0])

    def fstring(self, ch: list[Token]) -> ast.Expr:
        """``f"a {x} b"`` becomes ``"a " + x + " b"`` (``+`` with a string stringifies)."""
        tok = ch[0]
        parts: list[ast.Expr] = []
        for is_code, piece in _fstring_pieces(tok):
            if is_code:
                parts.append(_interpolation(piece, tok))
            elif piece:
                try:
                    text = decode_string('"' + piece + '"')
                except EscapeError as err:
                    node = _tok(ast.Node(), tok)
                    raise _TransformError("invalid-literal", err.message, node) from None
                parts.append(_tok(ast.Literal(text), tok))
        result: ast.Expr = _tok(ast.Literal(""), tok)
        for part in parts:
            result = _tok(ast.Binary("+", result, part), tok)
        return result

    def true(self, ch: list[Token]) -> ast.Literal:
        return _tok(ast.Literal(True), ch[0])

    def false(self, ch: list[Token]) -> ast.Literal:
        return _tok(ast.Literal(False), ch[0])

    def nil(self, ch: list[Token]) -> ast.Literal:
        return _tok(ast.Literal(None), ch[0])

    def name(self, ch: list[Token]) -> ast.Name:
        return _tok(ast.Name(ch[0].value), ch[0])

    def list(self, ch: list[Any]) -> ast.ListExpr:
        return _around(ast.ListExpr(ch[1] or []), ch)  # ch: "[", args, "]"

    def map(self, ch: list[Any]) -> ast.MapExpr:
        entries = [c for c in ch if isinstance(c, ast.MapEntry)]
        return _around(ast.MapExpr(entries), ch)

    def entry(self, ch: list[Any]) -> ast.MapEntry:
        key = ch[0]
        text = _string(key) if key.type == "STRING" else key.value
        return _span(ast.MapEntry(text, ch[1]), key, ch[1])

    def spawn_kw(self, ch: list[Any]) -> ast.Spawn:
        _kw, name, args = ch
        agent = _tok(ast.Literal(name.value), name)
        return _around(ast.Spawn(agent, args or [], True), ch)

    def spawn_fn(self, ch: list[Any]) -> ast.Spawn:
        kw, args = ch
        args = args or []
        if not args:
            raise _TransformError(
                "spawn-arguments", "spawn(...) needs an agent name and a task", _tok(ast.Node(), kw)
            )
        return _around(ast.Spawn(args[0], args[1:], False), ch)


_LARK = Lark(
    _GRAMMAR.read_text(encoding="utf-8"),
    parser="lalr",
    lexer=NeamLexer,
    maybe_placeholders=True,
    transformer=_ToAst(),
)

_TERMINAL_TEXT = {t.name: t.pattern.value for t in _LARK.terminals if t.pattern.type == "str"} | {
    "NAME": "identifier",
    "STRING": "string",
    "NUMBER": "number",
    "FSTRING": "f-string",
    "CMP_OP": "comparison",
    "ASSIGN_OP": "=",
    "$END": "end of file",
}
_WORDS = ("identifier", "string", "number", "f-string", "comparison", "end of file")
# Closing brackets and separators are the likeliest fixes, so they are listed first.
_FIRST = (")", "]", "}", ";", ",", ":", "=")


def _describe_expected(expected: set[str]) -> str:
    texts = {_TERMINAL_TEXT.get(e, e.lower()) for e in expected}
    shown = sorted(texts, key=lambda t: (_FIRST.index(t) if t in _FIRST else len(_FIRST), t))
    if len(shown) > 8:
        shown = [*shown[:8], "..."]
    return ", ".join(s if s in _WORDS or s == "..." else f"'{s}'" for s in shown)


def _syntax_diagnostic(err: UnexpectedInput, filename: str, source: str) -> Diagnostic:
    if isinstance(err, UnexpectedCharacters):
        char = source[err.pos_in_stream] if err.pos_in_stream < len(source) else ""
        if char in "\"'":
            message = "unterminated string"
        elif source.startswith("/*", err.pos_in_stream):
            message = "unterminated comment"
        else:
            message = f"unexpected character {char!r}"
        return Diagnostic(
            filename, err.line, err.column, err.line, err.column + 1, "error", "syntax", message
        )
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        line = source.count("\n") + 1
        column = len(source) - (source.rfind("\n") + 1) + 1
        expected = _describe_expected(set(err.expected))
        message = f"unexpected end of file, expected {expected}"
        return Diagnostic(filename, line, column, line, column, "error", "syntax", message)
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    expected = _describe_expected(set(err.expected))
    shown = clip(tok.value, 40)
    if tok.type == "MISPLACED_DECL":
        message = f"unexpected {shown!r} here: is a '}}' missing before it?"
    else:
        message = f"unexpected {shown!r}, expected {expected}"
    return Diagnostic(
        filename,
        tok.line,
        tok.column,
        tok.end_line or tok.line,
        tok.end_column or tok.column + len(tok.value),
        "error",
        "syntax",
        message,
    )


# Where parsing resumes after a syntax error: a line that starts (in column 1)
# with a declaration keyword.
_RESYNC = re.compile(
    r"^(?:claw|forge|agent|skill|extern|guard|guardchain|channel|fun|fn|struct|trait|impl"
    r"|pub|runner|knowledge|budget|test)\b",
    re.MULTILINE,
)
_MAX_SYNTAX_ERRORS = 20


def _parse_once(source: str, filename: str) -> tuple[ast.Module | None, Diagnostic | None]:
    try:
        return _LARK.parse(source), None
    except UnexpectedInput as err:
        return None, _syntax_diagnostic(err, filename, source)
    except _TransformError as err:
        node = err.node
        diag = Diagnostic(
            filename,
            node.line,
            node.column,
            node.end_line,
            node.end_column,
            "error",
            err.code,
            err.message,
        )
        return None, diag


def _offset(source: str, line: int, column: int) -> int:
    pos = 0
    for _ in range(line - 1):
        pos = source.find("\n", pos) + 1
        if pos == 0:
            return len(source)
    return pos + column - 1


def parse(source: str, filename: str = "<input>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """Parses ``source``; returns the module, or ``None`` and the syntax diagnostics.

    After a syntax error, parsing resumes at the next line that starts with a
    declaration keyword (the text before it is blanked, keeping positions), so
    one run reports the syntax errors of several declarations.
    """
    module, diag = _parse_once(source, filename)
    if diag is None:
        return module, []
    diags = [diag]
    text = source
    while len(diags) < _MAX_SYNTAX_ERRORS:
        at = _offset(text, diag.line, diag.column)
        # Resume at a declaration the error points at (column 1), else at the next one.
        resync = _RESYNC.search(text, at if diag.column == 1 else at + 1)
        if resync is None or resync.start() < at or resync.start() >= len(text):
            break
        if resync.start() == at and diag.code != "syntax":
            resync = _RESYNC.search(text, at + 1)
            if resync is None:
                break
        start = resync.start()
        text = re.sub(r"[^\n]", " ", text[:start]) + text[start:]
        _, diag = _parse_once(text, filename)
        if diag is None or (diag.line, diag.column) <= (diags[-1].line, diags[-1].column):
            break
        diags.append(diag)
    return None, diags
