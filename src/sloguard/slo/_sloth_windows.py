"""Sloth's SLO period windows: ``sloth.slok.dev/v1 AlertWindows`` catalogs.

A catalog maps an SLO period (``30d``) to four multiwindow conditions (page quick/slow,
ticket quick/slow), each an error-budget share consumed over a long window and checked on
a short one. Sloth ships the SRE workbook's 30d and 28d windows; ``--slo-period-windows-path``
replaces them with every ``.yaml``/``.yml`` file of a directory (recursively).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sloguard.durations import DurationError, format_duration_ms, parse_duration_ms
from sloguard.nesting import yaml_load
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo.model import AlertTier, BurnWindow

API_VERSION = "sloth.slok.dev/v1"
KIND = "AlertWindows"
_DAY = 86_400_000
_H = 3_600_000
_M = 60_000


@dataclass(frozen=True, slots=True)
class Window:
    """``error_budget_percent`` of the period's budget burnt in ``long_ms`` (checked on ``short_ms``)."""

    error_budget_percent: float
    short_ms: int
    long_ms: int


@dataclass(frozen=True, slots=True)
class AlertWindows:
    """The four windows Sloth uses for one SLO period."""

    period_ms: int
    page_quick: Window
    page_slow: Window
    ticket_quick: Window
    ticket_slow: Window

    def burn_factor(self, w: Window) -> float:
        """Sloth's speed: the burn rate that spends ``w``'s share of the budget in its long window
        (same float operations as Sloth, so thresholds print the same digits)."""
        hours_required = w.error_budget_percent * go_hours(self.period_ms) / 100
        return hours_required / go_hours(w.long_ms)

    def durations(self) -> list[int]:
        """Every distinct short and long window, shortest first."""
        ws = (self.page_quick, self.page_slow, self.ticket_quick, self.ticket_slow)
        return sorted({d for w in ws for d in (w.short_ms, w.long_ms)})

    def tiers(self) -> tuple[AlertTier, AlertTier]:
        """The windows as sloguard page and ticket tiers (long/short pairs and factors)."""
        def tier(name: str, quick: Window, slow: Window) -> AlertTier:
            return AlertTier(name, tuple(BurnWindow(w.long_ms, w.short_ms, self.burn_factor(w)) for w in (quick, slow)))
        return tier("page", self.page_quick, self.page_slow), tier("ticket", self.ticket_quick, self.ticket_slow)


def go_hours(ms: int) -> float:
    """Go's ``time.Duration.Hours()``: whole hours plus the remainder's fraction."""
    hours, rest = divmod(ms, _H)
    return float(hours) + float(rest * 1_000_000) / (60 * 60 * 1e9)


def _workbook(period_days: int) -> AlertWindows:
    return AlertWindows(
        period_days * _DAY,
        Window(2, 5 * _M, 1 * _H), Window(5, 30 * _M, 6 * _H),
        Window(10, 2 * _H, 1 * _DAY), Window(10, 6 * _H, 3 * _DAY),
    )


#: Sloth's built-in catalog (the SRE workbook's parameters for 30d and 28d periods).
DEFAULT_CATALOG: Mapping[int, AlertWindows] = {30 * _DAY: _workbook(30), 28 * _DAY: _workbook(28)}


def _window(source: str, d: Mapping[str, Any], path: str) -> Window:
    def dur(key: str) -> int:
        v = d.get(key)
        try:
            ms = parse_duration_ms(str(v)) if v is not None else 0
        except DurationError as e:
            raise SpecError([Problem(source, f"{path}.{key}", f"{e} (text {v!r})")]) from None
        if ms <= 0:
            raise SpecError([Problem(source, f"{path}.{key}", f"is required and must be above zero (got {v!r})")])
        return ms

    pct = d.get("errorBudgetPercent")
    if isinstance(pct, bool) or not isinstance(pct, int | float) or pct <= 0:
        raise SpecError([Problem(source, f"{path}.errorBudgetPercent", f"must be a number above 0, got {pct!r}")])
    return Window(float(pct), dur("shortWindow"), dur("longWindow"))


def parse_windows(doc: Any, source: str) -> AlertWindows:
    """One ``AlertWindows`` document; ``SpecError`` naming the file and key on any problem."""
    if not isinstance(doc, Mapping) or doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        got = (doc.get("apiVersion"), doc.get("kind")) if isinstance(doc, Mapping) else doc
        raise SpecError([Problem(source, "", f"not a {API_VERSION} {KIND} document (got {got!r})")])
    raw_spec = doc.get("spec")
    spec: Mapping[str, Any] = raw_spec if isinstance(raw_spec, Mapping) else {}
    try:
        period = parse_duration_ms(str(spec.get("sloPeriod")))
    except DurationError as e:
        raise SpecError([Problem(source, "spec.sloPeriod", str(e))]) from None
    windows = []
    for sev in ("page", "ticket"):
        for speed in ("quick", "slow"):
            m = (spec.get(sev) or {}).get(speed) if isinstance(spec.get(sev), Mapping) else None
            if not isinstance(m, Mapping):
                raise SpecError([Problem(source, f"spec.{sev}.{speed}", "is required (errorBudgetPercent, shortWindow, longWindow)")])
            windows.append(_window(source, m, f"spec.{sev}.{speed}"))
    return AlertWindows(period, *windows)


def load_catalog(directory: str | Path) -> dict[int, AlertWindows]:
    """Every windows file under ``directory``; two different files for one period are refused."""
    root = Path(directory)
    if not root.is_dir():
        raise SpecError([Problem(str(root), "", "SLO period windows path is not a directory")])
    catalog: dict[int, AlertWindows] = {}
    seen: dict[int, str] = {}
    for f in sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            doc = yaml_load(f.read_text())
        except yaml.YAMLError as e:
            raise SpecError([Problem(str(f), "", f"invalid YAML: {e}")]) from None
        w = parse_windows(doc, str(f))
        if w.period_ms in catalog and catalog[w.period_ms] != w:
            raise SpecError([Problem(str(f), "spec.sloPeriod", f"period {format_duration_ms(w.period_ms)} is already defined differently in {seen[w.period_ms]}")])
        catalog[w.period_ms] = w
        seen[w.period_ms] = str(f)
    if not catalog:
        raise SpecError([Problem(str(root), "", "no .yaml or .yml AlertWindows files found")])
    return catalog


def windows_for(catalog: Mapping[int, AlertWindows], period_ms: int, where: str) -> AlertWindows:
    """The catalog's windows for ``period_ms``, or a ``SpecError`` listing the periods it has."""
    if period_ms in catalog:
        return catalog[period_ms]
    have = ", ".join(format_duration_ms(p) for p in sorted(catalog))
    raise SpecError([Problem(where, "", f"SLO period {format_duration_ms(period_ms)} has no alert windows "
                             f"(the windows catalog has {have}; add one with --slo-period-windows-path)")])
