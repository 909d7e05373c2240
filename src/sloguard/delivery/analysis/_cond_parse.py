"""Recursive-descent parser of the condition language, with expr-lang's precedence.

Lowest to highest: ``?:``; ``||``/``or``; ``&&``/``and``; comparisons, ``in``,
``not in``, ``matches``, ``contains``, ``startsWith``, ``endsWith``; ``+ -``; ``* / %``;
unary ``! not - +``; ``**``/``^`` (right-associative); ``??``; member, index, slice, call.
Nesting is bounded by ``MAX_DEPTH`` and the tree by ``MAX_NODES``; the condition's length
by ``MAX_CHARS``. Nothing here reaches Python's own evaluator.
"""

from __future__ import annotations

from typing import NoReturn

from sloguard.delivery.analysis import _cond_ast as A
from sloguard.delivery.analysis._cond_errors import ConditionError
from sloguard.delivery.analysis._cond_lex import Kind, Token, tokenize

MAX_CHARS = 4000
MAX_DEPTH = 48
MAX_NODES = 1000

#: Built-in functions; the predicates take an array and a ``{ ... }`` closure.
PREDICATES = frozenset({"all", "any", "none", "one", "filter", "map", "count", "find", "findIndex"})
FUNCTIONS = PREDICATES | frozenset({
    "len", "sum", "max", "min", "mean", "median", "abs", "ceil", "floor", "round", "first",
    "last", "int", "float", "string", "asInt", "asFloat", "isNaN", "isInf", "isNil", "default",
    "lower", "upper", "trim", "keys", "values",
})
_COMPARE = {"==", "!=", "<", ">", "<=", ">="}
_WORD_OPS = {"in", "matches", "contains", "startsWith", "endsWith"}
_KEYWORDS = {"true": True, "false": False, "nil": None}
_UNSUPPORTED = {"let": "variables (let)"}


def parse(text: str, functions: frozenset[str] = FUNCTIONS) -> A.Node:
    """The tree of ``text``; ``ConditionError`` names the column of the first problem.
    ``functions``: the names a call may use (the time expressions of a range query add theirs)."""
    if len(text) > MAX_CHARS:
        raise ConditionError(text[:60] + "...", 0, f"the condition is longer than {MAX_CHARS} characters")
    if not text.strip():
        raise ConditionError(text, 0, "the condition is empty")
    return _Parser(text, functions).parse()


