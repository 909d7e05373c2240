"""Label matchers (``=``, ``!=``, ``=~``, ``!~``) with Prometheus' fully anchored regexes."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from sloguard.labels._labels import METRIC_NAME, escape_value
from sloguard.labels._regex import compile_go_regex
from sloguard.parselimits import check_expression


class MatchType(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """Matches one label's value. An absent label matches as the empty string.

    Regexes are anchored at both ends, as in Prometheus (``=~"a.*"`` is ``^(?:a.*)$``).
    """

    type: MatchType
    name: str
    value: str
    _re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.type in (MatchType.REGEX, MatchType.NOT_REGEX):
            try:
                compiled = compile_go_regex(self.value)
            except re.error as e:
                raise ValueError(f"invalid regular expression {self.value!r} in matcher for label {self.name!r}: {e}") from None
            object.__setattr__(self, "_re", compiled)

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
        hit = self._re.fullmatch(value) is not None
        return hit if t is MatchType.REGEX else not hit

    def matches_empty(self) -> bool:
        """Whether a series *without* this label matches (Prometheus' empty-value rule)."""
        return self.matches("")

    @property
    def literal_alternatives(self) -> list[str] | None:
        """For ``=~"a|b|c"`` with plain literals, the alternatives (index fast path)."""
        if self.type is not MatchType.REGEX:
            return None
        parts = self.value.split("|")
        if all(p and re.escape(p) == p for p in parts):
            return parts
        return None

    def __str__(self) -> str:
        return f'{self.name}{self.type.value}"{escape_value(self.value)}"'


def parse_matchers_text(selector: str) -> list[Matcher]:
    """Parse a series selector such as ``up{job="x"}`` or ``{__name__=~"a.*"}``.

    Used for ``match[]`` parameters. Raises ``ValueError`` with the parser's message; the
    text is held to ``sloguard.parselimits``' limits before the parser sees it.
    """
    import promql_parser

    try:
        check_expression(selector)
        expr = promql_parser.parse(selector)
    except ValueError as e:
        raise ValueError(f"invalid series selector {selector!r}: {e}") from None
    except BaseException as e:  # the Rust parser's PanicException is a BaseException
        if not _is_panic(e):
            raise
        raise ValueError(f"invalid series selector {selector!r}: {e}") from None
    if not isinstance(expr, promql_parser.VectorSelector):
        raise ValueError(f"invalid series selector {selector!r}: not a vector selector")
    out: list[Matcher] = []
    if expr.name:
        out.append(Matcher(MatchType.EQUAL, METRIC_NAME, expr.name))
    ops = {"Equal": MatchType.EQUAL, "NotEqual": MatchType.NOT_EQUAL, "Re": MatchType.REGEX, "NotRe": MatchType.NOT_REGEX}
    for m in expr.matchers.matchers:
        out.append(Matcher(ops[str(m.op).rsplit(".", 1)[-1]], m.name, m.value))
    if all(m.matches_empty() for m in out):
        raise ValueError(
            f"invalid series selector {selector!r}: match[] must contain at least one non-empty matcher"
        )
    return out


def _is_panic(e: BaseException) -> bool:
    return type(e).__name__ == "PanicException"
