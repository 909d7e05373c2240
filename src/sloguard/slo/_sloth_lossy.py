"""What a Sloth ``prometheus/v1`` document cannot say about an SLO, field by field."""

from __future__ import annotations

from sloguard.durations import format_duration_ms
from sloguard.slo._loss import Loss
from sloguard.slo._sli import has_window_placeholder
from sloguard.slo._spec_sloth import _PERIOD, NO_DATA_FOR_MS
from sloguard.slo.model import (
    SLO,
    AvailabilitySLI,
    BudgetingMethod,
    EventsSLI,
    Period,
    RawSLI,
    workbook_tiers,
)


def _tier_losses(slo: SLO) -> list[Loss]:
    names = [t.name for t in slo.alerting.tiers]
    if sorted(names) != ["page", "ticket"]:
        return [Loss(slo.name, "alerting.tiers", (
            f"Sloth has exactly a page_alert and a ticket_alert; the tiers {names} become page and ticket "
            "(a missing one disabled, any other dropped)"))]
    out = []
    for base in workbook_tiers(_PERIOD.nominal_ms):
        t = next(t for t in slo.alerting.tiers if t.name == base.name)
        f = f"alerting.tiers.{t.name}"
        if t.windows != base.windows:
            out.append(Loss(slo.name, f"{f}.windows", "Sloth alerts use the SRE workbook's windows and factors for a 30d period"))
        if t.for_ms:
            out.append(Loss(slo.name, f"{f}.for_ms", f"Sloth has no `for` on its {t.name} alert"))
        if not set(dict(base.labels)) <= set(dict(t.labels)):
            out.append(Loss(slo.name, f"{f}.labels", f"Sloth's {t.name} alert always has the label {base.labels[0][0]}"))
    return out


def _sli_losses(slo: SLO) -> list[Loss]:
    if isinstance(slo.sli, RawSLI) and not has_window_placeholder(slo.sli.error_ratio_query):
        return [Loss(slo.name, "sli", "Sloth requires {{.window}} in a raw query: written as its average over the "
                     "window, avg_over_time((QUERY)[{{.window}}:])")]
    if isinstance(slo.sli, EventsSLI | RawSLI):
        return []
    if isinstance(slo.sli, AvailabilitySLI):
        how = "a raw error ratio; long windows average it instead of counting probe samples"
    else:
        how = "events queries with {{.window}}, which generate the same rules"
    return [Loss(slo.name, "sli", f"Sloth has no {slo.sli.kind.value} SLI: written as {how}")]


def _alerting_losses(slo: SLO) -> list[Loss]:
    a, out = slo.alerting, []
    if a.min_events:
        out.append(Loss(slo.name, "alerting.min_events", f"Sloth has no minimum event count for alerts ({a.min_events} is dropped)"))
    if a.runbook:
        out.append(Loss(slo.name, "alerting.runbook", "Sloth has no runbook field: it is written as the alert annotation runbook_url"))
        if "runbook_url" not in dict(a.annotations):
            out.append(Loss(slo.name, "alerting.annotations", f"gains runbook_url={a.runbook!r} (the runbook)"))
    if a.no_data_for_ms != NO_DATA_FOR_MS:
        now = "off" if a.no_data_for_ms is None else format_duration_ms(a.no_data_for_ms)
        out.append(Loss(slo.name, "alerting.no_data_for_ms", f"Sloth has no no-data alert setting ({now} is dropped)"))
    return out + _tier_losses(slo)


def _period_text(p: Period) -> str:
    if p.calendar is not None:
        return str(p)
    day = 86_400_000
    ms = p.nominal_ms
    return f"rolling {ms // day}d" if ms % day == 0 else f"rolling {format_duration_ms(ms)}"


def lossy(slo: SLO) -> list[Loss]:
    """What a Sloth document cannot say about this SLO: each loss names the model field."""
    out = []
    if slo.period != _PERIOD:
        out.append(Loss(slo.name, "period", f"Sloth specs carry no period: {_period_text(slo.period)} reads back as "
                        f"{_period_text(_PERIOD)} (Sloth takes it from --default-slo-period)"))
    if (slo.budgeting, slo.timeslice_target, slo.timeslice_ms) != (BudgetingMethod.OCCURRENCES, None, None):
        out.append(Loss(slo.name, "budgeting", "Sloth has no timeslice budgeting"))
    if slo.grouping:
        out.append(Loss(slo.name, "grouping", f"Sloth has no grouping field: by ({', '.join(slo.grouping)}) is dropped "
                        "(generated queries keep their sum by, user queries are unchanged)"))
    if slo.query_backend:
        out.append(Loss(slo.name, "query_backend", f"Sloth has no query backend field: {slo.query_backend!r} is "
                        "dropped (name the SLO in the server config's slo_query_backends instead)"))
    return out + _sli_losses(slo) + _alerting_losses(slo)
