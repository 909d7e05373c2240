"""Errors Prometheus' grammar raises when it reduces a production (not at an unexpected
token): a trailing comma, an aggregation's argument count, an unknown function name."""

from __future__ import annotations

from sloguard.promql._parse_lexer import AGGREGATION_WORDS, BINARY_WORDS, KEYWORDS, Token
from sloguard.promql._parse_tokens import Found, _in_grouping_list_end, _matching_lparen


def _rule_grammar_time(toks: list[Token], i: int) -> Found:
    """Errors Prometheus raises when it reduces an argument list: a trailing comma (at the
    comma) and an aggregation's argument count (at its closing paren)."""
    t = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    trailing = nxt is not None and (nxt.kind == "rparen" or nxt.text == ",") and toks[i - 1].kind != "lparen"
    if t.text == "," and trailing and _in_call_args(toks, i):
        return "trailing commas not allowed in function call args", t.pos
    if t.kind != "rparen" or (j := _matching_lparen(toks, i)) < 1:
        return None
    agg = toks[j - 1] if toks[j - 1].text in AGGREGATION_WORDS else None
    if agg is None and toks[j - 1].kind == "rparen" and _in_grouping_list_end(toks, j - 1):
        k = _matching_lparen(toks, j - 1)
        agg = toks[k - 2] if k >= 2 and toks[k - 2].text in AGGREGATION_WORDS else None
    if agg is None:
        return None
    args = 0 if j + 1 == i else 1 + sum(1 for k in range(j + 1, i) if toks[k].text == "," and _depth(toks, j, k) == 0)
    want = 2 if agg.text in ("topk", "bottomk", "quantile", "count_values") else 1
    if args == 0:
        return "no arguments for aggregate expression provided", agg.pos
    if args != want:
        return f"wrong number of arguments for aggregate expression provided, expected {want}, got {args}", agg.pos
    return None


def _depth(toks: list[Token], j: int, k: int) -> int:
    """Bracket depth of token ``k`` relative to the "(" at ``j``."""
    d = 0
    for x in toks[j + 1:k]:
        d += 1 if x.kind in ("lparen", "lbrace", "lbracket") else -1 if x.kind in ("rparen", "rbrace", "rbracket") else 0
    return d


def _in_call_args(toks: list[Token], i: int) -> bool:
    """Token ``i`` sits directly in a function call's or aggregation's argument list."""
    depth = 0
    for j in range(i - 1, -1, -1):
        depth += {"rparen": 1, "lparen": -1}.get(toks[j].kind, 0)
        if depth < 0:
            if j == 0:
                return False
            before = toks[j - 1]
            if before.kind == "ident" and before.text not in KEYWORDS | BINARY_WORDS:
                return True
            return before.kind == "rparen" and _in_grouping_list_end(toks, j - 1)
    return False


def _rule_unknown_function(toks: list[Token], i: int) -> Found:
    """At the ")" closing ``name(...)`` for a name that is no function (grammar-time error)."""
    from sloguard.promql._parse_typecheck import SIGNATURES

    if toks[i].kind != "rparen" or (j := _matching_lparen(toks, i)) < 1:
        return None
    name = toks[j - 1]
    known = SIGNATURES.keys() | AGGREGATION_WORDS | KEYWORDS | BINARY_WORDS | {"start", "end"}
    if name.kind == "ident" and name.text not in known:
        return f'unknown function with name "{name.text}"', name.pos
    return None
