"""``match[]`` selectors (``up{job="x"}``, ``{__name__=~"a.*"}``) to label matchers.

A selector is PromQL text, so it is parsed here (held to ``sloguard.parselimits`` first,
with Go's words for a bad regex) and handed to storage as ``sloguard.labels`` matchers.
"""

from __future__ import annotations

from typing import Any

import promql_parser

from sloguard.labels import METRIC_NAME, Matcher, MatchType
from sloguard.parselimits import check_expression
from sloguard.promql._parse_checks import regex_error
from sloguard.promql._regex_mask import parse_masked


def parse_matchers_text(selector: str) -> list[Matcher]:
    """Parse a series selector such as ``up{job="x"}`` or ``{__name__=~"a.*"}``.

    Used for ``match[]`` parameters. Raises ``ValueError`` with the parser's message; the
    text is held to ``sloguard.parselimits``' limits before the parser sees it.
    """
    try:
        check_expression(selector)  # before the Rust parser, which recurses natively
    except ValueError as e:
        raise ValueError(f"invalid series selector {selector!r}: {e}") from None
    expr, restore = _parse_selector(selector)
    if not isinstance(expr, promql_parser.VectorSelector):
        raise ValueError(f"invalid series selector {selector!r}: not a vector selector")
    out: list[Matcher] = []
    if expr.name:
        out.append(Matcher(MatchType.EQUAL, METRIC_NAME, expr.name))
    ops = {"Equal": MatchType.EQUAL, "NotEqual": MatchType.NOT_EQUAL, "Re": MatchType.REGEX, "NotRe": MatchType.NOT_REGEX}
    for m in expr.matchers.matchers:
        out.append(Matcher(ops[str(m.op).rsplit(".", 1)[-1]], m.name, restore.get(m.value, m.value)))
    if all(m.matches_empty() for m in out):
        raise ValueError(
            f"invalid series selector {selector!r}: match[] must contain at least one non-empty matcher"
        )
    return out


def _parse_selector(selector: str) -> tuple[Any, dict[str, str]]:
    """promql-parser's tree, and placeholder -> regex for regexes only Go reads (``\\Q..\\E``)."""
    try:
        return promql_parser.parse(selector), {}
    except ValueError as e:
        err = e
    except BaseException as e:  # the Rust parser's PanicException is a BaseException
        if type(e).__name__ != "PanicException":
            raise
        raise ValueError(f"invalid series selector {selector!r}: {e}") from None
    if "illegal regex" in str(err):
        go_error = regex_error(selector)  # Go's words, as Prometheus reports a bad regex
        masked = parse_masked(selector) if go_error is None else None
        if masked is not None:
            return masked
        err = ValueError(go_error) if go_error is not None else err
    raise ValueError(f"invalid series selector {selector!r}: {err}") from None
