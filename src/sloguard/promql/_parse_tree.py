"""A lenient PromQL parser for Prometheus' type checks only (``checkAST`` order and positions).

promql-parser type-checks while it parses, so it reports a different first error than
Prometheus, which first parses the whole expression and then checks the tree depth first.
This parser builds a small untyped tree over ``_parse_lexer`` tokens; anything it does not
understand raises ``Unsupported`` and the caller falls back to promql-parser's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sloguard.promql._parse_lexer import AGGREGATION_WORDS, Token

#: Binary operators by precedence (Prometheus' grammar: or < and/unless < comparisons < +- < */% atan2 < ^).
PRECEDENCE = {
    "or": 1, "and": 2, "unless": 2,
    "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6,
}
_UNARY_PREC = 6  # unary +/- is %prec MUL: its operand takes only ``^``


class Unsupported(Exception):
    """The expression is outside what this parser understands (or a syntax error)."""


@dataclass(slots=True)
class PNode:
    """One node: ``kind`` is num, str, vs, ms, sub, paren, unary, bin, agg or call; ``pos`` its start.

    ``op`` holds the operator, function or aggregation name; ``args`` the children in
    source order; ``labels`` the matchers (vs: (name, op, value)) or grouping labels."""

    kind: str
    pos: int
    op: str = ""
    args: list[PNode] = field(default_factory=list)
    matchers: list[tuple[str, str, str]] = field(default_factory=list)
    name: str = ""
    op_pos: int = 0
    bool_mod: bool = False
    on: bool = False
    matching: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    card: str = "one-to-one"


class TreeParser:
    """Recursive descent over tokens; grammar-time errors (aggregation arity) go to ``errors``."""

    def __init__(self, toks: list[Token]) -> None:
        self.toks = toks
        self.i = 0
        self.errors: list[tuple[str, int]] = []

    def parse(self) -> PNode:
        node = self.expr(0)
        if self.i != len(self.toks):
            raise Unsupported("trailing tokens")
        return node

    # -- helpers -------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self, kind: str | None = None, text: str | None = None) -> Token:
        t = self.peek()
        if t is None or (kind is not None and t.kind != kind) or (text is not None and t.text != text):
            raise Unsupported(f"expected {kind or text}")
        self.i += 1
        return t

    def at(self, text: str) -> bool:
        t = self.peek()
        return t is not None and t.text == text

    # -- expressions ---------------------------------------------------------------------
    def expr(self, min_prec: int) -> PNode:
        left = self.unary()
        while (t := self.peek()) is not None and t.text in PRECEDENCE and t.kind in ("op", "ident"):
            prec = PRECEDENCE[t.text]
            if prec < min_prec:
                break
            self.i += 1
            node = PNode("bin", left.pos, op=t.text, op_pos=t.pos)
            self.bin_modifiers(node)
            rhs = self.expr(prec if t.text == "^" else prec + 1)
            node.args = [left, rhs]
            left = node
        return left

    def unary(self) -> PNode:
        t = self.peek()
        if t is not None and t.kind == "op" and t.text in ("+", "-"):
            self.i += 1
            operand = self.expr(_UNARY_PREC)
            if operand.kind == "num":
                return PNode("num", t.pos)
            return PNode("unary", t.pos, op=t.text, args=[operand])
        return self.postfix(self.primary())

    def bin_modifiers(self, node: PNode) -> None:
        if self.at("bool"):
            self.i += 1
            node.bool_mod = True
        if self.at("on") or self.at("ignoring"):
            node.on = self.take().text == "on"
            node.matching = self.label_list()
            if self.at("group_left") or self.at("group_right"):
                node.card = "many-to-one" if self.take().text == "group_left" else "one-to-many"
                if self.at("("):
                    node.include = self.label_list()

    def label_list(self) -> list[str]:
        self.take("lparen")
        out: list[str] = []
        while not self.at(")"):
            out.append(self.take("ident").text)
            if not self.at(")"):
                self.take(text=",")
        self.take("rparen")
        return out

    def primary(self) -> PNode:
        t = self.take()
        if t.kind in ("number", "string"):
            return PNode("num" if t.kind == "number" else "str", t.pos)
        if t.kind == "lparen":
            inner = self.expr(0)
            self.take("rparen")
            return PNode("paren", t.pos, args=[inner])
        if t.kind == "lbrace":
            self.i -= 1
            return PNode("vs", t.pos, matchers=self.matchers())
        if t.kind != "ident":
            raise Unsupported(f"unexpected {t.text}")
        nxt = self.peek()
        if t.text in AGGREGATION_WORDS and nxt is not None and (nxt.kind == "lparen" or nxt.text in ("by", "without")):
            return self.aggregate(t)
        if nxt is not None and nxt.kind == "lparen":
            return self.call(t)
        node = PNode("vs", t.pos, name=t.text)
        if self.at("{"):
            node.matchers = self.matchers()
        node.matchers.append(("__name__", "=", t.text))
        return node

    def matchers(self) -> list[tuple[str, str, str]]:
        self.take("lbrace")
        out: list[tuple[str, str, str]] = []
        while not self.at("}"):
            name = self.take("ident").text
            op = self.take("op").text
            if op not in ("=", "!=", "=~", "!~"):
                raise Unsupported("matcher operator")
            out.append((name, op, self.take("string").text))
            if not self.at("}"):
                self.take(text=",")
        self.take("rbrace")
        return out

    def args(self) -> list[PNode]:
        self.take("lparen")
        out: list[PNode] = []
        while not self.at(")"):
            out.append(self.expr(0))
            if not self.at(")"):
                self.take(text=",")
        self.take("rparen")
        return out

    def aggregate(self, t: Token) -> PNode:
        node = PNode("agg", t.pos, op=t.text)
        grouped = self.at("by") or self.at("without")
        if grouped:
            self.i += 1
            node.matching = self.label_list()
        node.args = self.args()
        if not grouped and (self.at("by") or self.at("without")):
            self.i += 1
            node.matching = self.label_list()
        want = 2 if t.text in ("topk", "bottomk", "quantile", "count_values") else 1
        if not node.args:
            self.errors.append(("no arguments for aggregate expression provided", t.pos))
        elif len(node.args) != want:
            self.errors.append(
                (f"wrong number of arguments for aggregate expression provided, expected {want}, got {len(node.args)}",
                 t.pos))
        return node

    def call(self, t: Token) -> PNode:
        return PNode("call", t.pos, op=t.text, args=self.args())

    def postfix(self, node: PNode) -> PNode:
        while (t := self.peek()) is not None:
            if t.kind == "lbracket":
                self.i += 1
                self.take("duration")
                if self.at(":"):
                    self.i += 1
                    if not self.at("]"):
                        self.take("duration")
                    node = PNode("sub", node.pos, args=[node])
                elif node.kind != "vs":
                    raise Unsupported("ranges only allowed for vector selectors")
                else:
                    node = PNode("ms", node.pos, args=[node])
                self.take("rbracket")
            elif t.kind == "ident" and t.text == "offset":
                self.i += 1
                if self.at("-") or self.at("+"):
                    self.i += 1
                self.take("duration")
            elif t.text == "@":
                self.i += 1
                self.at_value()
            else:
                return node
        return node

    def at_value(self) -> None:
        t = self.take()
        if t.kind == "ident" and t.text in ("start", "end"):
            self.take("lparen")
            self.take("rparen")
            return
        if t.text in ("-", "+"):
            t = self.take()
        if t.kind != "number":
            raise Unsupported("@ value")
