"""Parse errors worded and positioned as Prometheus prints them (``1:6: parse error: ...``).

promql-parser reports what is wrong but not where, and words a few messages differently
(or only as "invalid promql query"). A small lexer finds lexical errors itself, with
their exact positions; other messages are re-worded and located by the token they name.
"""

from __future__ import annotations

import re

from sloguard.gofmt import go_quote
from sloguard.promql._parse_checks import at_out_of_bounds, operand_start, regex_matcher_error
from sloguard.promql._parse_lexer import (
    AGGREGATION_WORDS,
    BINARY_WORDS,
    KEYWORDS,
    LexError,
    Token,
    lex,
    position,
)

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
        return msg, next((t.pos for t, u in zip(toks, toks[1:], strict=False) if t.text == "," and u.kind == "rparen"),
                         first)
    if msg.startswith(("no offset modifiers allowed before range", "no @ modifiers allowed before range")):
        return msg, next((u.pos for t, u in zip(toks, toks[1:], strict=False)
                          if u.kind == "lbracket" and t.kind in ("duration", "number", "rparen")), first)
    if msg.startswith("invalid label matcher, expected label matching operator"):
        return _unexpected_token(toks, query)
    if msg == "invalid promql query" or msg.startswith("bad number or duration syntax"):
        return _unexpected_token(toks, query)
    if m := re.match(r"(offset|@) modifier must be preceded by an vector selector or matrix selector", msg):
        return (f"{m[1]} modifier must be preceded by an instant vector selector or range vector selector "
                "or a subquery"), _misplaced_modifier(toks, m[1], first)
    if m := re.match(r"not a valid duration string: (\S+)$", msg):
        return f"not a valid duration string: {go_quote(m[1])}", next((t.pos for t in toks if t.text == m[1]), first)
    if m := re.match(r'unknown escape sequence "(.)"', msg):
        pos = next((t.pos for t in toks if t.kind == "string" and "\\" + m[1] in t.text), first)
        return f"unknown escape sequence U+{ord(m[1]):04X} '{m[1]}'", pos
    if m := re.match(r"ParseFloatError\. (\S+) can't be parsed", msg):
        pos = next((t.pos for t in toks if t.text.startswith(m[1])), first)
        return f'error parsing number: strconv.ParseFloat: parsing "{m[1]}": invalid syntax', pos
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
    return None


def _grouping_label(toks: list[Token], i: int) -> str:
    t = toks[i]
    if toks[i - 1].kind == "lparen" or toks[i - 1].text == ",":
        return f"unexpected {_describe(t)} in grouping opts, expected label"
    return f'unexpected {_describe(t)} in grouping opts, expected "," or ")"'


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


def _describe(t: Token) -> str:
    """Prometheus' ``Item.desc()``: long literal values are cut to 10 characters."""
    if t.kind == "ident":
        if t.text in AGGREGATION_WORDS:
            return f"<aggr:{t.text}>"
        if t.text in KEYWORDS:
            return f"<{t.text}>"
        return f'identifier "{t.text}"'
    if t.kind in ("number", "duration", "string"):
        value = go_quote(t.text[:10]) + "..." if len(t.text) > 10 else go_quote(t.text)
        return f"{t.kind} {value}"
    return f'"{t.text}"'


_OPERAND_END = frozenset({"ident", "number", "string", "rparen", "rbrace", "rbracket", "duration"})
_OPERAND_START = frozenset({"ident", "number", "string"})


_GROUPING_WORDS = ("by", "without", "on", "ignoring")
_NON_UNARY_OPS = frozenset({"*", "/", "%", "^", "==", "!=", ">=", "<=", ">", "<", "and", "or", "unless", "atan2"})
Found = tuple[str, int] | None


def _unexpected_token(toks: list[Token], query: str) -> tuple[str, int]:
    """Best effort for promql-parser's generic error: the first token that cannot follow."""
    if not toks:
        return "no expression found in input", 0
    if toks[0].kind == "ident" and toks[0].text in KEYWORDS - {"offset", "by", "without"}:
        return f"unexpected <{toks[0].text}>", toks[0].pos
    if toks[0].text in ("by", "without") and len(toks) > 1 and toks[1].kind == "lparen":
        return 'unexpected "("', toks[1].pos
    for i, t in enumerate(toks):
        if t.text == "@" and (i == 0 or toks[i - 1].text == "@"):
            return f'unexpected "<Item 57385>" <op:@>{" in @, expected timestamp" if i else ""}', t.pos
        if t.kind == "lbrace" and i and toks[i - 1].kind in ("rbrace", "rbracket"):
            return f'unexpected "{{"{_aggregation_suffix(toks, i)}', t.pos
    if (found := _end_of_input(toks, query)) is not None:
        return found
    for i in range(len(toks)):
        for rule in _TOKEN_RULES:
            if (found := rule(toks, i)) is not None:
                return found
    return "invalid promql query", toks[0].pos


def _end_of_input(toks: list[Token], query: str) -> Found:
    last = toks[-1]
    if last.text in _GROUPING_WORDS:
        return 'unexpected end of input in grouping opts, expected "("', len(query)
    if last.text == "@" or (len(toks) > 1 and toks[-2].text == "@" and last.text in ("-", "+", "start", "end")):
        return "unexpected end of input in @, expected timestamp", len(query)
    if len(toks) > 1 and toks[-2].text == "offset" and last.text in ("-", "+"):
        return "unexpected end of input in offset, expected duration", len(query)
    if (last.kind == "op" or last.text in BINARY_WORDS or last.text in KEYWORDS) and last.text not in ("=", ","):
        return "unexpected end of input", len(query)
    return None


