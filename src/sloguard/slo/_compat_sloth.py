"""Prometheus rules in Sloth's form, so Sloth's dashboards and alert routes work unchanged.

Per SLO (id ``<service>-<name>``) Sloth writes three groups, and so does this module:

* ``sloth-slo-sli-recordings-<id>``: ``slo:sli_error:ratio_rate<W>`` for every alert window
  (the error query over the total query, or the raw ratio, each wrapped in parentheses),
  plus the SLO period's ratio as the average of the 5m ratios
  (``sum_over_time / ignoring (sloth_window) count_over_time``, Sloth's "optimized" rule);
* ``sloth-slo-meta-recordings-<id>``: ``slo:objective:ratio``, ``slo:error_budget:ratio``,
  ``slo:time_period:days``, ``slo:current_burn_rate:ratio`` (on the page-quick short window,
  5m), ``slo:period_burn_rate:ratio``, ``slo:period_error_budget_remaining:ratio`` and
  ``sloth_slo_info`` (``sloth_version``, ``sloth_mode``, ``sloth_spec``, ``sloth_objective``);
* ``sloth-slo-alerts-<id>``: one page and one ticket alert, each two multiwindow conditions
  ``max(ratio > (factor * budget)) without (sloth_window)``, labelled ``sloth_severity``.

Numbers are printed the way Sloth's Go code prints them (``0.9990000000000001`` for a
99.9% objective) so the rules are the same series as Sloth's, not merely close.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sloguard.durations import format_duration_ms
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo._sloth_chain import NO_CHAIN, Chain, PluginCall
from sloguard.slo._sloth_chain import run as run_chain
from sloguard.slo._sloth_output import sorted_labels as _sorted
from sloguard.slo._sloth_rules import SlothInfo, SlothRequest, go_float_f, ratio_metric
from sloguard.slo._sloth_windows import DEFAULT_CATALOG, AlertWindows, windows_for
from sloguard.slo.model import SLO, clean_ratio

__all__ = ["SlothInfo", "SlothOptions", "go_float_f", "ratio_metric", "rule_groups", "slo_groups"]


@dataclass(frozen=True, slots=True)
class SlothOptions:
    """Sloth's generate flags. ``period_ms`` None keeps each SLO's own period; ``slo_plugins``
    are ``--slo-plugins``, ``default_plugins`` False is ``--disable-default-slo-plugins``."""

    catalog: Mapping[int, AlertWindows] = field(default_factory=lambda: dict(DEFAULT_CATALOG))
    period_ms: int | None = None
    extra_labels: tuple[tuple[str, str], ...] = ()
    disable_alerts: bool = False
    disable_recordings: bool = False
    slo_plugins: tuple[PluginCall, ...] = ()
    default_plugins: bool = True


def _request(slo: SLO, info: SlothInfo, opts: SlothOptions) -> SlothRequest:
    period = opts.period_ms if opts.period_ms is not None else slo.period.nominal_ms
    windows = windows_for(opts.catalog, period, slo.source or slo.name)
    labels = {**dict(slo.labels), **dict(opts.extra_labels)}
    return SlothRequest(slo, clean_ratio(slo.objective * 100), labels, windows, info)


_KEY_ORDER = ("record", "alert", "expr", "for", "labels", "annotations")


def _tidy(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as Sloth's YAML writes it: fields in rulefmt's order, label maps sorted, empty
    label and annotation maps left out (rulefmt's ``omitempty``)."""
    keys = [k for k in _KEY_ORDER if k in rule] + [k for k in rule if k not in _KEY_ORDER]
    keys = [k for k in keys if k not in ("labels", "annotations") or rule[k]]
    return {k: _sorted(rule[k]) if k in ("labels", "annotations") else rule[k] for k in keys}


def _group(name: str, interval_ms: int, rules: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    head: dict[str, Any] = {"name": name}
    if interval_ms:
        head["interval"] = format_duration_ms(interval_ms)
    return {**head, "rules": [_tidy(r) for r in rules]}


def slo_groups(slo: SLO, info: SlothInfo, opts: SlothOptions, chain: Chain = NO_CHAIN) -> list[dict[str, Any]]:
    """The rule groups Sloth writes for one SLO after its plugin chain (empty groups left out,
    as Sloth does; ``--disable-*`` apply after the plugins, as in Sloth's CLI)."""
    req = _request(slo, info, opts)
    rules = run_chain(chain, req, opts.slo_plugins, opts.default_plugins)
    sid = req.ids["sloth_id"]
    groups: list[tuple[str, int, tuple[dict[str, Any], ...]]] = []
    if not opts.disable_recordings:
        groups += [(f"sloth-slo-sli-recordings-{sid}", rules.sli_interval_ms, rules.sli),
                   (f"sloth-slo-meta-recordings-{sid}", rules.meta_interval_ms, rules.meta)]
    if not opts.disable_alerts:
        groups.append((f"sloth-slo-alerts-{sid}", rules.alert_interval_ms, rules.alerts))
    out = [_group(name, interval, rs) for name, interval, rs in groups if rs]
    for i, g in enumerate(rules.extra):
        if g.get("rules"):
            out.append({**g, "name": g.get("name") or f"sloth-slo-extra-rules-{i:03d}-{sid}",
                        "rules": [_tidy(r) for r in g["rules"]]})
    return out


def rule_groups(slos: list[SLO], info: SlothInfo, opts: SlothOptions,
                chains: Mapping[str, Chain] | None = None) -> list[dict[str, Any]]:
    """Every SLO's groups, in order; SLO ids (service-name) must be unique, as Sloth checks."""
    seen: set[str] = set()
    groups = []
    for slo in slos:
        sid = f"{slo.service}-{slo.name}"
        if sid in seen:
            raise SpecError([Problem(slo.source, f"SLO {slo.name!r}", f"SLO ID {sid!r} is repeated")])
        seen.add(sid)
        groups.extend(slo_groups(slo, info, opts, (chains or {}).get(slo.name, NO_CHAIN)))
    return groups