class _Parser:
    def __init__(self, text: str, functions: frozenset[str]) -> None:
        self.text = text
        self.functions = functions
        self.toks = tokenize(text)
        self.pos = 0
        self.depth = 0
        self.nodes = 0
        self.closures = 0

    # --- token helpers -------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.pos]

    def _is(self, *texts: str) -> bool:
        return self.tok.kind in (Kind.OP, Kind.NAME) and self.tok.text in texts

    def _take(self) -> Token:
        tok = self.tok
        self.pos += 1
        return tok

    def _expect(self, text: str) -> Token:
        if not self._is(text):
            self._fail(f"expected {text!r}")
        return self._take()

    def _fail(self, what: str) -> NoReturn:
        found = "the end of the condition" if self.tok.kind is Kind.END else repr(self.tok.text)
        raise ConditionError(self.text, self.tok.col, f"{what}, found {found}")

    def _count(self, node: A.Node) -> A.Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ConditionError(self.text, 0, f"the condition has more than {MAX_NODES} parts")
        return node

    # --- grammar ---------------------------------------------------------------------
    def parse(self) -> A.Node:
        node = self._expr()
        if self.tok.kind is not Kind.END:
            self._fail("expected an operator or the end of the condition")
        return node

    def _expr(self) -> A.Node:
        self._enter(self.tok.col)
        try:
            return self._ternary()
        finally:
            self.depth -= 1

    def _ternary(self) -> A.Node:
        cond = self._binary_level(0)
        if not self._is("?"):
            return cond
        col = self._take().col
        then = self._expr()
        self._expect(":")
        return self._count(A.Ternary(cond, then, self._expr(), col))

    _LEVELS: tuple[dict[str, str], ...] = (
        {"||": "||", "or": "||"},
        {"&&": "&&", "and": "&&"},
        {},  # comparisons: _compare
        {"+": "+", "-": "-"},
        {"*": "*", "/": "/", "%": "%"},
    )

    def _binary_level(self, level: int) -> A.Node:
        if level == 2:
            return self._compare()
        if level == len(self._LEVELS):
            return self._unary()
        ops = self._LEVELS[level]
        left = self._binary_level(level + 1)
        while self.tok.kind in (Kind.OP, Kind.NAME) and self.tok.text in ops:
            tok = self._take()
            right = self._binary_level(level + 1)
            left = self._count(A.Binary(ops[tok.text], left, right, tok.col))
        return left

    def _compare(self) -> A.Node:
        left = self._binary_level(3)
        while True:
            col = self.tok.col
            if self._is("not") and self.toks[self.pos + 1].text in _WORD_OPS:
                op = self.toks[self.pos + 1].text
                self.pos += 2
                left = self._count(A.Unary("!", A.Binary(op, left, self._binary_level(3), col), col))
            elif self.tok.kind in (Kind.OP, Kind.NAME) and self.tok.text in _COMPARE | _WORD_OPS:
                op = self._take().text
                left = self._count(A.Binary(op, left, self._binary_level(3), col))
            else:
                return left

    def _unary(self) -> A.Node:
        """Unary operators bind looser than ``**`` (``-2 ** 2`` is -4), as in expr-lang."""
        if not self._is("!", "not", "-", "+"):
            return self._power()
        tok = self._take()
        self._enter(tok.col)
        try:
            op = "!" if tok.text == "not" else tok.text
            return self._count(A.Unary(op, self._unary(), tok.col))
        finally:
            self.depth -= 1

    def _coalesce(self) -> A.Node:
        """``??`` binds tighter than every other binary operator, as in expr-lang."""
        left = self._postfix(self._primary())
        while self._is("??"):
            col = self._take().col
            left = self._count(A.Binary("??", left, self._postfix(self._primary()), col))
        return left

    def _power(self) -> A.Node:
        base = self._coalesce()
        if not self._is("**", "^"):
            return base
        col = self._take().col
        self._enter(col)  # right-associative chains recurse
        try:
            return self._count(A.Binary("**", base, self._unary(), col))
        finally:
            self.depth -= 1

    def _enter(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(self.text, col, f"the condition is nested deeper than {MAX_DEPTH} levels")

    def _postfix(self, node: A.Node) -> A.Node:
        while True:
            if self._is(".", "?."):
                tok = self._take()
                if self.tok.kind is not Kind.NAME:
                    self._fail("expected a field name after '.'")
                node = self._count(A.Member(node, self._take().text, tok.text == "?.", tok.col))
            elif self._is("["):
                node = self._index(node)
            else:
                return node

    def _index(self, obj: A.Node) -> A.Node:
        col = self._take().col
        lo = None if self._is(":") else self._expr()
        if self._is(":"):
            self._take()
            hi = None if self._is("]") else self._expr()
            self._expect("]")
            return self._count(A.Slice(obj, lo, hi, col))
        self._expect("]")
        if lo is None:
            self._fail("expected an index")
        return self._count(A.Index(obj, lo, col))

    def _primary(self) -> A.Node:
        tok = self.tok
        if tok.kind in (Kind.NUMBER, Kind.STRING):
            return self._count(A.Literal(self._take().value, tok.col))
        if tok.kind is Kind.NAME:
            return self._name()
        if self._is("("):
            self._take()
            node = self._expr()
            self._expect(")")
            return node
        if self._is("["):
            return self._array()
        if self._is("{"):
            return self._map()
        if self._is("#", ".") and self.closures:
            return self._pointer()
        if self._is("#", "."):
            self._fail("'#' and '.field' can only be used inside a predicate such as all(result, {# > 0})")
        self._fail("expected a value")

    def _pointer(self) -> A.Node:
        tok = self._take()
        ptr = self._count(A.Pointer(tok.col))
        if tok.text == "#":
            return ptr
        if self.tok.kind is not Kind.NAME:
            self._fail("expected a field name after '.'")
        return self._count(A.Member(ptr, self._take().text, False, tok.col))

    def _name(self) -> A.Node:
        tok = self._take()
        if tok.text in _KEYWORDS:
            return self._count(A.Literal(_KEYWORDS[tok.text], tok.col))
        if self._is("("):
            return self._call(tok)
        if tok.text in _UNSUPPORTED:
            raise ConditionError(self.text, tok.col, f"{_UNSUPPORTED[tok.text]} are not supported")
        if tok.text != "result":
            raise ConditionError(
                self.text, tok.col,
                f"unknown name {tok.text!r}; a condition sees only 'result' and the built-in functions",
            )
        return self._count(A.Name(tok.text, tok.col))

    def _call(self, name: Token) -> A.Node:
        if name.text not in self.functions:
            raise ConditionError(self.text, name.col, f"unknown function {name.text!r}")
        self._take()
        args: list[A.Node] = []
        while not self._is(")"):
            if args:
                self._expect(",")
            closure = (name.text in PREDICATES or name.text == "sum") and len(args) == 1
            args.append(self._closure() if closure else self._expr())
        self._take()
        return self._count(A.Call(name.text, tuple(args), name.col))

    def _closure(self) -> A.Node:
        col = self.tok.col
        braced = self._is("{")
        if braced:
            self._take()
        self.closures += 1
        try:
            body = self._expr()
        finally:
            self.closures -= 1
        if braced:
            self._expect("}")
        return self._count(A.Closure(body, col))

    def _array(self) -> A.Node:
        col = self._take().col
        items: list[A.Node] = []
        while not self._is("]"):
            if items:
                self._expect(",")
            items.append(self._expr())
        self._take()
        return self._count(A.ArrayLit(tuple(items), col))

    def _map(self) -> A.Node:
        col = self._take().col
        pairs: list[tuple[str, A.Node]] = []
        while not self._is("}"):
            if pairs:
                self._expect(",")
            if self.tok.kind not in (Kind.NAME, Kind.STRING):
                self._fail("expected a key")
            key = str(self._take().value)
            self._expect(":")
            pairs.append((key, self._expr()))
        self._take()
        return self._count(A.MapLit(tuple(pairs), col))
