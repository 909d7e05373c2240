"""Parse errors promql-parser words differently or misses: Go regexp errors in matchers,
and ``@`` timestamps out of bounds (the parser saturates them silently)."""

from __future__ import annotations

import math
import re

from sloguard.labels import GoRegexError, compile_anchored, fast_matcher
from sloguard.promql._parse_lexer import LexError, Token, lex, position

_INT64_MAX = float(2**63 - 1)


def go_regex_error(pattern: str) -> str | None:
    """Go's ``error parsing regexp: ...`` for a matcher regex, or None if it compiles."""
    if fast_matcher(pattern) is not None:
        return None  # plain text and ".*" gaps: always valid
    try:
        compile_anchored(pattern)
    except GoRegexError as e:
        return str(e)
    return None


def regex_error(query: str) -> str | None:
    """``line:col: parse error: error parsing regexp: ...`` for the first bad matcher regex."""
    try:
        found = regex_matcher_error(lex(query))
    except LexError:
        return None
    return None if found is None else f"{position(query, found[1])}: parse error: {found[0]}"


def regex_matcher_error(toks: list[Token]) -> tuple[str, int] | None:
    """The first regex matcher that does not compile: (message, position of its label)."""
    for i in range(2, len(toks)):
        t, op, name = toks[i], toks[i - 1], toks[i - 2]
        is_regex = t.kind == "string" and op.text in ("=~", "!~") and name.kind == "ident"
        if is_regex and (msg := go_regex_error(unquote(t.text))) is not None:
            return msg, name.pos
    return None


def unquote(text: str) -> str:
    """The value of a PromQL string token (quotes removed, escapes resolved)."""
    body = text[1:-1]
    if text.startswith("`"):
        return body
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]) if m[1] != "\\" else "\\", body)


def at_out_of_bounds(toks: list[Token]) -> tuple[str, int] | None:
    """Prometheus refuses ``@`` seconds that are not finite or beyond int64."""
    for i, t in enumerate(toks):
        if t.text != "@" or i + 1 >= len(toks):
            continue
        j, sign = i + 1, 1.0
        if toks[j].text in ("-", "+") and j + 1 < len(toks):
            sign = -1.0 if toks[j].text == "-" else 1.0
            j += 1
        word = toks[j].text.lower()
        if toks[j].kind != "number" and word not in ("inf", "nan"):
            continue
        v = sign * _go_float(toks[j].text)
        if math.isnan(v) or math.isinf(v) or v >= _INT64_MAX or v <= -_INT64_MAX:
            shown = "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf") if math.isinf(v) else f"{v:f}"
            return f"timestamp out of bounds for @ modifier: {shown}", operand_start(toks, i)
    return None


def _go_float(text: str) -> float:
    if text.lower().startswith("0x"):
        return float(int(text, 16))
    return float(text)


def operand_start(toks: list[Token], i: int) -> int:
    """Where the selector an ``@`` belongs to starts (skipping ``[...]``, ``{...}``, offset)."""
    j = i - 1
    closers = {"rbracket": "lbracket", "rbrace": "lbrace", "rparen": "lparen"}
    while j >= 0:
        kind = toks[j].kind
        if kind in closers:
            depth = 0
            while j >= 0:
                depth += 1 if toks[j].kind == kind else -1 if toks[j].kind == closers[kind] else 0
                if depth == 0:
                    break
                j -= 1
            if j > 0 and toks[j - 1].kind in ("ident", "rbrace", "rbracket"):
                j -= 1
                continue
            return toks[j].pos
        if kind == "duration" and j > 0 and toks[j - 1].text == "offset":
            j -= 2
            continue
        if toks[j].text in ("by", "without") and j > 0 and toks[j - 1].kind == "rparen":
            j -= 1  # an aggregation's grouping after its body
            continue
        return toks[j].pos
    return 0
