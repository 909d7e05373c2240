"""Alert policies to backtest: the SLO's own tiers, the workbook's, Sloth's, Pyrra's, or a file.

A policy file is either Sloth's ``AlertWindows`` (``apiVersion: sloth.slok.dev/v1``,
``kind: AlertWindows``: ``spec.sloPeriod`` and ``page``/``ticket`` ``quick``/``slow``
windows, each ``errorBudgetPercent``, ``shortWindow``, ``longWindow``) or sloguard's
``AlertPolicy``::

    apiVersion: sloguard/v1
    kind: AlertPolicy
    name: threshold-1x
    tiers:
      - name: page          # page or ticket
        for: 2m             # optional
        windows:
          - {long: 10m, short: 10m, factor: 1}   # short defaults to long
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from sloguard.durations import format_duration_ms
from sloguard.nesting import yaml_load
from sloguard.slo._backtest_model import BacktestError, Policy
from sloguard.slo._compat_pyrra import pyrra_tiers
from sloguard.slo._durations import DurationError, parse_duration_ms
from sloguard.slo.model import SLO, AlertTier, BurnWindow, workbook_tiers

BUILTIN = ("spec", "workbook", "sloth", "pyrra")
_D = 86_400_000

# Sloth's embedded windows (internal/alert/windows/google-28d.yaml and google-30d.yaml):
# (tier, errorBudgetPercent, short, long); Sloth refuses any other period.
_SLOTH_WINDOWS = (("page", 2.0, 5, 60), ("page", 5.0, 30, 360), ("ticket", 10.0, 120, 1440), ("ticket", 10.0, 360, 4320))
_SLOTH_PERIODS = (28 * _D, 30 * _D)

# Pyrra's Windows(sloWindow) in slo/rules.go: (severity, for, long, short divisors of the
# period, factor); each window is its own alert rule with its own `for`.


def spec_policy(slo: SLO) -> Policy:
    if not any(t.enabled and t.windows for t in slo.alerting.tiers):
        raise BacktestError(f"SLO {slo.name!r} ({slo.source or 'spec'}) has no enabled alert tier to backtest")
    return Policy("spec", slo.alerting.tiers)


def workbook_policy(slo: SLO) -> Policy:
    return Policy("workbook", workbook_tiers(slo.period.nominal_ms))


def sloth_policy(slo: SLO) -> Policy:
    period = slo.period.nominal_ms
    if period not in _SLOTH_PERIODS:
        raise BacktestError(
            f"Sloth has default alert windows only for 28d and 30d SLO periods, not for the "
            f"{format_duration_ms(period)} of SLO {slo.name!r}; give Sloth's AlertWindows file "
            "for that period with --policy FILE"
        )
    return Policy("sloth", _sloth_tiers(period, [(t, p, s * 60_000, lw * 60_000) for t, p, s, lw in _SLOTH_WINDOWS]))


def _sloth_tiers(period_ms: int, windows: list[tuple[str, float, int, int]]) -> tuple[AlertTier, ...]:
    """Sloth's speed: the budget share consumed over the long window, as a burn factor."""
    tiers = []
    for name in ("page", "ticket"):
        ws = tuple(BurnWindow(lw, s, pct / 100 * period_ms / lw) for t, pct, s, lw in windows if t == name)
        tiers.append(AlertTier(name, ws))
    return tuple(tiers)


def pyrra_policy(slo: SLO) -> Policy:
    """Pyrra's four rules (``pyrra_tiers``): its critical ones page, its warnings ticket."""
    tiers = tuple(replace(t, name="page" if dict(t.labels).get("severity") == "critical" else "ticket")
                  for t in pyrra_tiers(slo.period.nominal_ms))
    return Policy("pyrra", tiers)


def resolve(name: str, slo: SLO) -> Policy:
    """A built-in policy by name, else a policy file by path."""
    builders = {"spec": spec_policy, "workbook": workbook_policy, "sloth": sloth_policy, "pyrra": pyrra_policy}
    if name in builders:
        return builders[name](slo)
    path = Path(name)
    if not path.is_file():
        raise BacktestError(f"--policy {name!r} is neither one of {', '.join(BUILTIN)} nor a readable file")
    return load_policy_file(path, slo)


