"""What a conversion between spec formats keeps: ``Loss`` warnings and model differences.

Fields are named by their path in the model (``grouping``, ``alerting.min_events``,
``alerting.tiers.page.windows``), so a warning can be checked against what a round trip
really changed (``differences``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sloguard.slo.model import SLO, AlertTier

_TIER_FIELDS = ("windows", "enabled", "for_ms", "labels", "annotations")


@dataclass(frozen=True, slots=True)
class Loss:
    """A field of SLO ``slo`` that the target format cannot carry (read back, it differs).

    With ``portable`` set, sloguard reads the field back unchanged (from its own annotations)
    but other tools of the target format see only an approximation of it.
    """

    slo: str
    field: str
    message: str
    portable: bool = False

    def __str__(self) -> str:
        where = [f"SLO {self.slo!r}"] if self.slo else []
        return ": ".join([*where, *([self.field] if self.field else []), self.message])


def _label_set(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Labels as Prometheus applies them: a later duplicate wins, order does not matter."""
    return dict(pairs)


def _tier_differences(name: str, a: AlertTier, b: AlertTier) -> list[str]:
    out = []
    for f in _TIER_FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        if f in ("labels", "annotations"):
            x, y = _label_set(x), _label_set(y)
        if x != y:
            out.append(f"alerting.tiers.{name}.{f}")
    return out


def _tiers_differences(a: SLO, b: SLO) -> list[str]:
    ta = {t.name: t for t in a.alerting.tiers}
    tb = {t.name: t for t in b.alerting.tiers}
    if list(ta) != [t.name for t in a.alerting.tiers] or set(ta) != set(tb):
        return ["alerting.tiers"]
    return [d for n in ta for d in _tier_differences(n, ta[n], tb[n])]


def _slo_values(s: SLO) -> dict[str, object]:
    a = s.alerting
    return {
        "name": s.name,
        "service": s.service,
        "objective": s.objective,
        "sli": s.sli,
        "period": s.period,
        "budgeting": (s.budgeting, s.timeslice_target, s.timeslice_ms),
        "description": s.description,
        "grouping": s.grouping,
        "labels": _label_set(s.labels),
        # an empty alert name and the SLO's own name generate the same alerts
        "alerting.name": a.name or s.name,
        "alerting.labels": _label_set(a.labels),
        "alerting.annotations": _label_set(a.annotations),
        "alerting.runbook": a.runbook,
        "alerting.min_events": a.min_events,
        "alerting.no_data_for_ms": a.no_data_for_ms,
    }


def differences(a: SLO, b: SLO) -> list[str]:
    """The model fields in which ``b`` differs from ``a`` (``source`` is not compared).

    Label sets and annotations compare as Prometheus applies them; tiers compare by name
    (their order does not change the generated rules).
    """
    va, vb = _slo_values(a), _slo_values(b)
    return [k for k in va if va[k] != vb[k]] + _tiers_differences(a, b)
