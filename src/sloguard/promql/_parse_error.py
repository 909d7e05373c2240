"""Parse errors worded and positioned as Prometheus prints them (``1:6: parse error: ...``).

promql-parser reports what is wrong but not where, and words a few messages differently
(or only as "invalid promql query"). A small lexer finds lexical errors itself, with
their exact positions; other messages are re-worded and located by the token they name.
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
_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"})
_AGGREGATIONS = frozenset({
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile",
})
_BINARY = frozenset({"+", "-", "*", "/", "%", "^", "==", "!=", ">=", "<=", ">", "<", "and", "or", "unless", "atan2"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # ident, number, duration, string, op, lparen, rparen, lbrace, rbrace, lbracket, rbracket
    text: str
    pos: int


class LexError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def position(query: str, pos: int) -> str:
    """Prometheus' ``line:col`` for a byte offset (col 1-based, counted from the line start)."""
    pos = max(0, min(pos, len(query)))
    line = query.count("\n", 0, pos) + 1
    last = query.rfind("\n", 0, pos)
    return f"{line}:{pos - last}"


def lex(query: str) -> list[Token]:
    """Tokens of ``query``; raises ``LexError`` where Prometheus' lexer would fail."""
    toks: list[Token] = []
    depth = {"(": 0, "{": 0, "[": 0}
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "#":
            j = query.find("\n", i)
            i = n if j < 0 else j
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
        elif c in ")]}":
            i = _close(query, c, i, depth, toks)
        elif (m := _DURATION.match(query, i)) and not _WORD_CHAR.match(query, m.end()):
            toks.append(Token("duration", m[0], i))
            i = m.end()
        elif c == ":" and depth["["]:
            toks.append(Token("op", c, i))
            i += 1
        elif c.isdigit() or (c == "." and i + 1 < n and query[i + 1].isdigit()):
            m2 = _NUMBER.match(query, i)
            end = m2.end() if m2 else i + 1
            toks.append(Token("number", query[i:end], i))
            i = end
        elif m3 := _IDENT.match(query, i):
            toks.append(Token("ident", m3[0], i))
            i = m3.end()
        elif op := next((o for o in _OPERATORS if query.startswith(o, i)), None):
            toks.append(Token("op", op, i))
            i += len(op)
        else:
            raise LexError(f"unexpected character: {c!r}", i)
    if depth["{"]:
        raise LexError("unexpected end of input inside braces", n)
    if depth["["]:
        raise LexError("unclosed left bracket", n)
    if depth["("]:
        raise LexError("unclosed left parenthesis", n)
    return toks


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
    raise LexError("unterminated quoted string", i)


def _close(query: str, c: str, i: int, depth: dict[str, int], toks: list[Token]) -> int:
    opener = {")": "(", "]": "[", "}": "{"}[c]
    if depth[opener] == 0:
        if c == ")":
            raise LexError("unexpected right parenthesis ')'", i + 1)
        raise LexError(f"unexpected character: {c!r}", i)
    depth[opener] -= 1
    toks.append(Token({")": "rparen", "]": "rbracket", "}": "rbrace"}[c], c, i))
    return i + 1


_TYPE_WORDS = {"matrix": "range vector", "vector": "instant vector", "scalar": "scalar", "string": "string"}


def prometheus_message(query: str, message: str) -> str:
    """``line:col: parse error: msg`` for a promql-parser error ``message`` on ``query``."""
    try:
        toks = lex(query)
    except LexError as e:
        return f"{position(query, e.pos)}: parse error: {e}"
    msg, pos = _reword(message, toks, query)
    return f"{position(query, pos)}: parse error: {msg}"


