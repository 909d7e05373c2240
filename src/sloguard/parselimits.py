"""Parsing limits: a cheap scan that runs before any PromQL text reaches a parser.

promql-parser (Rust) recurses once per level of the expression tree and overflows its
native stack, killing the process, somewhere past a few thousand levels; its parse time
also grows with the square of the depth, and sloguard's own tree walkers (its Prometheus
error wording, the evaluator) recurse per level too. So every text is measured first, in
linear time, and refused with a Prometheus-style parse error when it is too deep:

* **depth** (``max_depth``, config ``query.max_parse_depth``): open brackets of any kind
  (``(``, ``[``, ``{``: parentheses, calls, aggregations, ranges and subqueries, braces)
  plus runs of unary ``+``/``-`` operators;
* **chain** (``max_chain``, config ``query.max_parse_chain``): binary operators in one
  chain (one argument at one bracket level), such as ``a or b or c``;
* **tree**: an upper bound on the depth of the parse tree (each bracket, each unary and
  binary operator and each range or subquery suffix on a path counts), limited to
  ``max_depth + max_chain``, so depth and chains cannot be multiplied by each other.

Strings and ``#`` comments are skipped, so brackets and operators inside them never count.
promql-parser's lexer and Prometheus' (which sloguard's error wording follows) disagree on
two points: promql-parser takes ``\\`` as an escape inside raw ```...``` strings and ends a
comment at ``\\r`` too, and Prometheus' ends a quoted string at a newline. A text with a
backquote, newline or carriage return is scanned both ways and the larger counts hold, so
the scan never counts less than either parser will see.

Refusing costs a prefix of the text: the scan stops where a limit is first passed and the
error names that place, the limit and its setting, e.g. ``1:201: parse error: expression
nests deeper than the limit of 200 levels (query.max_parse_depth)``. Most texts are not
scanned at all: character counts already bound every measure.

The defaults are far above what real queries use (nesting of ten or twenty levels, ``or``
chains of tens of terms) and keep a parse at the limit in the tens of milliseconds. A
server sets its own with :func:`set_default_limits` (from ``query.max_parse_depth`` /
``query.max_parse_chain`` or the matching flags); callers that pass no ``limits`` use
:func:`default_limits`. Importing this module, and ``set_default_limits``, raise Python's
recursion limit (never lower it) to :func:`recursion_limit_for` the limits (4,000 at the
defaults), so a tree at the limit can be walked by sloguard's recursive code (its evaluator
needs about three frames per level) in threads of the default stack size (8 MB on Linux).

This module imports nothing from sloguard, so ``sloguard.labels`` and ``sloguard.promql``
can both use it.
"""

from __future__ import annotations

import itertools
import re
import sys
import threading
from dataclasses import dataclass

__all__ = [
    "ExpressionShape", "ParseLimitError", "ParseLimits", "check_expression", "default_limits",
    "measure", "recursion_limit_for", "set_default_limits",
]

#: Python frames sloguard's recursive walkers (evaluator, tree mapping, type checks) use
#: per level of the parse tree, with room to spare, and the frames a request may already use.
FRAMES_PER_LEVEL = 6
_BASE_FRAMES = 1000


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """How deep an expression may nest and how long one operator chain may be.

    Both are positive; the parse tree may be ``max_depth + max_chain`` levels deep."""

    max_depth: int = 200
    max_chain: int = 300

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_chain"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"parse limit {name} must be a positive integer, got {value!r}")

    @property
    def max_tree(self) -> int:
        return self.max_depth + self.max_chain


class ParseLimitError(ValueError):
    """An expression beyond a parse limit; the message reads ``1:201: parse error: ...``."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


@dataclass(frozen=True, slots=True)
class ExpressionShape:
    """What the scan measured; ``*_pos`` are the byte offsets where each maximum was first reached."""

    depth: int
    chain: int
    tree: int
    depth_pos: int
    chain_pos: int


_lock = threading.Lock()
_default = ParseLimits()


def recursion_limit_for(limits: ParseLimits) -> int:
    """The Python recursion limit that lets sloguard walk a tree at ``limits``' deepest."""
    return _BASE_FRAMES + FRAMES_PER_LEVEL * limits.max_tree


def set_default_limits(limits: ParseLimits) -> None:
    """Make ``limits`` the process-wide default and raise the recursion limit to fit it."""
    global _default
    with _lock:
        _default = limits
        _raise_recursion_limit(limits)


def default_limits() -> ParseLimits:
    return _default


