"""Syntax errors placed as Prometheus' parser reports them: promql-parser only says "invalid
promql query", so small rules find the first token that cannot follow and word it."""

from __future__ import annotations

from sloguard.promql._parse_grammar import _rule_grammar_time, _rule_unknown_function
from sloguard.promql._parse_lexer import (
    AGGREGATION_WORDS,
    BINARY_WORDS,
    KEYWORDS,
    Token,
    bracket_context,
)
from sloguard.promql._parse_tokens import (
    _GROUPING_WORDS,
    _NON_UNARY_OPS,
    _OPERAND_END,
    _OPERAND_START,
    Found,
    _after_modifier_list,
    _aggregation_suffix,
    _closes_grouping_after_body,
    _describe,
    _in_aggregation,
    _in_aggregation_call,
    _in_braces,
    _in_grouping,
    _in_grouping_list_end,
    _matching_lparen,
)


def _grouping_label(toks: list[Token], i: int) -> str:
    t = toks[i]
    if toks[i - 1].kind == "lparen" or toks[i - 1].text == ",":
        return f"unexpected {_describe(t)} in grouping opts, expected label"
    return f'unexpected {_describe(t)} in grouping opts, expected "," or ")"'






def _unexpected_token(toks: list[Token], query: str) -> tuple[str, int]:
    """Best effort for promql-parser's generic error: the first token that cannot follow."""
    if not toks:
        return "no expression found in input", 0
    return _first_unexpected(toks, query) or ("invalid promql query", toks[0].pos)


def unexpected_before_lex_error(toks: list[Token]) -> Found:
    """Prometheus lexes as it parses: a syntax error among the tokens read before a
    lexical error is the one it reports."""
    found = _first_unexpected(toks, None) if toks else None
    if found is not None and found[0].startswith(("wrong number", "no arguments")) and toks[-1].kind == "rparen":
        j = _matching_lparen(toks, len(toks) - 1)
        if j >= 1 and toks[j - 1].text in AGGREGATION_WORDS:
            return None  # a "by" may still follow: Prometheus reads on before it checks the count
    return found


def _first_unexpected(toks: list[Token], query: str | None) -> Found:
    if toks[0].kind == "ident" and toks[0].text in KEYWORDS - {"offset", "by", "without"}:
        return f"unexpected <{toks[0].text}>", toks[0].pos
    if toks[0].text in ("by", "without") and len(toks) > 1 and toks[1].kind == "lparen":
        return 'unexpected "("', toks[1].pos
    for i, t in enumerate(toks):
        if t.text == "@" and (i == 0 or toks[i - 1].text == "@"):
            return f'unexpected "<Item 57385>" <op:@>{" in @, expected timestamp" if i else ""}', t.pos
        if t.kind == "lbrace" and i and toks[i - 1].kind in ("rbrace", "rbracket"):
            return f'unexpected "{{"{_aggregation_suffix(toks, i)}', t.pos
    for i in range(len(toks)):
        for rule in _TOKEN_RULES:
            if (found := rule(toks, i)) is not None:
                return found
    return _end_of_input(toks, query) if query is not None else None


def _rule_keyword_operand(toks: list[Token], i: int) -> Found:
    """``by``/``without`` where an operand starts are metric names, so "(" cannot follow; an
    aggregation word takes only "(", ``by`` or ``without`` (or ends the operand)."""
    t, nxt = toks[i], toks[i + 1] if i + 1 < len(toks) else None
    if nxt is None or _in_grouping(toks, i) or _in_braces(toks, i):
        return None
    if t.text in ("by", "without") and nxt.kind == "lparen" and _operand_may_start(toks[i - 1] if i else None):
        return f'unexpected "("{_aggregation_suffix(toks, i + 1)}', nxt.pos
    if t.kind == "ident" and t.text in AGGREGATION_WORDS and _operand_may_start(toks[i - 1] if i else None) \
            and nxt.kind in ("string", "number", "duration", "ident") \
            and nxt.text not in ("by", "without", *BINARY_WORDS, *KEYWORDS):
        return f"unexpected {_describe(nxt)}", nxt.pos
    return None


