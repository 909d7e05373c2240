"""A small PromQL lexer, only to place parse errors where Prometheus places them.

It mirrors the token classes and the lexical errors of Prometheus' lexer (unclosed
brackets, unterminated strings, unexpected characters) with their byte positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER = re.compile(
    r"(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF]|[nN][aA][nN])"
)
_DURATION = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+")
_WORD_CHAR = re.compile(r"[a-zA-Z0-9_]")
_OPERATORS = ("==", "!=", ">=", "<=", "=~", "!~", "+", "-", "*", "/", "%", "^", ">", "<", "=", ",", ":", "@")
KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"})
AGGREGATION_WORDS = frozenset({
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile",
})
BINARY_WORDS = frozenset({"+", "-", "*", "/", "%", "^", "==", "!=", ">=", "<=", ">", "<", "and", "or", "unless", "atan2"})


#: Words whose parenthesised label list is a grouping (``_parse_tokens._in_grouping``).
GROUPING_LIST_WORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``lex`` also records its context, so rules ask in constant time:
    ``braces`` (inside ``{...}``), ``grouping`` (inside the label list of
    ``by``/``without``/``on``/``ignoring``/``group_*``), ``encl``: the index of the innermost
    "(" still open before it, and, for a ")", ``match``: the index of its "(" (-1: none)."""

    kind: str  # ident, number, duration, string, op, lparen, rparen, lbrace, rbrace, lbracket, rbracket
    text: str
    pos: int
    braces: bool = False
    grouping: bool = False
    match: int = -1
    encl: int = -1


class LexError(Exception):
    """A lexical error at byte ``pos``; ``toks`` are the tokens read before it."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos
        self.toks: list[Token] = []


def position(query: str, pos: int) -> str:
    """Prometheus' ``line:col`` for a byte offset (col 1-based, counted from the line start)."""
    pos = max(0, min(pos, len(query)))
    line = query.count("\n", 0, pos) + 1
    last = query.rfind("\n", 0, pos)
    return f"{line}:{pos - last}"


def lex(query: str) -> list[Token]:
    """Tokens of ``query``; raises ``LexError`` where Prometheus' lexer would fail."""
    toks: list[Token] = []
    try:
        _lex_into(query, toks)
    except LexError as e:
        e.toks = _with_context(toks)
        raise
    return _with_context(toks)


def _with_context(toks: list[Token]) -> list[Token]:
    """``toks`` with ``braces``, ``grouping``, ``match`` and ``encl`` filled in (one pass)."""
    out: list[Token] = []
    braces = 0
    parens: list[int] = []
    for i, t in enumerate(toks):
        encl = parens[-1] if parens else -1
        grouping = encl > 0 and toks[encl - 1].text in GROUPING_LIST_WORDS
        match = -1
        if t.kind == "lparen":
            parens.append(i)
        elif t.kind == "rparen" and parens:
            match = parens.pop()
        out.append(Token(t.kind, t.text, t.pos, braces > 0, grouping, match, encl))
        braces += {"lbrace": 1, "rbrace": -1}.get(t.kind, 0)
    return out


def _lex_into(query: str, toks: list[Token]) -> None:
    depth = {"(": 0, "{": 0, "[": 0}
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "#":
            j = query.find("\n", i)
            i = n if j < 0 else j
        elif depth["{"] and c == "{":
            raise LexError("unexpected left brace '{'", i)
        elif depth["{"] and (c in "()[]" or c.isdigit()):
            raise LexError(f"unexpected character inside braces: '{c}'", i)
        elif c in "\"'`":
            j = _end_of_string(query, i)
            toks.append(Token("string", query[i:j], i))
            i = j
        elif c in "([{":
            if c == "[" and depth["["]:
                raise LexError("unexpected left bracket '['", i + 1)
            depth[c] += 1
            toks.append(Token({"(": "lparen", "[": "lbracket", "{": "lbrace"}[c], c, i))
            i += 1
            if c == "[":
                i = _range_duration(query, i, toks)
        elif c in ")}" and depth["["]:
            raise LexError(f'unexpected "{c}" in {bracket_context(toks)}', i)
        elif c in ")]}":
            i = _close(query, c, i, depth, toks)
        elif c in "=!" and query.startswith("~", i + 1) and not depth["{"]:
            raise LexError(f"unexpected character after '{c}': '~'", i)
        elif c == "!" and not query.startswith(("!=", "!~"), i):
            after = query[i + 1] if i + 1 < n else "\ufffd"
            raise LexError(f"unexpected character after '!': '{after}'", i)
        elif (m := _DURATION.match(query, i)) and not _WORD_CHAR.match(query, m.end()):
            toks.append(Token("duration", m[0], i))
            i = m.end()
        elif c.isdigit() and _WORD_CHAR.match(query, _scan_number(query, i)):
            i = _number_or_duration(query, i, toks)
        elif c == ":" and depth["["]:
            toks.append(Token("op", c, i))
            i += 1
        elif c.isdigit() or (c == "." and i + 1 < n and query[i + 1].isdigit()):
            m2 = _NUMBER.match(query, i)
            end = m2.end() if m2 else i + 1
            toks.append(Token("number", query[i:end], i))
            i = end
        elif m3 := _IDENT.match(query, i):
            # Prometheus' lexer takes the words Inf and NaN (any case) as numbers.
            toks.append(Token("number" if m3[0].lower() in ("inf", "nan") else "ident", m3[0], i))
            i = m3.end()
        elif op := next((o for o in _OPERATORS if query.startswith(o, i)), None):
            toks.append(Token("op", op, i))
            i += len(op)
        elif depth["{"]:
            raise LexError(f"unexpected character inside braces: {c!r}", i)
        else:
            raise LexError(f"unexpected character: {c!r}", i)
    if depth["{"]:
        raise LexError("unexpected end of input inside braces", n)
    if depth["("]:
        raise LexError("unclosed left parenthesis", n)
    if depth["["]:
        raise LexError("unclosed left bracket", n)


