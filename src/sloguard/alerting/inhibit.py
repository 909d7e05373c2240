"""Inhibition as in Alertmanager 0.25: pure functions over label sets.

A rule mutes a *target* alert when some firing *source* alert matches the source matchers and
agrees with the target on every ``equal`` label (a label missing on both sides counts as the
same empty value). An alert never inhibits itself: when the target also matches the source
side of a rule, source alerts that match the rule's target side as well are disregarded, so
two alerts matching both sides never mute each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sloguard.labels import Labels, Matcher, MatchType, is_valid_label_name

LabelSet = Mapping[str, str] | Labels


class InhibitRuleError(ValueError):
    """An inhibit rule Alertmanager refuses; ``reason`` is Alertmanager's own text."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _value(labels: LabelSet, name: str) -> str:
    return labels.get(name, "") or ""


def matches_all(matchers: Sequence[Matcher], labels: LabelSet) -> bool:
    """Alertmanager's ``Matchers.Matches``: every matcher holds; a missing label reads as ""."""
    return all(m.matches(_value(labels, m.name)) for m in matchers)


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """One ``inhibit_rules`` entry, legacy ``source_match``/``_re`` forms already converted."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    @classmethod
    def from_config(
        cls,
        *,
        source_matchers: Sequence[Matcher] = (),
        target_matchers: Sequence[Matcher] = (),
        equal: Sequence[str] = (),
        source_match: Mapping[str, str] | None = None,
        source_match_re: Mapping[str, str] | None = None,
        target_match: Mapping[str, str] | None = None,
        target_match_re: Mapping[str, str] | None = None,
        path: str = "inhibit_rules[0]",
    ) -> InhibitRule:
        """Build a rule the way Alertmanager does: legacy equality matchers, then legacy regex
        matchers (anchored), then the new-syntax matchers; label names are validated."""
        for key, legacy in (("source_match", source_match), ("source_match_re", source_match_re),
                            ("target_match", target_match), ("target_match_re", target_match_re)):  # fmt: skip
            for name in legacy or {}:
                if not is_valid_label_name(name):
                    raise InhibitRuleError(f"{path}.{key}", f'invalid label name "{name}"')
        for name in equal:
            if not is_valid_label_name(name):
                raise InhibitRuleError(f"{path}.equal", f'"{name}" is not a valid label name')
        return cls(
            source_matchers=_legacy(source_match, source_match_re, f"{path}.source_match_re") + tuple(source_matchers),
            target_matchers=_legacy(target_match, target_match_re, f"{path}.target_match_re") + tuple(target_matchers),
            equal=tuple(dict.fromkeys(equal)),
        )

    def source_matches(self, labels: LabelSet) -> bool:
        return matches_all(self.source_matchers, labels)

    def target_matches(self, labels: LabelSet) -> bool:
        return matches_all(self.target_matchers, labels)

    def equal_on(self, a: LabelSet, b: LabelSet) -> bool:
        return all(_value(a, n) == _value(b, n) for n in self.equal)

    def inhibiting_source(self, target: LabelSet, firing: Sequence[LabelSet]) -> LabelSet | None:
        """The first firing alert that mutes ``target`` under this rule, or None."""
        if not self.target_matches(target):
            return None
        two_sided = self.source_matches(target)
        for source in firing:
            if not self.source_matches(source) or not self.equal_on(source, target):
                continue
            if two_sided and self.target_matches(source):
                continue  # an alert never inhibits itself, nor one it would be inhibited by
            return source
        return None


def _legacy(match: Mapping[str, str] | None, match_re: Mapping[str, str] | None, path: str) -> tuple[Matcher, ...]:
    out = [Matcher(MatchType.EQUAL, k, v) for k, v in (match or {}).items()]
    for k, v in (match_re or {}).items():
        try:
            out.append(Matcher(MatchType.REGEX, k, v))
        except ValueError as e:
            raise InhibitRuleError(f"{path}.{k}", str(e)) from None
    return tuple(out)


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

    def inhibited_by(self, labels: LabelSet, firing_sources: Iterable[LabelSet]) -> Inhibition | None:
        """The first rule (in config order) that mutes ``labels``, with its source alert."""
        firing = list(firing_sources)
        for i, rule in enumerate(self.rules):
            source = rule.inhibiting_source(labels, firing)
            if source is not None:
                return Inhibition(i, rule, source)
        return None

    def mutes(self, labels: LabelSet, firing_sources: Iterable[LabelSet]) -> bool:
        return self.inhibited_by(labels, firing_sources) is not None
