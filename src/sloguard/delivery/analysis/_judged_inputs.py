"""A judge metric's inputs: its queries with ``$ARM`` and ``$WINDOW`` filled in, asked of
the engine for the canary and the baseline, as ``Counts`` or a ``Histogram``.

``$ARM`` becomes the arm's selector (``version="canary"``), ``$WINDOW`` the time since the
analysis started in whole seconds (at least ``1s``), so ``increase(x[$WINDOW])`` counts
everything since the start. The baseline arm falls back to the stable pool when the
baseline version has no series.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from sloguard.delivery.analysis.providers import ProviderError, SeriesQueryFunc
from sloguard.delivery.judges import Counts, Histogram

ARM = "$ARM"
WINDOW = "$WINDOW"


@dataclass(frozen=True, slots=True)
class Arms:
    """How the two arms are told apart: ``label`` equal to ``canary`` or ``baseline``
    (a fresh baseline version beside the canary); ``fallback`` (None: none) is the value
    of the stable pool, used when the baseline version has no series."""

    label: str = "version"
    baseline: str = "baseline"
    canary: str = "canary"
    fallback: str | None = "stable"

    def selector(self, value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}="{escaped}"'


@dataclass(frozen=True, slots=True)
class ArmQueries:
    """One arm's own queries (a rollout spec's ``judges[].baseline``/``canary``), used instead
    of one query per measure filled with each arm's selector: ``events`` and ``exposure``,
    or ``buckets``. ``$WINDOW`` is filled in; ``$ARM`` (not needed) with the arm's selector."""

    events: str = ""
    exposure: str = ""
    buckets: str = ""
    label: str = ""

    def describe(self, fallback: str) -> str:
        return self.label or fallback


@dataclass(frozen=True, slots=True)
class Inputs:
    """Both arms' data (Counts or Histogram; None: no series) and which selector each used."""

    baseline: Counts | Histogram | None
    canary: Counts | Histogram | None
    baseline_selector: str
    canary_selector: str
    fell_back: bool = False


def fill(query: str, selector: str, window_s: int) -> str:
    return query.replace(ARM, selector).replace(WINDOW, f"{max(1, window_s)}s")


def read_counts(series: SeriesQueryFunc, events: str, exposure: str, selector: str,
                now_ms: int, window_s: int) -> Counts | None:
    """Summed ``events`` over summed ``exposure`` for one arm; None without exposure series."""
    got_exposure = series(fill(exposure, selector, window_s), now_ms)
    if not _finite(got_exposure):
        return None
    got_events = series(fill(events, selector, window_s), now_ms)
    return Counts(_sum(got_events, events), _sum(got_exposure, exposure))


def read_histogram(series: SeriesQueryFunc, buckets: str, selector: str,
                   now_ms: int, window_s: int) -> Histogram | None:
    """The buckets of one arm, summed by ``le``; None without series."""
    text = fill(buckets, selector, window_s)
    got = series(text, now_ms)
    if not _finite(got):
        return None
    by_le: dict[str, float] = defaultdict(float)
    for labels, value in got:
        le = labels.get("le")
        if le is None:
            raise ProviderError(f"The bucket query {text!r} returned a series without an 'le' label: {labels}.", False)
        if math.isfinite(value):
            by_le[le] += value
    return Histogram.from_buckets(dict(by_le))


def read_inputs(series: SeriesQueryFunc, arms: Arms, queries: tuple[str, str, str],
                now_ms: int, window_s: int, per_arm: tuple[ArmQueries, ArmQueries] | None = None) -> Inputs:
    """Both arms (the baseline falling back to the stable pool); ``queries`` is
    ``(events, exposure, buckets)`` with either the first two or the last set. With
    ``per_arm`` (baseline, canary) each arm runs its own queries and there is no fallback."""
    if per_arm is not None:
        return _read_per_arm(series, arms, per_arm, now_ms, window_s)
    events, exposure, buckets = queries

    def arm(value: str) -> Counts | Histogram | None:
        sel = arms.selector(value)
        if buckets:
            return read_histogram(series, buckets, sel, now_ms, window_s)
        return read_counts(series, events, exposure, sel, now_ms, window_s)

    canary, baseline = arm(arms.canary), arm(arms.baseline)
    if baseline is None and arms.fallback is not None:
        stable = arm(arms.fallback)
        return Inputs(stable, canary, arms.selector(arms.fallback), arms.selector(arms.canary), True)
    return Inputs(baseline, canary, arms.selector(arms.baseline), arms.selector(arms.canary))


def _read_per_arm(series: SeriesQueryFunc, arms: Arms, per_arm: tuple[ArmQueries, ArmQueries],
                  now_ms: int, window_s: int) -> Inputs:
    def arm(q: ArmQueries, value: str) -> Counts | Histogram | None:
        sel = arms.selector(value)
        if q.buckets:
            return read_histogram(series, q.buckets, sel, now_ms, window_s)
        return read_counts(series, q.events, q.exposure, sel, now_ms, window_s)

    baseline, canary = per_arm
    return Inputs(arm(baseline, arms.baseline), arm(canary, arms.canary),
                  baseline.describe("the baseline's queries"), canary.describe("the canary's queries"))


def _finite(got: list[tuple[dict[str, str], float]]) -> bool:
    return any(math.isfinite(v) for _, v in got)


def _sum(got: list[tuple[dict[str, str], float]], query: str) -> float:
    total = sum(v for _, v in got if math.isfinite(v))
    if total < 0:
        raise ProviderError(f"The query {query!r} summed to {total:g}; counts cannot be negative.", False)
    return float(total)