def _end_of_input(toks: list[Token], query: str) -> Found:
    last = toks[-1]
    if last.text in (*_GROUPING_WORDS, "group_left", "group_right"):
        return 'unexpected end of input in grouping opts, expected "("', len(query)
    if last.text == "@" or (len(toks) > 1 and toks[-2].text == "@" and last.text in ("-", "+", "start", "end")):
        return "unexpected end of input in @, expected timestamp", len(query)
    if len(toks) > 1 and toks[-2].text == "offset" and last.text in ("-", "+"):
        return "unexpected end of input in offset, expected duration", len(query)
    if (last.kind == "op" or last.text in BINARY_WORDS or last.text in KEYWORDS) and last.text not in ("=", ","):
        return "unexpected end of input", len(query)
    if last.kind == "rparen" and _after_modifier_list(toks, len(toks) - 1):
        return "unexpected end of input", len(query)
    if last.kind == "rparen" and _in_aggregation(toks, len(toks)) and not _closes_grouping_after_body(toks, len(toks)):
        return "unexpected end of input in aggregation", len(query)
    return None


def _rule_at(toks: list[Token], i: int) -> Found:
    t = toks[i]
    prev = toks[i - 1] if i else None
    if prev is not None and prev.text == "@" and t.kind != "number" and t.text not in ("start", "end", "-", "+"):
        return f"unexpected {_describe(t)} in @, expected timestamp", t.pos
    if prev is not None and prev.text == "offset" and _is_offset_keyword(toks, i - 1) \
            and t.kind != "duration" and t.text not in ("-", "+"):
        return f"unexpected {_describe(t)} in offset, expected duration", t.pos
    return None


def _rule_label_matching(toks: list[Token], i: int) -> Found:
    t = toks[i]
    if not i or not _in_braces(toks, i):
        return None
    prev = toks[i - 1]
    if prev.kind == "op" and prev.text in ("=", "!=", "=~", "!~") and t.kind != "string":
        return f"unexpected {_describe(t, in_braces=True)} in label matching, expected string", t.pos
    if prev.kind == "string" and t.text != "," and t.kind != "rbrace":
        return f'unexpected {_describe(t, in_braces=True)} in label matching, expected "," or "}}"', t.pos
    if prev.kind == "ident" and t.text not in ("=", "!=", "=~", "!~"):
        return f"unexpected {_describe(t, in_braces=True)} in label matching, expected label matching operator", t.pos
    if (prev.kind == "lbrace" or prev.text == ",") and t.kind not in ("ident", "rbrace"):
        return f'unexpected {_describe(t, in_braces=True)} in label matching, expected identifier or "}}"', t.pos
    return None


def _rule_grouping(toks: list[Token], i: int) -> Found:
    t, prev = toks[i], toks[i - 1] if i else None
    if prev is not None and _is_grouping_keyword(toks, i - 1) and t.kind != "lparen":
        return f'unexpected {_describe(t)} in grouping opts, expected "("', t.pos
    misplaced = i and not _is_grouping_keyword(toks, i) and not _operand_may_start(prev)
    if t.text in ("by", "without") and misplaced and not (prev is not None and prev.kind == "rparen" and _in_aggregation(toks, i)):
        return f"unexpected <{t.text}>{_aggregation_suffix(toks, i)}", t.pos
    if prev is None or t.kind == "rparen" or not _in_grouping(toks, i):
        return None
    if prev.kind == "lparen" or prev.text == ",":
        label = t.kind == "ident" and t.text != "without" and ":" not in t.text
        return None if label else (f"unexpected {_describe(t)} in grouping opts, expected label", t.pos)
    if t.text != ",":
        return f'unexpected {_describe(t)} in grouping opts, expected "," or ")"', t.pos
    return None


