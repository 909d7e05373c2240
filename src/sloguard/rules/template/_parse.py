"""Parser: tokens -> :class:`ListNode`, with Go's parse-time checks (unknown functions,
undefined variables, unbalanced ``{{end}}``) and wording."""

from __future__ import annotations

import ast as pyast
from collections.abc import Collection

from sloguard.rules.template._ast import (
    ActionNode,
    BoolNode,
    BranchNode,
    ChainNode,
    CommandNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    LoopControlNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)
from sloguard.rules.template._lex import TemplateSyntaxError, Tok, Token, lex


def parse(text: str, name: str, funcs: Collection[str]) -> ListNode:
    """The main tree; ``{{define}}`` blocks are attached as ``root.defines``."""
    p = _Parser(lex(text, name), name, funcs)
    root = p.parse_root()
    root.defines = p.defines
    return root


class _Parser:
    def __init__(self, toks: list[Token], name: str, funcs: Collection[str]) -> None:
        self.toks = toks
        self.i = 0
        self.name = name
        self.funcs = funcs
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.defines: dict[str, ListNode] = {}

    # -- token helpers
    def peek(self, k: int = 0) -> Token:
        t = self.toks[min(self.i + k, len(self.toks) - 1)]
        if t.kind == Tok.ERROR:
            raise TemplateSyntaxError(t.val)
        return t

    def next(self) -> Token:
        t = self.peek()
        self.i += 1
        return t

    def error(self, msg: str, tok: Token | None = None) -> TemplateSyntaxError:
        line = (tok or self.peek()).line
        return TemplateSyntaxError(f"template: {self.name}:{line}: {msg}")

    def expect(self, kind: Tok, context: str) -> Token:
        t = self.next()
        if t.kind != kind:
            raise self.unexpected(t, context)
        return t

    def unexpected(self, t: Token, context: str) -> TemplateSyntaxError:
        if t.kind == Tok.EOF:
            return self.error("unexpected EOF", t)
        desc = f"<{t.val}>" if t.kind in (Tok.IDENT, Tok.KEYWORD, Tok.FIELD, Tok.VAR) else f'"{t.val}"'
        return self.error(f"unexpected {desc} in {context}", t)

    # -- structure
    def parse_root(self) -> ListNode:
        lst, end = self.item_list()
        if end is not None:
            raise self.error(f"unexpected {{{{{end.val}}}}}", end)
        return lst

    def item_list(self) -> tuple[ListNode, Token | None]:
        """Items until EOF, or until ``{{end}}``/``{{else}}`` (returned, consumed)."""
        lst = ListNode(self.peek().pos)
        while True:
            t = self.peek()
            if t.kind == Tok.EOF:
                return lst, None
            if t.kind == Tok.TEXT:
                self.next()
                lst.nodes.append(TextNode(t.pos, t.val))
                continue
            self.expect(Tok.LEFT, "input")
            kw = self.peek()
            if kw.kind == Tok.KEYWORD and kw.val in ("end", "else"):
                self.next()
                return lst, kw
            lst.nodes.append(self.action())

    def action(self) -> Node:
        t = self.peek()
        if t.kind == Tok.KEYWORD:
            self.next()
            if t.val in ("if", "range", "with"):
                return self.branch(t)
            if t.val in ("break", "continue"):
                if self.range_depth == 0:
                    raise self.error(f"{{{{{t.val}}}}} outside {{{{range}}}}", t)
                self.expect(Tok.RIGHT, t.val)
                return LoopControlNode(t.pos, t.val)
            if t.val == "template":
                return self.template_call(t)
            if t.val == "define":
                return self.define(t)
            raise self.error(f"{{{{{t.val}}}}} is not supported in rule templates", t)
        pipe = self.pipeline("command", allow_decl=True)
        return ActionNode(t.pos, pipe)

    def define(self, kw: Token) -> ListNode:
        """``{{define "name"}}...{{end}}``: kept aside, contributes nothing in place."""
        name = self.next()
        if name.kind not in (Tok.STRING, Tok.RAW):
            raise self.unexpected(name, "define clause")
        self.expect(Tok.RIGHT, "define clause")
        saved_vars = self.vars
        self.vars = ["$"]
        body, end = self.item_list()
        self.vars = saved_vars
        if end is None or end.val != "end":
            raise self.error("unexpected EOF" if end is None else "unexpected {{else}}")
        self.expect(Tok.RIGHT, "end")
        self.defines[_unquote(name)] = body
        return ListNode(kw.pos)

    def template_call(self, kw: Token) -> TemplateNode:
        name = self.next()
        if name.kind not in (Tok.STRING, Tok.RAW):
            raise self.unexpected(name, "template clause")
        pipe = None
        if self.peek().kind != Tok.RIGHT:
            pipe = self.pipeline("template clause", allow_decl=False)
        else:
            self.next()
        return TemplateNode(name.pos, _unquote(name), name.val, pipe)

    def branch(self, kw: Token) -> BranchNode:
        saved = len(self.vars)
        pipe = self.pipeline(kw.val, allow_decl=True, multi=kw.val == "range")
        if kw.val == "range":
            self.range_depth += 1
        body, end = self.item_list()
        if kw.val == "range":
            self.range_depth -= 1
        else_body: ListNode | None = None
        if end is None:
            raise self.error("unexpected EOF")
        if end.val == "else":
            nxt = self.peek()
            if nxt.kind == Tok.KEYWORD and nxt.val in ("if", "with") and kw.val in ("if", "with"):
                # {{else if ...}} is {{else}}{{if ...}}...{{end}}{{end}} sharing one end
                self.next()
                inner = self.branch(nxt)
                else_body = ListNode(nxt.pos, [inner])
            else:
                self.expect(Tok.RIGHT, "else")
                else_body, end2 = self.item_list()
                if end2 is None or end2.val != "end":
                    raise self.error("expected end; found " + ("EOF" if end2 is None else "{{else}}"))
                self.expect(Tok.RIGHT, "end")
        else:
            self.expect(Tok.RIGHT, "end")
        del self.vars[saved:]
        return BranchNode(kw.pos, kw.val, pipe, body, else_body)

    def pipeline(self, context: str, allow_decl: bool, multi: bool = False) -> PipeNode:
        pipe = PipeNode(self.peek().pos)
        if allow_decl:
            self.declarations(pipe, multi)
        while True:
            t = self.peek()
            if t.kind in (Tok.RIGHT, Tok.RPAREN):
                if t.kind == Tok.RIGHT:
                    self.next()
                break
            pipe.cmds.append(self.command())
            if self.peek().kind == Tok.PIPE:
                self.next()
                if self.peek().kind in (Tok.RIGHT, Tok.RPAREN):
                    raise self.error("missing command")
        if not pipe.cmds:
            raise self.error(f"missing value for {context}")
        return pipe

    def declarations(self, pipe: PipeNode, multi: bool) -> None:
        names: list[Token] = []
        k = 0
        while self.peek(k).kind == Tok.VAR:
            names.append(self.peek(k))
            nk = self.peek(k + 1).kind
            if nk == Tok.COMMA and multi and len(names) < 2:
                k += 2
                continue
            if nk in (Tok.DECLARE, Tok.ASSIGN):
                self.i += k + 2
                pipe.is_assign = nk == Tok.ASSIGN
                for n in names:
                    if pipe.is_assign and n.val not in self.vars:
                        raise self.error(f'undefined variable "{n.val}"', n)
                    pipe.decl.append(VariableNode(n.pos, [n.val]))
                    self.vars.append(n.val)
            return

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek().pos)
        while True:
            t = self.peek()
            if t.kind in (Tok.RIGHT, Tok.RPAREN, Tok.PIPE):
                break
            if t.kind == Tok.EOF:
                raise self.error("unclosed action", t)
            cmd.args.append(self.operand())
        if not cmd.args:
            raise self.error("empty command")
        return cmd

    def operand(self) -> Node:
        node = self.term()
        fields: list[str] = []
        chain_pos = self.peek().pos  # Go positions a chained node at its first field
        while self.peek().kind == Tok.FIELD and self._adjacent():
            fields.extend(self.next().val[1:].split("."))
        if not fields:
            return node
        if isinstance(node, FieldNode):
            return FieldNode(chain_pos, node.idents + fields)
        if isinstance(node, VariableNode):
            return VariableNode(chain_pos, node.idents + fields)
        if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
            raise self.error(f"unexpected . after term {str(node)!r}")
        return ChainNode(node.pos, node, fields)

    def _adjacent(self) -> bool:
        prev = self.toks[self.i - 1]
        return prev.pos + len(prev.val) == self.peek().pos

    def term(self) -> Node:
        t = self.next()
        k = t.kind
        if k == Tok.IDENT:
            if t.val not in self.funcs:
                raise self.error(f'function "{t.val}" not defined', t)
            return IdentifierNode(t.pos, t.val)
        if k == Tok.DOT:
            return DotNode(t.pos)
        if k == Tok.NIL:
            return NilNode(t.pos)
        if k == Tok.VAR:
            if t.val not in self.vars:
                raise self.error(f'undefined variable "{t.val}"', t)
            return VariableNode(t.pos, [t.val])
        if k == Tok.FIELD:
            return FieldNode(t.pos, t.val[1:].split("."))
        if k == Tok.BOOL:
            return BoolNode(t.pos, t.val == "true")
        if k == Tok.NUMBER or k == Tok.CHAR:
            return self.number(t)
        if k in (Tok.STRING, Tok.RAW):
            return StringNode(t.pos, _unquote(t), t.val)
        if k == Tok.LPAREN:
            pipe = self.pipeline("parenthesized pipeline", allow_decl=False)
            self.expect(Tok.RPAREN, "parenthesized pipeline")
            return pipe
        raise self.unexpected(t, "operand")

    def number(self, t: Token) -> NumberNode:
        text = t.val
        if t.kind == Tok.CHAR:
            return NumberNode(t.pos, ord(pyast.literal_eval(text)), text)
        clean = text.replace("_", "")
        try:
            if clean.lower().startswith(("0x", "-0x", "+0x")) or not any(c in clean for c in ".eE"):
                return NumberNode(t.pos, int(clean, 0) if not clean.lstrip("+-").startswith("0") or clean.lstrip("+-") == "0" or "x" in clean.lower() else int(clean, 8), text)
            return NumberNode(t.pos, float(clean), text)
        except ValueError:
            raise self.error(f"bad number syntax: {text!r}", t) from None


def _unquote(t: Token) -> str:
    if t.kind == Tok.RAW:
        return t.val[1:-1]
    try:
        v = pyast.literal_eval(t.val)
    except (ValueError, SyntaxError):
        return t.val[1:-1]
    return v if isinstance(v, str) else t.val[1:-1]