def load_policy_file(path: Path, slo: SLO) -> Policy:
    try:
        doc = yaml_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise BacktestError(f"{path}: cannot read the policy file: {e}") from None
    if not isinstance(doc, Mapping):
        raise BacktestError(f"{path}: a policy file is a YAML mapping (Sloth AlertWindows or sloguard AlertPolicy)")
    kind = (doc.get("apiVersion"), doc.get("kind"))
    if kind == ("sloth.slok.dev/v1", "AlertWindows"):
        return _sloth_file(path, doc, slo)
    if kind == ("sloguard/v1", "AlertPolicy"):
        return _native_file(path, doc)
    raise BacktestError(
        f"{path}: apiVersion {kind[0]!r} kind {kind[1]!r} is not a policy file; expected "
        "sloth.slok.dev/v1 AlertWindows or sloguard/v1 AlertPolicy"
    )


def _get(path: Path, doc: Any, key: str, at: str = "") -> Any:
    node = doc
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise BacktestError(f"{path}: {at}{key} is missing")
        node = node[part]
    return node


def _duration(path: Path, doc: Any, key: str, at: str = "") -> int:
    text = _get(path, doc, key, at)
    try:
        return parse_duration_ms(str(text))
    except DurationError as e:
        raise BacktestError(f"{path}: {at}{key}: {e}") from None


def _number(path: Path, doc: Any, key: str, at: str = "") -> float:
    v = _get(path, doc, key, at)
    if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
        raise BacktestError(f"{path}: {at}{key}: expected a number above 0, got {v!r}")
    return float(v)


def _sloth_file(path: Path, doc: Any, slo: SLO) -> Policy:
    period = _duration(path, doc, "spec.sloPeriod")
    if period != slo.period.nominal_ms:
        raise BacktestError(
            f"{path}: spec.sloPeriod {_get(path, doc, 'spec.sloPeriod')!r} is not the "
            f"{format_duration_ms(slo.period.nominal_ms)} period of SLO {slo.name!r}"
        )
    windows = []
    for tier in ("page", "ticket"):
        for speed in ("quick", "slow"):
            k = f"spec.{tier}.{speed}"
            windows.append((tier, _number(path, doc, f"{k}.errorBudgetPercent"),
                            _duration(path, doc, f"{k}.shortWindow"), _duration(path, doc, f"{k}.longWindow")))
    return Policy(path.stem, _sloth_tiers(period, windows))


def _native_file(path: Path, doc: Any) -> Policy:
    tiers = _get(path, doc, "tiers")
    if not isinstance(tiers, list) or not tiers:
        raise BacktestError(f"{path}: tiers: expected a non-empty list of tiers")
    out = []
    for i, t in enumerate(tiers):
        k = f"tiers[{i}]"
        if not isinstance(t, Mapping):
            raise BacktestError(f"{path}: {k}: expected a mapping with name, for and windows")
        name = t.get("name")
        if name not in ("page", "ticket"):
            raise BacktestError(f"{path}: {k}.name: expected page or ticket, got {name!r}")
        for_ms = _duration(path, t, "for", f"{k}.") if "for" in t else 0
        ws = t.get("windows")
        if not isinstance(ws, list) or not ws:
            raise BacktestError(f"{path}: {k}.windows: expected a non-empty list of windows")
        out.append(AlertTier(name, tuple(_native_window(path, w, f"{k}.windows[{j}]") for j, w in enumerate(ws)), for_ms=for_ms))
    return Policy(str(doc.get("name") or path.stem), tuple(out))


def _native_window(path: Path, w: Any, k: str) -> BurnWindow:
    if not isinstance(w, Mapping):
        raise BacktestError(f"{path}: {k}: expected a mapping with long, short and factor")
    at = f"{k}."
    long_ms = _duration(path, w, "long", at)
    short_ms = _duration(path, w, "short", at) if "short" in w else long_ms
    return BurnWindow(long_ms, short_ms, _number(path, w, "factor", at))