def _reword(message: str, toks: list[Token], query: str) -> tuple[str, int]:
    msg = re.sub(r"'([^']*)'", r'"\1"', message)
    end = len(query)
    first = toks[0].pos if toks else 0
    if "end of input" in msg:
        return msg, end
    if m := re.search(r'call to (?:function )?"([^"]+)"|function with name "([^"]+)"', msg):
        name = m[1] or m[2]
        fpos = _find_call(toks, name)
        if m2 := re.match(r"expected type (\w+) in call to function (\"[^\"]+\"), got (\w+)", msg):
            msg = (f"expected type {_TYPE_WORDS.get(m2[1], m2[1])} in call to function {m2[2]}, "
                   f"got {_TYPE_WORDS.get(m2[3], m2[3])}")
            return msg, fpos + len(name) + 1 if fpos >= 0 else first
        return msg, max(fpos, first)
    if msg.startswith("expected type string in aggregation expression"):
        return msg.replace("aggregation expression", "aggregation parameter"), _after_agg_paren(toks, first)
    if m := re.match(r"unary expression only allowed on expressions of type scalar or vector, got: (\w+)", msg):
        return f'unary expression only allowed on expressions of type scalar or instant vector, got "{m[1]}"', first
    if msg.startswith(("comparisons between scalars", "bool modifier")):
        return msg, next((t.pos for t in toks if t.kind == "op" and t.text in _BINARY), first)
    if msg.startswith("ranges only allowed"):
        return msg, _misplaced_range(toks, first)
    if msg.startswith("duration must be greater than 0"):
        return msg, next((t.pos for t in toks if t.kind == "duration" and not re.search(r"[1-9]", t.text)), first)
    if msg.startswith("unexpected second colon"):
        colons = [t.pos for t in toks if t.text == ":"]
        return "unexpected colon ':'", colons[1] if len(colons) > 1 else first
    if msg == "invalid promql query":
        return _unexpected_token(toks, query)
    if m := re.match(r'unknown escape sequence "(.)"', msg):
        pos = next((t.pos for t in toks if t.kind == "string" and "\\" + m[1] in t.text), first)
        return f"unknown escape sequence U+{ord(m[1]):04X} '{m[1]}'", pos
    if m := re.match(r"ParseFloatError\. (\S+) can't be parsed", msg):
        pos = next((t.pos for t in toks if t.text.startswith(m[1])), first)
        return f'error parsing number: strconv.ParseFloat: parsing "{m[1]}": invalid syntax', pos
    return msg, first


def offset_number_error(query: str) -> str | None:
    """Prometheus 2.42 wants a duration after ``offset``; promql-parser also takes a number."""
    try:
        toks = lex(query)
    except LexError:
        return None
    for a, b in zip(toks, toks[1:], strict=False):
        if a.kind == "ident" and a.text == "offset" and b.kind == "number":
            return f'{position(query, b.pos)}: parse error: unexpected number "{b.text}" in offset, expected duration'
    return None


def _find_call(toks: list[Token], name: str) -> int:
    for a, b in zip(toks, toks[1:], strict=False):
        if a.kind == "ident" and a.text == name and b.kind == "lparen":
            return a.pos
    return -1


def _after_agg_paren(toks: list[Token], default: int) -> int:
    for a, b, c in zip(toks, toks[1:], toks[2:], strict=False):
        if a.text in _AGGREGATIONS and b.kind == "lparen":
            return c.pos
    return default


def _misplaced_range(toks: list[Token], default: int) -> int:
    for a, b in zip(toks, toks[1:], strict=False):
        if b.kind == "lbracket" and not (a.kind == "ident" or a.kind == "rbrace"):
            return b.pos
    return default


def _describe(t: Token) -> str:
    if t.kind == "ident":
        if t.text in _KEYWORDS or t.text in _AGGREGATIONS:
            return f"<{t.text}>"
        return f'identifier "{t.text}"'
    if t.kind == "number":
        return f'number "{t.text}"'
    if t.kind == "duration":
        return f'duration "{t.text}"'
    if t.kind == "string":
        return f"string {t.text!r}" if t.text.startswith('"') else f'string "{t.text}"'
    return f'"{t.text}"'