def _rule_at(toks: list[Token], i: int) -> Found:
    t = toks[i]
    if i and toks[i - 1].text == "@" and t.kind == "ident" and t.text not in ("start", "end"):
        return f'unexpected identifier "{t.text}" in @, expected timestamp', t.pos
    return None


def _rule_label_matching(toks: list[Token], i: int) -> Found:
    t = toks[i]
    if not i or not _in_braces(toks, i):
        return None
    prev = toks[i - 1]
    if prev.kind == "op" and prev.text in ("=", "!=", "=~", "!~") and t.kind != "string":
        return f"unexpected {_describe(t)} in label matching, expected string", t.pos
    if prev.kind == "string" and t.text != "," and t.kind != "rbrace":
        return f'unexpected {_describe(t)} in label matching, expected "," or "}}"', t.pos
    if prev.kind == "ident" and t.text not in ("=", "!=", "=~", "!~"):
        return f"unexpected {_describe(t)} in label matching, expected label matching operator", t.pos
    if (prev.kind == "lbrace" or prev.text == ",") and t.kind not in ("ident", "rbrace"):
        return f'unexpected {_describe(t)} in label matching, expected identifier or "}}"', t.pos
    return None


def _rule_grouping(toks: list[Token], i: int) -> Found:
    t, prev = toks[i], toks[i - 1] if i else None
    if prev is not None and prev.text in _GROUPING_WORDS and t.kind != "lparen":
        return f'unexpected {_describe(t)} in grouping opts, expected "("', t.pos
    if t.kind in ("string", "number") and _in_grouping(toks, i):
        return _grouping_label(toks, i), t.pos
    if i >= 2 and t.kind == "ident" and prev is not None and prev.kind == "ident" and _in_grouping(toks, i):
        return f'unexpected {_describe(t)} in grouping opts, expected "," or ")"', t.pos
    return None


def _rule_operator(toks: list[Token], i: int) -> Found:
    t = toks[i]
    if t.kind == "lparen" and i and toks[i - 1].kind in ("number", "string"):
        return 'unexpected "("', t.pos
    if i == 0 and t.kind == "op" and t.text in _NON_UNARY_OPS:
        return f"unexpected <op:{t.text}>", t.pos
    if t.text in ("on", "ignoring") and i and toks[i - 1].kind == "rparen" and _in_grouping(toks, i - 1):
        return f"unexpected <{t.text}>", t.pos
    if t.kind == "op" and t.text == "=" and not _in_braces(toks, i):
        return 'unexpected "="', t.pos
    if i and t.text in _NON_UNARY_OPS and toks[i - 1].text in BINARY_WORDS and toks[i - 1].kind != "ident":
        return f"unexpected <op:{t.text}>", t.pos
    return None


def _rule_aggregation(toks: list[Token], i: int) -> Found:
    t = toks[i]
    grouping = t.text in ("by", "without") and any(x.text in ("by", "without") for x in toks[:i])
    if i and grouping and _in_aggregation(toks, i) and toks[i - 1].kind == "rparen":
        j = _matching_lparen(toks, i - 1)
        after_body = j >= 2 and toks[j - 1].text in ("by", "without") and toks[j - 2].kind == "rparen"
        return f"unexpected <{t.text}>{'' if after_body else ' in aggregation'}", t.pos
    if t.text == "," and i and toks[i - 1].kind == "lparen":
        return f'unexpected ","{_in_aggregation_call(toks, i - 1)}', t.pos
    if i and t.kind == "lparen" and _closes_grouping_after_body(toks, i):
        return 'unexpected "("', t.pos
    return None


def _rule_adjacent_operands(toks: list[Token], i: int) -> Found:
    t = toks[i]
    if not i or t.kind not in _OPERAND_START or toks[i - 1].kind not in _OPERAND_END or t.text in BINARY_WORDS:
        return None
    prev = toks[i - 1]
    if t.text in KEYWORDS or (prev.kind == "ident" and prev.text in AGGREGATION_WORDS):
        return None
    return f"unexpected {_describe(t)}{_aggregation_suffix(toks, i)}", t.pos


_TOKEN_RULES = (_rule_at, _rule_label_matching, _rule_grouping, _rule_operator, _rule_aggregation,
                _rule_adjacent_operands)


def _in_grouping(toks: list[Token], i: int) -> bool:
    """Token ``i`` is inside the parentheses of ``by``/``without``/``on``/``ignoring``."""
    depth = 0
    for j in range(i - 1, -1, -1):
        kind = toks[j].kind
        if kind == "rparen":
            depth += 1
        elif kind == "lparen":
            if depth == 0:
                return j > 0 and toks[j - 1].text in (*_GROUPING_WORDS, "group_left", "group_right")
            depth -= 1
    return False


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


def _aggregation_suffix(toks: list[Token], i: int) -> str:
    """" in aggregation" when token ``i`` is where Prometheus' parser is inside an aggregation."""
    if found := _in_aggregation(toks, i):
        return found
    depth = 0
    for j in range(i - 1, -1, -1):
        depth += {"rparen": 1, "lparen": -1}.get(toks[j].kind, 0)
        if depth < 0:
            return _in_aggregation_call(toks, j)
    return ""


def _in_aggregation_call(toks: list[Token], j: int) -> str:
    """" in aggregation" when the "(" at ``j`` opens an aggregation's arguments."""
    if j >= 1 and toks[j - 1].text in AGGREGATION_WORDS:
        return " in aggregation"
    return _in_aggregation(toks, j)


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
        if j >= 1 and toks[j - 1].text in AGGREGATION_WORDS:
            return " in aggregation"
    return ""
