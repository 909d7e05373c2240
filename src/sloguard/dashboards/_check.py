"""Reading an exported dashboard back: its PromQL targets, with Grafana's variables
substituted as Grafana would before sending them, checked with sloguard's parser.

``export`` refuses to write a dashboard whose query does not parse; the tests evaluate the
same substituted queries on a TSDB.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sloguard.dashboards._errors import DashboardError
from sloguard.promql._ast_parse import parse
from sloguard.promql._value import ParseError

#: Values for Grafana's built-in variables: a range that holds several scrapes.
BUILTINS: Mapping[str, str] = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


@dataclass(frozen=True, slots=True)
class Target:
    """One panel query of a dashboard (``panel`` is the panel's title)."""

    dashboard: str
    panel: str
    ref_id: str
    expr: str
    instant: bool


def substitute(expr: str, values: Mapping[str, str] = BUILTINS) -> str:
    """``$var``, ``${var}``, ``${var:format}`` and ``[[var]]`` replaced by ``values``;
    a DashboardError names a variable with no value."""
    def value(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise DashboardError(f"The query {expr!r} uses the variable ${name}, which has no value to check it with.")
        return values[name]
    return _VAR.sub(value, expr)


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row holds its panels


def targets(dashboard: Mapping[str, Any]) -> list[Target]:
    """Every Prometheus query of ``dashboard`` (its JSON form): panel targets in panel
    order, then annotation queries (``panel`` is ``annotation <name>``)."""
    title = str(dashboard.get("title", ""))
    out = []
    for panel in _panels(list(dashboard.get("panels", []))):
        for t in panel.get("targets", []):
            if "expr" in t:
                out.append(Target(title, str(panel.get("title", "")), str(t.get("refId", "")), str(t["expr"]),
                                  bool(t.get("instant")) and not t.get("range")))
    for a in dashboard.get("annotations", {}).get("list", []):
        if "expr" in a:
            out.append(Target(title, f"annotation {a.get('name', '')}", "", str(a["expr"]), False))
    return out


def check(dashboard: Mapping[str, Any], values: Mapping[str, str] = BUILTINS) -> list[str]:
    """A sentence per target that does not parse once its variables are substituted."""
    problems = []
    for t in targets(dashboard):
        try:
            parse(substitute(t.expr, values))
        except (ParseError, DashboardError) as e:
            problems.append(f"dashboard {t.dashboard!r}, panel {t.panel!r}, query {t.ref_id}: {e}")
    return problems
