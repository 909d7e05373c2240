"""The overview dashboard: every SLO in one table (SLI over its period, objective, budget
remaining, current burn rate, alert state), worst group first, with links to each SLO's
dashboard; below it, budget remaining and burn rate of every SLO over time.

Each column is an instant query aggregated ``by (service, slo)`` (the worst group of a
grouped SLO), joined into one row per SLO by Grafana's ``merge`` transformation.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm

from sloguard.dashboards import _panels as p
from sloguard.dashboards import _queries as q
from sloguard.dashboards._ids import OVERVIEW_UID
from sloguard.slo.model import SLO

STATES = p.state_mappings([(q.OK, "ok", "green"), (q.PENDING, "pending", "yellow"),
                           (q.TICKET, "ticket firing", "orange"), (q.PAGE, "page firing", "red")])
#: Column titles, in table order; ``legend`` names the merged value columns.
COLUMNS = ("SLI", "Objective", "Budget remaining", "Burn rate (1h)", "Alert state")


def _columns(slos: Sequence[SLO]) -> list[p.Query]:
    exprs = [q.overview_sli(slos), q.overview_worst(q.OBJECTIVE, "min"), q.overview_worst(q.REMAINING, "min"),
             q.overview_worst(q.CURRENT_BURN, "max"), q.overview_state(slos)]
    return [p.Query(e, c) for e, c in zip(exprs, COLUMNS, strict=True)]


def _prop(id_val: str, value: object) -> dm.DynamicConfigValue:
    return dm.DynamicConfigValue(id_val=id_val, value=value)


def _overrides() -> list[tuple[str, list[dm.DynamicConfigValue]]]:
    """By the columns' names after ``organize`` renames them (Grafana matches display names)."""
    pct = [_prop("unit", "percentunit"), _prop("decimals", 3)]
    link = dm.DashboardLink(title="SLO dashboard", url="/d/sloguard-slo-${__data.fields.slo}?${__url_time_range}")
    sli, objective, remaining, burn, state = COLUMNS
    return [
        *[(c, pct) for c in (sli, objective, remaining)],
        (burn, [_prop("unit", "x"), _prop("decimals", 2)]),
        (state, [_prop("mappings", [m.to_json() for m in STATES]),
                 _prop("custom.cellOptions", {"type": "color-background"})]),
        ("slo", [_prop("links", [link.to_json()])]),
    ]


def _table(slos: Sequence[SLO]) -> p.PanelBuilder:
    t = p.table_panel("SLOs", _columns(slos), h=max(6, min(3 + len(slos), 20)), overrides=_overrides())
    t = t.with_transformation(dm.DataTransformerConfig(id_val="organize", options={
        "excludeByName": {"Time": True},
        "renameByName": {f"Value #{c}": name for c, name in zip("ABCDE", COLUMNS, strict=True)},
    }))
    return t.sort_by([cb.TableSortByFieldState().display_name("Budget remaining").desc(False)])


def overview_dashboard(slos: Sequence[SLO]) -> db.Dashboard:
    """The overview of ``slos`` (uid ``sloguard-overview``), over the last day."""
    d = p.dashboard(OVERVIEW_UID, "SLO overview", ["sloguard", "overview"], "now-24h",
                    "Every SLO sloguard evaluates: SLI, budget, burn rate and alert state.")
    d = d.link(db.DashboardLink("SLOs").type(dm.DashboardLinkType.DASHBOARDS).tags(["sloguard", "slo"])
               .as_dropdown(True).keep_time(True))
    d = d.with_panel(_table(slos))
    remaining = p.Query(q.overview_worst(q.REMAINING, "min"), "{{slo}}")
    burn = p.Query(q.overview_worst(q.CURRENT_BURN, "max"), "{{slo}}")
    d = d.with_panel(p.time_series("Error budget remaining", [remaining], "percentunit", lines=[p.Line(0, "red")]))
    return d.with_panel(p.time_series("Burn rate (1h)", [burn], "x", lines=[p.Line(1, "orange")]))
