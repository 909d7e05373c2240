"""Significant events and the workbook's measures over firing arrays (see ``backtest``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sloguard.slo._backtest_arrays import Sums, runs
from sloguard.slo._backtest_model import F64, Alert, Bool, Event, Significance
from sloguard.slo.model import SLO


@dataclass(frozen=True, slots=True)
class Span:
    """An event as step indices: errors from ``onset`` to ``end`` (inclusive), significant
    until ``until`` (exclusive); the alerts that overlap ``onset..until`` match it."""

    row: int
    onset: int
    end: int
    until: int


def excess_burn(s: Sums, slo: SLO) -> F64:
    """Per step, the burn rate above the sustainable 1x (negative below it; 0 without traffic)."""
    err, tot = s.h.errors, s.h.totals
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, err / (slo.error_budget * np.where(tot > 0, tot, 1.0)) - 1.0, 0.0)


def _onset_and_end(excess: F64, lo: int, a: int, b: int) -> tuple[int, int]:
    """The onset is the start of the stretch ending at ``a`` (within ``lo..a``) whose excess
    burn sums highest, the latest on ties; the end is the last step of the stretch from the
    onset (within ``..b``) whose excess sums highest, the earliest on ties."""
    suffix = np.cumsum(excess[lo:a + 1][::-1])
    onset = a - int(np.argmax(suffix))
    prefix = np.cumsum(excess[onset:b])
    return onset, onset + int(np.argmax(prefix))


def significant_spans(s: Sums, slo: SLO, sig: Significance) -> list[Span]:
    """The events of one significance class, per row, merged when they overlap."""
    budget = slo.error_budget
    share = s.ratio(sig.window_ms) / budget * (sig.window_ms / slo.period.nominal_ms)
    with np.errstate(invalid="ignore"):
        significant = share >= sig.share * (1 - 1e-9)
    excess = excess_burn(s, slo)
    w = s.steps(sig.window_ms)
    spans: list[Span] = []
    for row, a, b in runs(significant):
        onset, end = _onset_and_end(excess[row], max(a - w + 1, 0), a, b)
        span = Span(row, onset, end, b)
        if spans and spans[-1].row == row and span.onset < spans[-1].until:
            prev = spans.pop()
            span = Span(row, prev.onset, max(prev.end, span.end), b)
        spans.append(span)
    return [sp for sp in spans if sp.until > s.h.start_index]


def alerts(s: Sums, fired: Bool, spans: list[Span]) -> list[Alert]:
    """The firing spans of one tier inside the backtest range, each marked matched when it
    overlaps one of ``spans`` (events of its class or a more severe one)."""
    h = s.h
    i0 = h.start_index
    n = fired.shape[1]
    out = []
    for row, a, b in runs(fired[:, i0:]):
        a, b = a + i0, b + i0
        matched = any(sp.row == row and sp.onset < b and a < sp.until for sp in spans)
        out.append(Alert(h.labels[row], int(h.t[a]), int(h.t[b]) if b < n else None, matched))
    return out


def events(s: Sums, slo: SLO, spans: list[Span], coverage: Bool) -> list[Event]:
    """Events with their detection (first step ``coverage`` fires inside the event), reset
    (the end of the last firing span that overlaps it) and budget spent until detection."""
    h = s.h
    step = h.step_ms
    out = []
    for sp in spans:
        onset_ms, end_ms, until_ms = int(h.t[sp.onset]) - step, int(h.t[sp.end]), int(h.t[sp.until - 1]) + step
        hits = np.flatnonzero(coverage[sp.row, sp.onset:sp.until])
        if not hits.size:
            out.append(Event(h.labels[sp.row], onset_ms, end_ms, until_ms))
            continue
        det = sp.onset + int(hits[0])
        out.append(Event(h.labels[sp.row], onset_ms, end_ms, until_ms, int(h.t[det]),
                         _reset_ms(s, coverage[sp.row], sp.onset + int(hits[-1])), _spent(s, slo, sp, det)))
    return out


def _reset_ms(s: Sums, fired: Bool, last: int) -> int | None:
    """The first step after ``last`` at which ``fired`` no longer holds (None: still firing)."""
    after = np.flatnonzero(~fired[last:])
    return int(s.h.t[last + int(after[0])]) if after.size else None


def _spent(s: Sums, slo: SLO, sp: Span, det: int) -> float:
    """Share of the period's budget burnt from the onset to the detection step inclusive."""
    err, tot = s.span(sp.row, sp.onset, det)
    if tot <= 0:
        return 0.0
    return err / tot / slo.error_budget * ((det - sp.onset + 1) * s.h.step_ms / slo.period.nominal_ms)
