"""Token context for parse errors: how Prometheus describes a token, and where a token sits
(inside braces, a grouping list, an aggregation)."""

from __future__ import annotations

from sloguard.gofmt import go_quote
from sloguard.promql._parse_lexer import AGGREGATION_WORDS, KEYWORDS, Token


def _describe(t: Token, in_braces: bool = False) -> str:
    """Prometheus' ``Item.desc()``: long literal values are cut to 10 characters; inside
    braces every word is an identifier, and a name with ":" is a metric identifier."""
    if t.kind == "ident" and ":" in t.text:
        return f'metric identifier "{t.text}"'
    if t.kind == "ident" and not in_braces:
        if t.text in AGGREGATION_WORDS:
            return f"<aggr:{t.text}>"
        if t.text in KEYWORDS:
            return f"<{t.text}>"
    if t.kind == "ident":
        return f'identifier "{t.text}"'
    if t.kind in ("number", "duration", "string"):
        value = go_quote(t.text[:10]) + "..." if len(t.text) > 10 else go_quote(t.text)
        return f"{t.kind} {value}"
    if t.kind == "op" and t.text == "@":
        return '"<Item 57385>" <op:@>'
    if t.kind == "op" and t.text not in ("=", ",", ":"):
        return f"<op:{t.text}>"
    return f'"{t.text}"'


_OPERAND_END = frozenset({"ident", "number", "string", "rparen", "rbrace", "rbracket", "duration"})
_OPERAND_START = frozenset({"ident", "number", "string"})


_GROUPING_WORDS = ("by", "without", "on", "ignoring")
_NON_UNARY_OPS = frozenset({"*", "/", "%", "^", "==", "!=", ">=", "<=", ">", "<", "and", "or", "unless", "atan2"})
Found = tuple[str, int] | None

def _after_modifier_list(toks: list[Token], i: int) -> bool:
    """The ")" at ``i`` closes the label list of ``on``/``ignoring``/``group_left``/``group_right``."""
    j = _matching_lparen(toks, i)
    return j >= 1 and toks[j - 1].text in ("on", "ignoring", "group_left", "group_right")


def _in_grouping(toks: list[Token], i: int) -> bool:
    """Token ``i`` is inside the parentheses of ``by``/``without``/``on``/``ignoring``."""
    if i < len(toks):
        return toks[i].grouping  # recorded by ``lex``
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
    if i < len(toks):
        return toks[i].braces  # recorded by ``lex``
    depth = 0
    for t in toks[:i]:
        depth += {"lbrace": 1, "rbrace": -1}.get(t.kind, 0)
    return depth > 0


def _matching_lparen(toks: list[Token], j: int) -> int:
    if 0 <= j < len(toks) and toks[j].kind == "rparen":
        return toks[j].match  # recorded by ``lex``
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
            if _in_aggregation_call(toks, j):
                return " in aggregation"
            depth = 0
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
    return ""


def _in_grouping_list_end(toks: list[Token], i: int) -> bool:
    """The ")" at ``i`` closes a ``by``/``without`` list."""
    j = _matching_lparen(toks, i)
    return j >= 1 and toks[j - 1].text in ("by", "without")
