"""Panel and variable builders shared by every sloguard dashboard, on Grafana's own SDK.

Every panel and query reads the ``datasource`` dashboard variable (a Prometheus data
source: sloguard's API is Prometheus-compatible), so one exported file works against any
Grafana whose data source points at sloguard, whatever that data source is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

DATASOURCE_VAR = "datasource"
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${" + DATASOURCE_VAR + "}")
#: A range for rate() that Grafana sizes to the scrape interval and the panel's step.
RATE_INTERVAL = "$__rate_interval"
#: Any panel builder (time series, stat, table...), as ``Dashboard.with_panel`` takes it.
PanelBuilder = Builder[dm.Panel]


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL target: ``expr`` may use the dashboard's variables; ``legend`` is
    Grafana's legend format (``{{label}}``); ``instant`` asks for the last value only."""

    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """A horizontal threshold line at ``value`` (drawn in ``color``)."""

    value: float
    color: str = "red"


def datasource_variable() -> db.DatasourceVariable:
    """The ``datasource`` variable: any Prometheus data source (Grafana's default first)."""
    return db.DatasourceVariable(DATASOURCE_VAR).label("Data source").type("prometheus")


def _targets(queries: Sequence[Query]) -> list[prometheus.Dataquery]:
    out = []
    for i, q in enumerate(queries):
        t = prometheus.Dataquery().expr(q.expr).ref_id(chr(ord("A") + i)).datasource(DATASOURCE)
        t = t.legend_format(q.legend or "__auto")
        t = t.instant() if q.instant else t.range()
        out.append(t.format(pm.PromQueryFormat.TABLE) if q.instant else t)
    return out


def _steps(base: str, lines: Sequence[Line]) -> db.ThresholdsConfig:
    steps = [dm.Threshold(value=None, color=base)]
    steps += [dm.Threshold(value=line.value, color=line.color) for line in sorted(lines, key=lambda x: x.value)]
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(steps)


def time_series(title: str, queries: Sequence[Query], unit: str, w: int = 12, h: int = 8,
                lines: Sequence[Line] = (), description: str = "") -> timeseries.Panel:
    """A graph; ``lines`` are drawn as dashed threshold lines (burn-rate factors, the objective)."""
    p = (timeseries.Panel().title(title).description(description).datasource(DATASOURCE).unit(unit)
         .span(w).height(h).line_width(1).fill_opacity(5).span_nulls(False)
         .legend(cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST)
                 .placement(cm.LegendPlacement.BOTTOM).show_legend(True)))
    for t in _targets(queries):
        p = p.with_target(t)
    if lines:
        p = p.thresholds(_steps("transparent", lines)).thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED))
    return p


def big_number(title: str, query: Query, unit: str, lines: Sequence[Line] = (), base: str = "green",
               w: int = 6, h: int = 4, mappings: Sequence[dm.ValueMapping] = ()) -> stat.Panel:
    """A single value coloured by ``lines`` (a value at or above a line takes its colour)."""
    p = (stat.Panel().title(title).datasource(DATASOURCE).unit(unit).span(w).height(h)
         .with_target(_targets([Query(query.expr, query.legend, instant=False)])[0])
         .graph_mode(cm.BigValueGraphMode.AREA).color_mode(cm.BigValueColorMode.VALUE)
         .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
         .thresholds(_steps(base, lines)))
    return p.mappings(list(mappings)) if mappings else p


def state_timeline(title: str, query: Query, mappings: Sequence[dm.ValueMapping], w: int = 24, h: int = 6) -> statetimeline.Panel:
    """States over time (alert tiers: inactive, pending, firing)."""
    return (statetimeline.Panel().title(title).datasource(DATASOURCE).span(w).height(h)
            .with_target(_targets([query])[0]).mappings(list(mappings))
            .show_value(cm.VisibilityMode.NEVER).merge_values(True).row_height(0.8))


def table_panel(title: str, queries: Sequence[Query], w: int = 24, h: int = 10,
                overrides: Sequence[tuple[str, list[dm.DynamicConfigValue]]] = ()) -> table.Panel:
    """Instant queries joined into one row per label set (Grafana's ``merge`` transformation)."""
    p = table.Panel().title(title).datasource(DATASOURCE).span(w).height(h)
    for t in _targets([Query(q.expr, q.legend, instant=True) for q in queries]):
        p = p.with_target(t)
    p = p.with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
    for name, props in overrides:
        p = p.override_by_name(name, props)
    return p


def state_mappings(states: Sequence[tuple[float, str, str]]) -> list[dm.ValueMapping]:
    """Value mappings ``value -> (text, colour)``, e.g. ``(2, "page firing", "red")``."""
    opts = {f"{v:g}": dm.ValueMappingResult(text=text, color=color, index=i) for i, (v, text, color) in enumerate(states)}
    return [dm.ValueMap(options=opts)]


def annotation(name: str, expr: str, color: str = "red") -> db.AnnotationQuery:
    """Marks on every graph where ``expr`` has a value (Grafana's Prometheus annotations)."""
    return db.AnnotationQuery().name(name).datasource(DATASOURCE).enable(True).icon_color(color).expr(expr)


def dashboard(uid: str, title: str, tags: Sequence[str], time_from: str, description: str = "") -> db.Dashboard:
    """An empty dashboard with the ``datasource`` variable, refreshed every 30s."""
    return (db.Dashboard(title).uid(uid).description(description).tags(list(tags)).time(time_from, "now")
            .refresh("30s").timezone("browser").tooltip(dm.DashboardCursorSync.CROSSHAIR).editable()
            .with_variable(datasource_variable()))
