"""Pyrra's view of a metric: one PromQL vector selector split into a name and matchers.

Pyrra keeps every SLI as ``metric{matchers}`` and rewrites the name and matchers to build
its rules, printing selectors the way Prometheus does (the name, then the matchers sorted
as text, ``__name__`` left out). These types do the same for sloguard's Pyrra mode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import promql_parser

from sloguard.slo._sli import SLIError, parse_promql


class MatchType(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


_OPS = {"Equal": MatchType.EQUAL, "NotEqual": MatchType.NOT_EQUAL, "Re": MatchType.REGEX, "NotRe": MatchType.NOT_REGEX}


@dataclass(frozen=True, slots=True)
class Matcher:
    """``name op "value"``, printed with Go's ``%q`` quoting as Prometheus prints it."""

    name: str
    op: MatchType
    value: str

    @property
    def is_regex(self) -> bool:
        return self.op in (MatchType.REGEX, MatchType.NOT_REGEX)

    def __str__(self) -> str:
        v = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op.value}"{v}"'


@dataclass(frozen=True, slots=True)
class Selector:
    """A vector selector: ``name`` and its matchers other than ``__name__``."""

    name: str
    matchers: tuple[Matcher, ...] = ()

    def renamed(self, name: str, *extra: Matcher) -> Selector:
        return Selector(name, self.matchers + extra)

    def equal_labels(self) -> dict[str, str]:
        return {m.name: m.value for m in self.matchers if m.op is MatchType.EQUAL}

    def get(self, label: str) -> Matcher | None:
        return next((m for m in self.matchers if m.name == label), None)

    def __str__(self) -> str:
        inner = ",".join(sorted(str(m) for m in self.matchers))
        return f"{self.name}{{{inner}}}" if inner else self.name


def parse_selector(text: str, field: str) -> Selector:
    """The selector in ``text``; ``SLIError`` naming ``field`` when it is anything else."""
    node = parse_promql(text, field)
    if not isinstance(node, promql_parser.VectorSelector):
        raise SLIError(f"{field}: {text!r} must be a vector selector such as 'http_requests_total{{job=\"api\"}}'")
    name = node.name or ""
    matchers = []
    for m in node.matchers.matchers:
        op = _OPS[str(m.op).rsplit(".", 1)[-1]]
        if m.name == "__name__" and op is MatchType.EQUAL:
            name = name or m.value
            continue
        matchers.append(Matcher(m.name, op, m.value))
    if not name:
        raise SLIError(f"{field}: {text!r} has no metric name")
    return Selector(name, tuple(matchers))
