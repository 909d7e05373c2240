"""Label matchers (``=``, ``!=``, ``=~``, ``!~``) with Prometheus' fully anchored regexes."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from sloguard.labels._fastregex import fast_matcher, literal_alternatives
from sloguard.labels._goregexp import GoRegexError, compile_anchored
from sloguard.labels._labels import escape_value


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
