"""Inhibition as in Alertmanager 0.25: pure functions over label sets.

The rules are the configuration's ``InhibitRule`` objects (``sloguard.alerting.InhibitRule``,
read by ``parse_config``, which converts the legacy ``source_match``/``_re`` forms and
checks label names and regexes with Alertmanager's texts); this module only decides.

A rule mutes a *target* alert when some firing *source* alert matches the source matchers and
agrees with the target on every ``equal`` label (a label missing on both sides counts as the
same empty value). An alert never inhibits itself: when the target also matches the source
side of a rule, source alerts that match the rule's target side as well are disregarded, so
two alerts matching both sides never mute each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sloguard.alerting._matchers import LabelSet, label_value, matches_all
from sloguard.alerting._routecfg import InhibitRule

if TYPE_CHECKING:
    from sloguard.alerting.config import AlertmanagerConfig


def equal_on(rule: InhibitRule, a: LabelSet, b: LabelSet) -> bool:
    """Whether ``a`` and ``b`` agree on every ``equal`` label of the rule (absent reads as "")."""
    return all(label_value(a, n) == label_value(b, n) for n in rule.equal)


def equal_key(rule: InhibitRule, labels: LabelSet) -> tuple[str, ...]:
    """The values of the rule's ``equal`` labels (absent reads as ""): a source can mute a
    target only when their keys are the same."""
    return tuple(label_value(labels, n) for n in rule.equal)


def inhibiting_source(rule: InhibitRule, target: LabelSet, firing: Sequence[LabelSet]) -> LabelSet | None:
    """The first firing alert that mutes ``target`` under ``rule``, or None."""
    if not matches_all(rule.target_matchers, target):
        return None
    two_sided = matches_all(rule.source_matchers, target)
    for source in firing:
        if not matches_all(rule.source_matchers, source) or not equal_on(rule, source, target):
            continue
        if two_sided and matches_all(rule.target_matchers, source):
            continue  # an alert never inhibits itself, nor one it would be inhibited by
        return source
    return None


@dataclass(frozen=True, slots=True)
class Inhibition:
    """Why an alert is muted: the rule (by index in ``inhibit_rules``) and the source alert,
    for the UI's "inhibited by" and the API's ``inhibitedBy``."""

    rule_index: int
    rule: InhibitRule
    source: LabelSet


class Inhibitor:
    """Alertmanager's ``Inhibitor.Mutes`` over the alerts currently firing.

    ``firing_sources`` are the alerts that are firing now (resolved ones must be left out, as
    Alertmanager skips resolved alerts in its source cache); any of them may be a source.
    """

    __slots__ = ("rules",)

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self.rules: tuple[InhibitRule, ...] = tuple(rules)

    @classmethod
    def from_config(cls, cfg: AlertmanagerConfig) -> Inhibitor:
        """The inhibitor of a loaded configuration: its ``inhibit_rules``, in order."""
        return cls(cfg.inhibit_rules)

    def inhibited_by(self, labels: LabelSet, firing_sources: Iterable[LabelSet]) -> Inhibition | None:
        """The first rule (in config order) that mutes ``labels``, with its source alert."""
        firing = list(firing_sources)
        return self.inhibited_among(labels, lambda i, rule: firing)

    def inhibited_among(self, labels: LabelSet,
                        candidates: Callable[[int, InhibitRule], Sequence[LabelSet]]) -> Inhibition | None:
        """:meth:`inhibited_by` with each rule's possible sources given by ``candidates(index,
        rule)``: the firing alerts, or any part of them holding every source that rule could
        find (such as those of :func:`equal_key` ``(rule, labels)``), in their order."""
        for i, rule in enumerate(self.rules):
            source = inhibiting_source(rule, labels, candidates(i, rule))
            if source is not None:
                return Inhibition(i, rule, source)
        return None

    def mutes(self, labels: LabelSet, firing_sources: Iterable[LabelSet]) -> bool:
        return self.inhibited_by(labels, firing_sources) is not None