def _operand_may_start(prev: Token | None) -> bool:
    """After ``prev`` an operand may begin (then ``by``/``without`` is a metric name)."""
    return prev is None or prev.kind in ("op", "lparen") or (prev.kind == "ident" and prev.text in BINARY_WORDS)


def _is_grouping_keyword(toks: list[Token], i: int) -> bool:
    """``by``/``without`` at ``i`` start an aggregation's grouping (else a metric name); on/ignoring always."""
    t = toks[i]
    if _in_grouping(toks, i):
        return False  # a label name inside a grouping list
    if t.text in ("on", "ignoring"):
        return True
    if t.text not in ("by", "without") or not i:
        return False
    prev = toks[i - 1]
    if prev.kind == "ident" and prev.text in AGGREGATION_WORDS:
        return True
    if prev.kind == "rparen":
        j = _matching_lparen(toks, i - 1)
        return j >= 1 and toks[j - 1].text in AGGREGATION_WORDS
    return False


def _rule_comma(toks: list[Token], i: int) -> Found:
    """A "," inside plain parentheses (not a call, aggregation or label list)."""
    if toks[i].text != "," or _in_braces(toks, i):
        return None
    j = toks[i].encl  # the innermost "(" still open before the comma (recorded by ``lex``)
    if j >= 0:
        if j == 0 or toks[j - 1].kind in ("op", "lparen") or toks[j - 1].text in BINARY_WORDS:
            return f'unexpected ","{_aggregation_suffix(toks, i)}', toks[i].pos
        return None
    return 'unexpected ","', toks[i].pos


def _rule_duration(toks: list[Token], i: int) -> Found:
    """Durations only follow "[", a subquery ":" and ``offset`` (Prometheus 2.42)."""
    t = toks[i]
    if t.kind != "duration" or not i:
        return None
    prev = toks[i - 1]
    if prev.kind == "lbracket" or prev.text == ":" or _in_grouping(toks, i):
        return None
    if prev.text == "offset" and _is_offset_keyword(toks, i - 1):
        return None
    if prev.text in ("-", "+") and i >= 2 and toks[i - 2].text == "offset" and _is_offset_keyword(toks, i - 2):
        return None
    at = prev.text == "@" or (prev.text in ("-", "+") and i >= 2 and toks[i - 2].text == "@")
    return f"unexpected {_describe(t)}{' in @, expected timestamp' if at else _aggregation_suffix(toks, i)}", t.pos


def _is_offset_keyword(toks: list[Token], k: int) -> bool:
    """``offset`` at ``k`` follows an operand (else it is a metric name)."""
    if not k:
        return False
    prev = toks[k - 1]
    if prev.kind == "rparen":
        return not _after_modifier_list(toks, k - 1)
    if prev.text == "offset":
        return not _is_offset_keyword(toks, k - 1)  # the first "offset" was a metric name
    return prev.kind in _OPERAND_END and not (prev.kind == "ident" and prev.text in BINARY_WORDS | KEYWORDS)


def _rule_bracket(toks: list[Token], i: int) -> Found:
    """Inside ``[...]``: a duration, then ":" or "]", then an optional step duration, then "]"."""
    t = toks[i]
    if t.kind == "rbracket" or i < 2:
        return None
    prev = toks[i - 1]
    after_range = prev.kind == "duration" and toks[i - 2].kind == "lbracket"
    in_step = prev.text == ":" or (prev.kind == "duration" and toks[i - 2].text == ":")
    if (after_range and t.text != ":") or (in_step and not (prev.text == ":" and t.kind == "duration")):
        return f"unexpected {_describe(t)} in {bracket_context(toks[:i])}", t.pos
    return None


def _rule_empty_parens(toks: list[Token], i: int) -> Found:
    """``()`` that is no call's or aggregation's argument list."""
    t = toks[i]
    if t.kind != "rparen" or i < 1 or toks[i - 1].kind != "lparen":
        return None
    before = toks[i - 2] if i >= 2 else None
    if before is None or before.kind in ("op", "lparen") or before.text in BINARY_WORDS or before.text == ",":
        return f'unexpected ")"{_aggregation_suffix(toks, i)}', t.pos
    return None


