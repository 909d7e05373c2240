"""Backtesting alert policies: replay an SLO's alert tiers over its stored history.

The SLI's per-step error and total event counts are read once (``History``); every
window's error ratio is then a difference of cumulative sums, every alert condition an
array expression, and ``for:`` a run-length filter, so a month of one-minute steps costs
a few array passes per policy instead of a PromQL evaluation per window per step.

Semantics follow the rules ``rulegen`` writes, evaluated every ``step``:

* a burn window holds when the error ratio over both its long and its short window is
  strictly above ``factor x error budget``; with ``min_events`` the long window must also
  have seen that many events (the low-traffic guard); a window without events holds not;
* an alert rule (one ``AlertTier``) holds when any of its windows holds, and fires once it
  has held at ``ceil(for / step) + 1`` consecutive steps (Prometheus' pending state);
* a rule of a lower tier is silent while any rule of the first (page) tier holds
  (``unless`` the page condition: the page supersedes the ticket);
* approximation: a window is the sum of the whole steps it covers (the rules read
  ``rate`` over the window, or for windows over 6h sums of 5m rates recorded every
  interval; both count the same events up to the edges of one step).

A *significant event* of a tier is a span in which the budget spent over a trailing
window reaches a share of the period's budget (by default 2% in 1h for pages, 10% in 3d
for tickets): spent = error ratio over the window / error budget x window / period. The
event runs from its *onset* until the trailing share falls below the threshold again; its
*end* is when the errors stopped. With the excess burn of a step (its burn rate minus the
sustainable 1x), the onset is the start of the stretch of the trailing window, ending when
the event became significant, whose excess sums highest, and the end the last step of the
stretch from the onset whose excess sums highest: background noise above the budget rate
now and then moves neither. Events that overlap merge.

Measures (the SRE workbook's four, per policy and tier): *precision*, the share of the
tier's alerts (firing spans) that overlap an event of that tier or a more severe one;
*recall*, the share of the tier's events during which the tier or a more severe one fired;
*detection time*, first firing minus onset; *reset time*, when the last alert overlapping
the event stopped minus the event's end; and the share of the period's budget spent
between onset and detection.
"""

from __future__ import annotations

import numpy as np

from sloguard.slo._backtest_arrays import Sums, firing, hold_for, runs
from sloguard.slo._backtest_measure import Span, alerts, events, significant_spans
from sloguard.slo._backtest_model import (
    DEFAULT_SIGNIFICANCE,
    Alert,
    Backtest,
    BacktestError,
    Event,
    History,
    Policy,
    Significance,
    TierResult,
)
from sloguard.slo.model import SLO

__all__ = [
    "DEFAULT_SIGNIFICANCE", "Alert", "Backtest", "BacktestError", "Event", "History", "Policy",
    "Significance", "TierResult", "hold_for", "run", "runs",
]


def run(history: History, slo: SLO, policies: list[Policy],
        significance: tuple[Significance, ...] = DEFAULT_SIGNIFICANCE) -> Backtest:
    """Replay every policy over ``history`` and measure each tier against the events of its
    significance class (``significance`` is ordered most severe first)."""
    if not significance:
        raise BacktestError("a backtest needs at least one significance class (page, ticket)")
    s = Sums(history)
    classes = [sig.tier for sig in significance]
    spans = {sig.tier: significant_spans(s, slo, sig) for sig in significance}
    results = []
    for policy in policies:
        _check_tiers(policy, classes)
        fired = firing(s, slo, policy, classes[0])
        for k, tier in enumerate(classes):
            if tier not in fired:
                continue
            severe = [fired[c] for c in classes[: k + 1] if c in fired]
            matchable: list[Span] = [sp for c in classes[: k + 1] for sp in spans[c]]
            matchable.sort(key=lambda sp: (sp.row, sp.onset))
            results.append(TierResult(
                policy.name, tier, tuple(alerts(s, fired[tier], matchable)),
                tuple(events(s, slo, spans[tier], np.logical_or.reduce(severe))),
            ))
    h = history
    return Backtest(slo.name, int(h.t[h.start_index]) - h.step_ms, int(h.t[-1]), h.step_ms, significance, tuple(results))


def _check_tiers(policy: Policy, classes: list[str]) -> None:
    for t in policy.tiers:
        if t.name not in classes:
            raise BacktestError(
                f"policy {policy.name!r} has a tier named {t.name!r}, but events are defined only for "
                f"{', '.join(map(repr, classes))}; name its tiers after one of them"
            )