def _raise_recursion_limit(limits: ParseLimits) -> None:
    wanted = recursion_limit_for(limits)
    if sys.getrecursionlimit() < wanted:
        sys.setrecursionlimit(wanted)


_raise_recursion_limit(_default)


def check_expression(text: str, limits: ParseLimits | None = None) -> None:
    """Raise ``ParseLimitError`` when ``text`` is beyond ``limits`` (default: the process').

    The scan stops at the first place a limit is passed and names that place."""
    lim = limits or _default
    if _surely_within(text, lim):
        return
    for pattern in _patterns(text):
        _Scan(lim).run(text, pattern)


def measure(text: str) -> ExpressionShape:
    """The depth, longest chain and tree depth bound of ``text`` (linear; for tests and tools)."""
    shapes = [_Scan(None).run(text, pattern) for pattern in _patterns(text)]
    deep = max(shapes, key=lambda s: s.depth)
    long = max(shapes, key=lambda s: s.chain)
    return ExpressionShape(deep.depth, long.chain, max(s.tree for s in shapes), deep.depth_pos, long.chain_pos)


def _surely_within(text: str, lim: ParseLimits) -> bool:
    """Character counts bound every measure from above: most queries need no scan."""
    opens = text.count("(") + text.count("[") + text.count("{")
    signs = text.count("+") + text.count("-")
    ops = sum(text.count(c) for c in "*/%^<>") + text.count("==") + text.count("!=")
    room = min(lim.max_chain - ops - signs, lim.max_tree - 1 - 2 * opens - signs - ops)
    if opens + signs > lim.max_depth or room < 0:
        return False
    return sum(1 for _ in itertools.islice(_BINARY_WORD.finditer(text), room + 1)) <= room


_BINARY_WORD = re.compile(r"(?i)\b(?:and|or|unless|atan2)\b")
_CODE = r"""
    |(?P<word>[A-Za-z_][A-Za-z0-9_:]*)
    |(?P<operand>(?:[0-9]|\.[0-9])(?:[0-9A-Za-z_.]|(?<=[eE])[+-](?=[0-9]))*|:[A-Za-z0-9_:]*)
    |(?P<sign>[-+])
    |(?P<binary>==|!=|>=|<=|[*/%^<>])
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<comma>,)
    |(?P<other>.)"""
#: Strings and comments as promql-parser's lexer reads them: escapes in all three kinds of
#: string, newlines inside strings, comments ending at "\r" or "\n".
_RUST = re.compile(
    r"""\s*(?:(?P<skip>\#[^\r\n]*)|(?P<string>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`(?:[^`\\]|\\.)*`?)"""
    + _CODE + ")",
    re.VERBOSE | re.DOTALL,
)
#: As Prometheus' (and sloguard's Python) lexer reads them: raw strings without escapes;
#: a quoted string is cut at a newline (the lexer refuses it; the scan reads on).
_GO = re.compile(
    r"""\s*(?:(?P<skip>\#[^\n]*)|(?P<string>"(?:[^"\\\n]|\\[^\n])*"?|'(?:[^'\\\n]|\\[^\n])*'?|`[^`]*`?)"""
    + _CODE + ")",
    re.VERBOSE | re.DOTALL,
)


def _patterns(text: str) -> tuple[re.Pattern[str], ...]:
    """The lexers agree unless the text has a raw string, a newline or a carriage return."""
    if "`" in text or "\n" in text or "\r" in text:
        return (_RUST, _GO)
    return (_RUST,)


_BINARY_WORDS = frozenset({"and", "or", "unless", "atan2"})
#: Words after which an operand follows (so a following ``-`` is unary).
_LEADING_WORDS = frozenset({"bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"})
#: Words whose label list is followed by an operand (``a + on(job) -b``: the "-" is unary).
_MATCHING_WORDS = frozenset({"on", "ignoring", "group_left", "group_right"})


class _Exceeded(Exception):
    pass


class _Frame:
    """One open bracket (or the whole text): its counts in the current argument."""

    __slots__ = ("braces", "child", "labels", "most", "nodes", "ops", "pos", "unary")

    def __init__(self, braces: bool, pos: int, labels: bool = False) -> None:
        self.braces = braces
        self.pos = pos
        self.labels = labels  # the label list of on/ignoring/group_left/group_right
        self.ops = self.unary = self.nodes = self.most = self.child = 0

    def height(self) -> int:
        """Levels of the parse tree this bracket may hold, itself included."""
        return 1 + max(self.most, self.nodes) + self.child