def _rule_operator(toks: list[Token], i: int) -> Found:
    t = toks[i]
    prev = toks[i - 1] if i else None
    if t.kind == "lparen" and prev is not None and prev.kind in ("number", "string", "rbrace", "rbracket", "duration"):
        return f'unexpected "("{_aggregation_suffix(toks, i)}', t.pos
    if t.kind == "lparen" and prev is not None and prev.kind == "rparen" and not _after_modifier_list(toks, i - 1) \
            and not _in_grouping_list_end(toks, i - 1):
        return f'unexpected "("{_aggregation_suffix(toks, i)}', t.pos
    if t.kind == "lbracket" and (prev is None or prev.kind in ("op", "lparen")) and not _in_braces(toks, i):
        return f'unexpected "["{_aggregation_suffix(toks, i)}', t.pos
    if t.text in _NON_UNARY_OPS and t.kind == "op" and prev is not None and (
            prev.text == "bool" or (prev.kind == "rparen" and _after_modifier_list(toks, i - 1))):
        return f"unexpected <op:{t.text}>", t.pos
    if i == 0 and t.kind == "op" and t.text in _NON_UNARY_OPS:
        return f"unexpected <op:{t.text}>", t.pos
    if t.text in ("on", "ignoring") and i and toks[i - 1].kind == "rparen" and _in_grouping(toks, i - 1):
        return f"unexpected <{t.text}>", t.pos
    if t.kind == "op" and t.text == "=" and not _in_braces(toks, i):
        return f'unexpected "="{_aggregation_suffix(toks, i)}', t.pos
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
    if t.text in KEYWORDS or (prev.kind == "ident" and prev.text in AGGREGATION_WORDS | KEYWORDS):
        return None
    if prev.kind == "ident" and prev.text in BINARY_WORDS and i >= 2 and toks[i - 2].kind in _OPERAND_END \
            and toks[i - 2].text not in BINARY_WORDS:
        return None  # "and"/"or"/"unless"/"atan2" after an operand is an operator, else a metric name
    if prev.kind == "rparen" and _after_modifier_list(toks, i - 1):
        return None
    return f"unexpected {_describe(t)}{_aggregation_suffix(toks, i)}", t.pos


def _rule_modifier_keyword(toks: list[Token], i: int) -> Found:
    """``bool``, ``on``/``ignoring`` and ``group_left``/``group_right`` only follow a binary
    operator (and each other, in that order); anywhere else Prometheus stops at them."""
    t = toks[i]
    if t.kind != "ident" or t.text not in ("bool", "on", "ignoring", "group_left", "group_right") or not i:
        return None
    if _in_grouping(toks, i):
        return None
    prev = toks[i - 1]
    after_op = prev.text in BINARY_WORDS and not (prev.kind == "ident" and prev.text not in _SET_WORDS)
    if t.text == "bool":
        ok = after_op
    elif t.text in ("on", "ignoring"):
        ok = after_op or prev.text == "bool"
    else:
        j = _matching_lparen(toks, i - 1) if prev.kind == "rparen" else -1
        ok = j >= 1 and toks[j - 1].text in ("on", "ignoring")
    return None if ok else (f"unexpected <{t.text}>{_aggregation_suffix(toks, i)}", t.pos)


_SET_WORDS = frozenset({"and", "or", "unless", "atan2"})


_TOKEN_RULES = (_rule_keyword_operand, _rule_grammar_time, _rule_unknown_function, _rule_bracket, _rule_empty_parens, _rule_duration, _rule_at,
                _rule_modifier_keyword, _rule_comma, _rule_label_matching, _rule_grouping, _rule_operator,
                _rule_aggregation,
                _rule_adjacent_operands)
