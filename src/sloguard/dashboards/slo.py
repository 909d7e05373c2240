"""One dashboard per SLO: the SLI over its window, the error budget burning down, the
burn rate of every alert window pair against its threshold, and the alert tiers' state.

Rows, top to bottom: four numbers (SLI over the period, budget remaining, current burn
rate, alert state); the SLI (5m and over the period) against the objective; the budget
remaining; one graph per (tier, window pair): the long and short windows' burn rates with
the pair's factor as a dashed line (an alert fires while both are above it); the tiers'
states over time.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models.dashboard import DashboardLinkType

from sloguard.dashboards import _panels as p
from sloguard.dashboards import _queries as q
from sloguard.dashboards._ids import slo_uid
from sloguard.durations import format_duration_ms
from sloguard.slo.model import SLO, AlertTier, BurnWindow

PERCENT = "percentunit"
TIER_STATES = p.state_mappings([(0, "inactive", "green"), (1, "pending", "yellow"), (2, "firing", "red")])


def _title(slo: SLO) -> str:
    return f"SLO {slo.service} / {slo.name}"


def _numbers(slo: SLO) -> list[p.PanelBuilder]:
    objective = p.Line(slo.objective, "green")
    burn_max = max((w.factor for _, w in q.pairs(slo)), default=1.0)
    return [
        p.big_number(f"SLI ({slo.period})", p.Query(q.sli_period(slo), q.legend(slo, "SLI")), PERCENT,
                     [objective], base="red"),
        p.big_number("Error budget remaining", p.Query(q.sel(q.REMAINING, slo), q.legend(slo, "remaining")),
                     PERCENT, [p.Line(0, "orange"), p.Line(0.25, "green")], base="red"),
        p.big_number("Burn rate (1h)", p.Query(q.sel(q.CURRENT_BURN, slo), q.legend(slo, "burn rate")), "x",
                     [p.Line(1, "orange"), p.Line(burn_max, "red")]),
        p.big_number("Alert state", p.Query(f"max({q.tier_state(slo)})", "state"), "none",
                     [p.Line(1, "yellow"), p.Line(2, "red")], mappings=TIER_STATES),
    ]


def _sli(slo: SLO) -> p.PanelBuilder:
    by = q.legend(slo, "")
    queries = [p.Query(q.sli_now(slo), f"5m {by}".strip()), p.Query(q.sli_period(slo), f"{slo.period} {by}".strip())]
    return p.time_series("SLI", queries, PERCENT, lines=[p.Line(slo.objective, "red")],
                         description=f"Objective {slo.objective * 100:.4g}%: the dashed line.")


def _budget(slo: SLO) -> p.PanelBuilder:
    return p.time_series("Error budget remaining", [p.Query(q.sel(q.REMAINING, slo), q.legend(slo, "remaining"))],
                         PERCENT, lines=[p.Line(0, "red")],
                         description="1 is the whole budget; below 0 the SLO is breached.")


def _pair(slo: SLO, tier: AlertTier, w: BurnWindow) -> p.PanelBuilder:
    long_w, short_w = format_duration_ms(w.long_ms), format_duration_ms(w.short_ms)
    by = q.legend(slo, "")
    queries = [p.Query(q.burn_rate(slo, w.long_ms), f"{long_w} {by}".strip()),
               p.Query(q.burn_rate(slo, w.short_ms), f"{short_w} {by}".strip())]
    return p.time_series(f"Burn rate {tier.name}: {long_w}/{short_w} at {w.factor:g}x", queries, "x", w=8,
                         lines=[p.Line(w.factor, "red")],
                         description=f"The {tier.name} alert fires while both windows burn faster than {w.factor:g}x.")


def _alerts(slo: SLO) -> p.PanelBuilder:
    return p.state_timeline("Alert state by tier", p.Query(q.tier_state(slo), "{{sloguard_tier}}"), TIER_STATES)


def slo_dashboard(slo: SLO) -> db.Dashboard:
    """The SLO's dashboard (uid ``slo_uid(slo)``), over its period by default."""
    d = p.dashboard(slo_uid(slo), _title(slo), ["sloguard", "slo", f"service:{slo.service}"],
                    f"now-{format_duration_ms(slo.period.nominal_ms)}", slo.description or "")
    d = d.annotation(p.annotation("Alerts firing", q.firing(slo)))
    d = d.link(db.DashboardLink("SLO overview").type(DashboardLinkType.DASHBOARDS).tags(["sloguard", "overview"]).keep_time(True))
    for panel in [*_numbers(slo), _sli(slo), _budget(slo)]:
        d = d.with_panel(panel)
    pairs = q.pairs(slo)
    if pairs:
        d = d.with_row(db.Row("Burn rate per alert window pair"))
        for tier, w in pairs:
            d = d.with_panel(_pair(slo, tier, w))
        d = d.with_panel(_alerts(slo))
    return d