_OPERAND_END = frozenset({"ident", "number", "string", "rparen", "rbrace", "rbracket", "duration"})
_OPERAND_START = frozenset({"ident", "number", "string"})


def _unexpected_token(toks: list[Token], query: str) -> tuple[str, int]:
    """Best effort for promql-parser's generic error: the first token that cannot follow."""
    if not toks:
        return "no expression found in input", 0
    if toks[0].kind == "ident" and toks[0].text in _KEYWORDS - {"offset"}:
        return f"unexpected <{toks[0].text}>", toks[0].pos
    last = toks[-1]
    if last.text in ("by", "without"):
        return 'unexpected end of input in grouping opts, expected "("', len(query)
    for a, b in zip(toks, toks[1:], strict=False):
        if a.text == "@" and b.kind == "ident" and b.text not in ("start", "end"):
            return f"unexpected identifier \"{b.text}\" in @, expected timestamp", b.pos
    if last.text == "@" or (len(toks) > 1 and toks[-2].text == "@"):
        return "unexpected end of input in @, expected timestamp", len(query)
    if (last.kind == "op" or last.text in _BINARY or last.text in _KEYWORDS) and last.text != "=":
        return "unexpected end of input", len(query)
    for i, t in enumerate(toks):
        if t.kind == "op" and t.text in ("=", "@") and (i == 0 or t.text == "="):
            if t.text == "=" and _in_braces(toks, i):
                nxt = toks[i + 1] if i + 1 < len(toks) else None
                if nxt is not None and nxt.kind != "string":
                    return f"unexpected {_describe(nxt)} in label matching, expected string", nxt.pos
                continue
            return f'unexpected "{t.text}"', t.pos
        grouping = t.text in ("by", "without") and any(x.text in ("by", "without") for x in toks[:i])
        if i and grouping and _in_aggregation(toks, i) and toks[i - 1].kind == "rparen":
            return f"unexpected <{t.text}> in aggregation", t.pos
        if i and t.kind == "lparen" and _closes_grouping_after_body(toks, i):
            return 'unexpected "("', t.pos
        if i and t.kind in _OPERAND_START and toks[i - 1].kind in _OPERAND_END and t.text not in _BINARY:
            prev = toks[i - 1]
            if t.text in _KEYWORDS or (prev.kind == "ident" and prev.text in _AGGREGATIONS):
                continue
            return f"unexpected {_describe(t)}{_in_aggregation(toks, i)}", t.pos
    return "invalid promql query", toks[0].pos


def _in_braces(toks: list[Token], i: int) -> bool:
    depth = 0
    for t in toks[:i]:
        depth += {"lbrace": 1, "rbrace": -1}.get(t.kind, 0)
    return depth > 0


def _matching_lparen(toks: list[Token], j: int) -> int:
    depth = 0
    while j >= 0:
        depth += {"rparen": 1, "lparen": -1}.get(toks[j].kind, 0)
        if depth == 0:
            return j
        j -= 1
    return -1


def _closes_grouping_after_body(toks: list[Token], i: int) -> bool:
    """``sum(x) by (a) (y)``: a "(" after a grouping clause that followed the body."""
    if toks[i - 1].kind != "rparen":
        return False
    j = _matching_lparen(toks, i - 1)
    return j >= 2 and toks[j - 1].text in ("by", "without") and toks[j - 2].kind == "rparen"


def _in_aggregation(toks: list[Token], i: int) -> str:
    """" in aggregation" when token ``i`` follows ``agg by (...)`` or ``agg (...) by (...)``."""
    j = i - 1
    if j >= 0 and toks[j].kind == "rparen":
        depth = 0
        while j >= 0:
            depth += {"rparen": 1, "lparen": -1}.get(toks[j].kind, 0)
            if depth == 0:
                break
            j -= 1
        if j >= 1 and toks[j - 1].text in ("by", "without"):
            return " in aggregation"
        if j >= 1 and toks[j - 1].text in _AGGREGATIONS:
            return " in aggregation"
    return ""
