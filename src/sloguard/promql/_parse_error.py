"""Parse errors worded and positioned as Prometheus prints them (``1:6: parse error: ...``).

promql-parser reports what is wrong but not where, and words a few messages differently
(or only as "invalid promql query"). A small lexer finds lexical errors itself, with
their exact positions; other messages are re-worded and located by the token they name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sloguard.gofmt import go_quote
from sloguard.promql._parse_checks import at_out_of_bounds, operand_start, regex_matcher_error
from sloguard.promql._parse_lexer import (
    AGGREGATION_WORDS,
    BINARY_WORDS,
    LexError,
    Token,
    lex,
    position,
)
from sloguard.promql._parse_syntax import (
    _first_unexpected,
    _grouping_label,
    _rule_duration,
    _rule_label_matching,
    _unexpected_token,
    unexpected_before_lex_error,
)
from sloguard.promql._parse_tokens import _in_braces, _in_grouping

_TYPE_WORDS = {"matrix": "range vector", "vector": "instant vector", "scalar": "scalar", "string": "string"}


def prometheus_message(query: str, message: str) -> str:
    """``line:col: parse error: msg`` for a promql-parser error ``message`` on ``query``."""
    try:
        toks = lex(query)
    except LexError as e:
        if (found := unexpected_before_lex_error(e.toks)) is not None and found[1] < e.pos:
            return f"{position(query, found[1])}: parse error: {found[0]}"
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
    if m := re.match(r"expected type (\w+) in aggregation expression, got (\w+)", msg):
        want, got = _TYPE_WORDS.get(m[1], m[1]), _TYPE_WORDS.get(m[2], m[2])
        return f"expected type {want} in aggregation parameter, got {got}", _after_agg_paren(toks, first)
    if msg.startswith("illegal regex for") and (found := regex_matcher_error(toks)) is not None:
        return found
    if msg.startswith("timestamp out of bounds for @ modifier") and (found := at_out_of_bounds(toks)) is not None:
        return found
    if m := re.match(r"unary expression only allowed on expressions of type scalar or vector, got: (\w+)", msg):
        return f'unary expression only allowed on expressions of type scalar or instant vector, got "{m[1]}"', first
    if msg.startswith(("comparisons between scalars", "bool modifier")):
        return msg, next((t.pos for t in toks if t.kind == "op" and t.text in BINARY_WORDS), first)
    if msg.startswith("ranges only allowed"):
        return msg, _misplaced_range(toks, first)
    if msg.startswith("duration must be greater than 0"):
        return msg, next((t.pos for t in toks if t.kind == "duration" and not re.search(r"[1-9]", t.text)), first)
    if msg.startswith("unexpected second colon"):
        colons = [t.pos for t in toks if t.text == ":"]
        return "unexpected colon ':'", colons[1] if len(colons) > 1 else first
    if msg.startswith("trailing commas not allowed"):
        return msg, next((t.pos for t, u in zip(toks, toks[1:], strict=False)
                          if t.text == "," and (u.kind == "rparen" or u.text == ",")), first)
    if msg.startswith(("no offset modifiers allowed before range", "no @ modifiers allowed before range")):
        return msg, next((u.pos for t, u in zip(toks, toks[1:], strict=False)
                          if u.kind == "lbracket" and t.kind in ("duration", "number", "rparen")), first)
    if msg.startswith(("invalid label matcher, expected label matching operator", "unexpected character inside brackets")) \
            or msg.endswith("is not valid label in grouping opts"):
        return _unexpected_token(toks, query)
    if msg == "invalid promql query" or msg.startswith("bad number or duration syntax"):
        return _unexpected_token(toks, query)
    if m := re.match(r"(offset|@) modifier must be preceded by an vector selector or matrix selector", msg):
        return (f"{m[1]} modifier must be preceded by an instant vector selector or range vector selector "
                "or a subquery"), _misplaced_modifier(toks, m[1], first)
    if msg.startswith("not a valid duration string") and (found := _first_of(_rule_duration, toks)) is not None:
        return found
    if m := re.match(r"not a valid duration string: (\S+)$", msg):
        return f"not a valid duration string: {go_quote(m[1])}", next((t.pos for t in toks if t.text == m[1]), first)
    if m := re.match(r'unknown escape sequence "(.)"', msg):
        pos = next((t.pos for t in toks if t.kind == "string" and "\\" + m[1] in t.text), first)
        return f"unknown escape sequence U+{ord(m[1]):04X} '{m[1]}'", pos
    if m := re.match(r"ParseFloatError\. (\S+) can't be parsed", msg):
        pos = next((t.pos for t in toks if t.text.startswith(m[1])), first)
        return f'error parsing number: strconv.ParseFloat: parsing "{m[1]}": invalid syntax', pos
    if msg.startswith("unexpected ") and (found := _first_unexpected(toks, query)) is not None:
        return found  # promql-parser's wording, without a position: find the token
    return msg, first


def at_bounds_error(query: str) -> str | None:
    """promql-parser saturates huge ``@`` times; Prometheus refuses them."""
    try:
        found = at_out_of_bounds(lex(query))
    except LexError:
        return None
    return None if found is None else f"{position(query, found[1])}: parse error: {found[0]}"


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


def _first_of(rule: Callable[[list[Token], int], tuple[str, int] | None], toks: list[Token]) -> tuple[str, int] | None:
    return next((found for i in range(len(toks)) if (found := rule(toks, i)) is not None), None)


def accepted_query_error(query: str) -> str | None:
    """Prometheus' error for a query promql-parser accepts but Prometheus 2.42 refuses:
    lexical errors in durations (``x[5]``) and strings in grouping labels."""
    try:
        toks = lex(query)
    except LexError as e:
        return f"{position(query, e.pos)}: parse error: {e}"
    for i, t in enumerate(toks):
        if t.kind in ("string", "number") and _in_grouping(toks, i):
            return f"{position(query, t.pos)}: parse error: {_grouping_label(toks, i)}"
        if t.kind == "string" and _in_braces(toks, i) and (found := _rule_label_matching(toks, i)) is not None:
            return f"{position(query, found[1])}: parse error: {found[0]}"
        if (found := _rule_duration(toks, i)) is not None:
            return f"{position(query, found[1])}: parse error: {found[0]}"
    return None


def _misplaced_modifier(toks: list[Token], word: str, default: int) -> int:
    for i, t in enumerate(toks):
        if i and t.text == word and toks[i - 1].kind in ("rparen", "number", "string"):
            return operand_start(toks, i)
    return default


def _find_call(toks: list[Token], name: str) -> int:
    for a, b in zip(toks, toks[1:], strict=False):
        if a.kind == "ident" and a.text == name and b.kind == "lparen":
            return a.pos
    return -1


def _after_agg_paren(toks: list[Token], default: int) -> int:
    for a, b, c in zip(toks, toks[1:], toks[2:], strict=False):
        if a.text in AGGREGATION_WORDS and b.kind == "lparen":
            return c.pos
    return default


def _misplaced_range(toks: list[Token], default: int) -> int:
    for a, b in zip(toks, toks[1:], strict=False):
        if b.kind == "lbracket" and not (a.kind == "ident" or a.kind == "rbrace"):
            return b.pos
    return default
