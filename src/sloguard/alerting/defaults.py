"""SLO-aware defaults: the route used when no alerting config is given, and the inhibit
rule that lets an SLO's firing page mute the same SLO's ticket.

Without an alerting config every alert goes to ``sloguard-log``: its notifications are
written to the log (and the alerts are shown by the API and UI), so nothing is lost while
no receiver is set up. With one, the user's file is used as written, plus the SLO inhibit
rule (``alerting_slo_inhibit: false`` in the server config turns it off). Alerts that
sloguard's SLOs generate carry ``sloguard_tier`` (``page``/``ticket``), ``slo`` and
``service``; the rule mutes a ticket while a page of the same SLO fires, comparing ``slo``,
``service`` and every grouping label of the loaded SLOs (an alert lacking a label compares
as empty, so one rule serves SLOs grouped by different labels).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sloguard.alerting._routecfg import InhibitRule
from sloguard.alerting.config import AlertmanagerConfig, parse_config
from sloguard.labels import Matcher, MatchType

__all__ = ["DEFAULT_RECEIVER", "DEFAULT_SOURCE", "default_config", "slo_inhibit_rule", "with_slo_inhibit"]

DEFAULT_RECEIVER = "sloguard-log"
#: What ``file`` says of the built-in config (in errors, logs and ``/api/v2/status``).
DEFAULT_SOURCE = "<built-in default alerting config>"
TIER_LABEL = "sloguard_tier"

_DEFAULT_YAML = f"""\
route:
  receiver: {DEFAULT_RECEIVER}
  group_by: [alertname, service, slo]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: {DEFAULT_RECEIVER}
"""


def default_config() -> AlertmanagerConfig:
    """The config used when none is given: one route to the log receiver."""
    return parse_config(_DEFAULT_YAML, DEFAULT_SOURCE)


def slo_inhibit_rule(grouping_labels: Iterable[str] = ()) -> InhibitRule:
    """A firing ``sloguard_tier="page"`` alert mutes ``sloguard_tier="ticket"`` alerts with the
    same ``slo``, ``service`` and grouping labels."""
    equal = ("slo", "service", *sorted(set(grouping_labels) - {"slo", "service"}))
    return InhibitRule(
        source_matchers=(Matcher(MatchType.EQUAL, TIER_LABEL, "page"),),
        target_matchers=(Matcher(MatchType.EQUAL, TIER_LABEL, "ticket"),),
        equal=equal,
    )


def with_slo_inhibit(cfg: AlertmanagerConfig, grouping_labels: Iterable[str] = ()) -> AlertmanagerConfig:
    """``cfg`` with the SLO inhibit rule after the user's own rules."""
    return replace(cfg, inhibit_rules=(*cfg.inhibit_rules, slo_inhibit_rule(grouping_labels)))