def bracket_context(toks: list[Token]) -> str:
    """What Prometheus' parser expects next inside ``[...]`` after ``toks``."""
    if toks and toks[-1].text == ":":
        return 'subquery selector, expected duration or "]"'
    if len(toks) > 1 and toks[-1].kind == "duration" and toks[-2].text == ":":
        return 'subquery selector, expected "]"'
    return 'subquery or range, expected ":" or "]"'


def _is_alnum(query: str, i: int) -> bool:
    return i < len(query) and (query[i] == "_" or query[i].isalnum())


def _scan_number(query: str, i: int) -> int:
    """Where Prometheus' ``scanNumber`` stops (digits, fraction, exponent; hex after 0x)."""
    digits = "0123456789"
    if query.startswith(("0x", "0X"), i):
        i, digits = i + 2, "0123456789abcdefABCDEF"
    while i < len(query) and query[i] in digits:
        i += 1
    if i < len(query) and query[i] == ".":
        i += 1
        while i < len(query) and query[i] in digits:
            i += 1
    if i < len(query) and query[i] in "eE":
        i += 1 + (i + 1 < len(query) and query[i + 1] in "+-")
        while i < len(query) and query[i].isdigit():
            i += 1
    return i


def _accept_remaining_duration(query: str, i: int) -> tuple[bool, int]:
    """Prometheus' ``acceptRemainingDuration`` from ``i``: (valid, end of the duration or of
    the text Prometheus quotes in its error)."""
    n = len(query)
    if i >= n or query[i] not in "smhdwy":
        return False, i
    i += 1 + (i + 1 < n and query[i + 1] == "s")
    while i < n and query[i].isdigit():
        while i < n and query[i].isdigit():
            i += 1
        if i >= n or query[i] not in "smhdw":
            return False, i
        i += 1 + (i + 1 < n and query[i + 1] == "s")
    if _is_alnum(query, i):
        return False, i + 1  # Go's lexer has consumed the offending character
    return True, i


def _number_or_duration(query: str, i: int, toks: list[Token]) -> int:
    """A number followed by letters: a duration, or Prometheus' "bad number or duration"."""
    ok, end = _accept_remaining_duration(query, _scan_number(query, i))
    if not ok:
        raise LexError(f'bad number or duration syntax: "{query[i:end]}"', i)
    toks.append(Token("duration", query[i:end], i))
    return end


def _range_duration(query: str, i: int, toks: list[Token]) -> int:
    """The duration right after "[" (Prometheus' ``lexDuration``), or its lexical error."""
    while i < len(query) and query[i].isspace():
        i += 1
    end = _scan_number(query, i)
    if not _is_alnum(query, end):
        raise LexError("missing unit character in duration", i)
    ok, stop = _accept_remaining_duration(query, end)
    if not ok:
        raise LexError(f'bad duration syntax: "{query[i:stop]}"', i)
    toks.append(Token("duration", query[i:stop], i))
    return stop


def _end_of_string(query: str, i: int) -> int:
    quote, j = query[i], i + 1
    while j < len(query):
        if query[j] == "\\" and quote != "`":
            j += 2
            continue
        if query[j] == quote:
            return j + 1
        if query[j] == "\n" and quote != "`":
            break
        j += 1
    raise LexError("unterminated raw string" if quote == "`" else "unterminated quoted string", i)


def _close(query: str, c: str, i: int, depth: dict[str, int], toks: list[Token]) -> int:
    opener = {")": "(", "]": "[", "}": "{"}[c]
    if depth[opener] == 0:
        if c == ")":
            raise LexError("unexpected right parenthesis ')'", i + 1)
        if c == "]":
            raise LexError("unexpected right bracket ']'", i)
        raise LexError(f"unexpected character: {c!r}", i)
    depth[opener] -= 1
    toks.append(Token({")": "rparen", "]": "rbracket", "}": "rbrace"}[c], c, i))
    return i + 1