class _Scan:
    """One pass over the tokens; with ``limits`` it raises at the first limit passed."""

    __slots__ = ("chain", "chain_pos", "depth", "depth_pos", "lim", "matching", "nest", "operand", "stack",
                 "text")

    def __init__(self, limits: ParseLimits | None) -> None:
        self.lim = limits
        self.stack = [_Frame(False, 0)]
        self.nest = self.depth = self.depth_pos = self.chain = self.chain_pos = 0
        self.operand = self.matching = False
        self.text = ""

    def run(self, text: str, pattern: re.Pattern[str]) -> ExpressionShape:
        self.text = text
        for m in pattern.finditer(text):
            kind = m.lastgroup
            if kind == "skip" or kind is None:
                continue
            f = self.stack[-1]
            if kind != "word" and kind != "open":
                self.matching = False
            if kind == "word":
                self._word(f, m.group(kind), m.start(kind))
            elif kind == "operand" or kind == "string":
                self.operand = True
            elif kind == "open":
                self._open(f, m.group(kind), m.start(kind))
            elif kind == "close":
                self._close()
            elif f.braces:
                self.operand = False
            elif kind == "sign":
                self._sign(f, m.start(kind))
            elif kind == "binary":
                self._binary(f, m.start(kind))
            elif kind == "comma":
                self._comma(f)
            else:  # "=", "@", ":", "!" and anything the lexers refuse
                self.operand = False
        return self._finish()

    def _deeper(self, pos: int, by: int) -> None:
        self.nest += by
        if self.nest > self.depth:
            self.depth, self.depth_pos = self.nest, pos
            if self.lim is not None and self.nest > self.lim.max_depth:
                self._fail(pos, f"expression nests deeper than the limit of {self.lim.max_depth} "
                           "levels (query.max_parse_depth)")

    def _binary(self, f: _Frame, pos: int) -> None:
        f.ops += 1
        f.nodes += 1
        self.nest -= f.unary
        f.unary = 0
        self.operand = False
        if f.ops > self.chain:
            self.chain, self.chain_pos = f.ops, pos
            if self.lim is not None and f.ops > self.lim.max_chain:
                self._fail(pos, f"expression chains more binary operators than the limit of "
                           f"{self.lim.max_chain} (query.max_parse_chain)")

    def _sign(self, f: _Frame, pos: int) -> None:
        if self.operand:
            self._binary(f, pos)
            return
        f.unary += 1
        f.nodes += 1
        self._deeper(pos, 1)

    def _open(self, f: _Frame, char: str, pos: int) -> None:
        if char == "[" and self.operand:
            f.nodes += 1  # a range or subquery wraps the operand before it
        self.stack.append(_Frame(char == "{", pos, self.matching))
        self.operand = self.matching = False
        self._deeper(pos, 1)

    def _close(self) -> None:
        self.operand = True
        if len(self.stack) == 1:
            return  # a stray closer: the parsers refuse it
        f = self.stack.pop()
        self.operand = not f.labels
        self.nest -= 1 + f.unary
        parent = self.stack[-1]
        parent.child = max(parent.child, self._height(f))

    def _height(self, f: _Frame) -> int:
        h = f.height()
        if self.lim is not None and h > self.lim.max_tree:
            self._fail(f.pos, f"expression's parse tree is deeper than the limit of {self.lim.max_tree} "
                       "levels (query.max_parse_depth + query.max_parse_chain)")
        return h

    def _comma(self, f: _Frame) -> None:
        self.nest -= f.unary
        f.most = max(f.most, f.nodes)
        f.ops = f.unary = f.nodes = 0
        self.operand = False

    def _word(self, f: _Frame, word: str, pos: int) -> None:
        if f.braces:
            self.operand = True
            return
        lower = word.lower()
        self.matching = lower in _MATCHING_WORDS
        if lower in _BINARY_WORDS and self.operand:
            self._binary(f, pos)
        else:
            self.operand = lower not in _LEADING_WORDS

    def _finish(self) -> ExpressionShape:
        while len(self.stack) > 1:  # unclosed brackets still count
            self._close()
        tree = self._height(self.stack[0])
        return ExpressionShape(self.depth, self.chain, tree, self.depth_pos, self.chain_pos)

    def _fail(self, pos: int, message: str) -> None:
        text = self.text
        line = text.count("\n", 0, pos) + 1
        col = pos - text.rfind("\n", 0, pos)
        raise ParseLimitError(f"{line}:{col}: parse error: {message}", pos)
