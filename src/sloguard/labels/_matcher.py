"""Label matchers (``=``, ``!=``, ``=~``, ``!~``) with Prometheus' fully anchored regexes."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sloguard.labels._fastregex import fast_matcher, literal_alternatives
from sloguard.labels._goregexp import GoRegexError, compile_anchored
from sloguard.labels._labels import METRIC_NAME, escape_value
from sloguard.parselimits import check_expression


class MatchType(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """Matches one label's value. An absent label matches as the empty string.

    Regexes are anchored at both ends, as in Prometheus (``=~"a.*"`` is ``^(?:a.*)$``), and
    run in linear time (Go's RE2 syntax on google-re2); common shapes (``a|b``, ``api-.*``,
    ``.*foo.*``) are answered by plain string tests.
    """

    type: MatchType
    name: str
    value: str
    _re: Callable[[str], bool] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.type in (MatchType.REGEX, MatchType.NOT_REGEX):
            object.__setattr__(self, "_re", _regex_test(self.name, self.value))

    @classmethod
    def equal(cls, name: str, value: str) -> Matcher:
        return cls(MatchType.EQUAL, name, value)

    def matches(self, value: str) -> bool:
        t = self.type
        if t is MatchType.EQUAL:
            return value == self.value
        if t is MatchType.NOT_EQUAL:
            return value != self.value
        assert self._re is not None  # set in __post_init__ for regex types
        return self._re(value) == (t is MatchType.REGEX)

    def matches_empty(self) -> bool:
        """Whether a series *without* this label matches (Prometheus' empty-value rule)."""
        return self.matches("")

    @property
    def literal_alternatives(self) -> list[str] | None:
        """For ``=~"a|b|c"`` / ``!~"a|b|c"`` with plain literals, the alternatives (index
        fast path: no need to look at other values)."""
        if self.type not in (MatchType.REGEX, MatchType.NOT_REGEX):
            return None
        return literal_alternatives(self.value)

    def __str__(self) -> str:
        return f'{self.name}{self.type.value}"{escape_value(self.value)}"'


def _regex_test(name: str, pattern: str) -> Callable[[str], bool]:
    fast = fast_matcher(pattern)
    if fast is not None:  # valid by construction: no need to compile (or bound) it
        return fast
    try:
        return compile_anchored(pattern).matches
    except GoRegexError as e:
        raise ValueError(f"invalid regular expression {pattern!r} in matcher for label {name!r}: {e}") from None


def parse_matchers_text(selector: str) -> list[Matcher]:
    """Parse a series selector such as ``up{job="x"}`` or ``{__name__=~"a.*"}``.

    Used for ``match[]`` parameters. Raises ``ValueError`` with the parser's message; the
    text is held to ``sloguard.parselimits``' limits before the parser sees it.
    """
    import promql_parser

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
    import promql_parser

    try:
        return promql_parser.parse(selector), {}
    except ValueError as e:
        err = e
    except BaseException as e:  # the Rust parser's PanicException is a BaseException
        if type(e).__name__ != "PanicException":
            raise
        raise ValueError(f"invalid series selector {selector!r}: {e}") from None
    if "illegal regex" in str(err):
        from sloguard.promql._parse_checks import regex_error  # noqa: PLC0415 - promql imports labels
        from sloguard.promql._regex_mask import parse_masked  # noqa: PLC0415

        go_error = regex_error(selector)  # Go's words, as Prometheus reports a bad regex
        masked = parse_masked(selector) if go_error is None else None
        if masked is not None:
            return masked
        err = ValueError(go_error) if go_error is not None else err
    raise ValueError(f"invalid series selector {selector!r}: {err}") from None
