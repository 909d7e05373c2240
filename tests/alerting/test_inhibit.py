"""Inhibition: Alertmanager 0.25's inhibit_test.go tables (as data), the never-inhibits-itself
rule, and a differential against the real Alertmanager's ``inhibitedBy`` over its v2 API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sloguard.alerting.inhibit import Inhibitor, InhibitRule, InhibitRuleError
from sloguard.labels import Labels, Matcher, MatchType
from tests.alerting._am_peer import alertmanager, needs_alertmanager

Alert = dict[str, str]

# TestInhibitRuleHasEqual: (firing sources, resolved sources, equal, target, muted)
HAS_EQUAL = [
    ([], [], [], {"a": "b"}, False),
    ([{}], [], [], {"a": "b"}, True),
    ([], [{"a": "b", "b": "f"}, {"a": "b", "b": "c"}], ["a", "b"], {"a": "b", "b": "c"}, False),
    ([{"a": "b", "c": "f"}], [{"a": "b", "c": "d"}], ["a"], {"a": "b"}, True),
    ([], [{"a": "c", "c": "d"}, {"a": "c", "c": "f"}], ["a"], {"a": "b"}, False),
]


@pytest.mark.parametrize(("firing", "resolved", "equal", "target", "muted"), HAS_EQUAL)
def test_equal_labels_decide_like_upstream(
    firing: list[Alert], resolved: list[Alert], equal: list[str], target: Alert, muted: bool
) -> None:
    # upstream fills the source cache directly and skips resolved alerts; here a rule whose
    # source side takes any alert and whose target side takes only the target, fed firing alerts
    rule = InhibitRule.from_config(target_match={"role": "target"}, equal=equal)
    tgt = {**target, "role": "target"}
    assert (rule.inhibiting_source(tgt, firing) is not None) == muted
    stale_would_mute = any(rule.equal_on(r, tgt) for r in resolved)
    assert (rule.inhibiting_source(tgt, firing + resolved) is not None) == (muted or stale_would_mute)


SOURCES = [{"s1": "1", "t1": "2", "e": "1"}, {"s2": "1", "t2": "1", "e": "1"}]
TARGETS = [{"t1": "1", "e": "1"}, {"t2": "1", "e": "1"}, {"t1": "1", "t3": "1", "e": "1"},
           {"t1": "1", "t2": "1", "e": "1"}, {"t1": "0", "e": "1"}, {"s1": "1", "t1": "1", "e": "1"},
           {"s2": "1", "t2": "1", "e": "1"}, {"t1": "1", "e": "0"}]  # fmt: skip
LEGACY_RULES = [
    InhibitRule.from_config(source_match={"s1": "1"}, target_match={"t1": "1"}, equal=["e"]),
    InhibitRule.from_config(source_match={"s2": "1"}, target_match={"t2": "1"}, equal=["e"]),
]
NEW_RULES = [
    InhibitRule((Matcher(MatchType.EQUAL, "s1", "1"),), (Matcher(MatchType.NOT_EQUAL, "t1", "1"),), ("e",)),
    InhibitRule((Matcher(MatchType.EQUAL, "s2", "1"),), (Matcher(MatchType.EQUAL, "t2", "1"),), ("e",)),
]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [(LEGACY_RULES, [True, True, True, True, False, True, False, False]),  # TestInhibitRuleMatches
     (NEW_RULES, [False, True, False, True, True, False, True, False])],  # TestInhibitRuleMatchers
    ids=["legacy_match", "matchers"],
)  # fmt: skip
def test_mutes_matches_upstream_table(rules: list[InhibitRule], expected: list[bool]) -> None:
    inhibitor = Inhibitor(rules)
    assert [inhibitor.mutes(t, SOURCES) for t in TARGETS] == expected


def test_an_alert_matching_both_sides_never_inhibits_itself() -> None:
    rule = InhibitRule.from_config(source_match_re={"severity": "page|ticket"},
                                   target_match_re={"severity": "ticket|page"}, equal=["slo"])  # fmt: skip
    page = {"severity": "page", "slo": "api"}
    ticket = {"severity": "ticket", "slo": "api"}
    assert not Inhibitor([rule]).mutes(page, [page])
    assert not Inhibitor([rule]).mutes(ticket, [page, ticket])  # both sides: neither mutes the other


def test_page_mutes_the_same_slos_ticket_and_says_by_whom() -> None:
    rule = InhibitRule.from_config(source_matchers=[Matcher.equal("severity", "page")],
                                   target_matchers=[Matcher.equal("severity", "ticket")], equal=["slo"])  # fmt: skip
    page = Labels.of(severity="page", slo="api", alertname="Burn")
    why = Inhibitor([InhibitRule.from_config(equal=["nothing"]), rule][1:]).inhibited_by(
        Labels.of(severity="ticket", slo="api"), [Labels.of(severity="page", slo="web"), page])
    assert why is not None and why.source == page and why.rule_index == 0 and why.rule == rule
    assert not Inhibitor([rule]).mutes({"severity": "ticket", "slo": "web"}, [page])


def test_missing_equal_labels_count_as_equal_empty_values() -> None:
    rule = InhibitRule.from_config(source_match={"a": "src"}, target_match={"a": "tgt"}, equal=["zone", "dc"])
    assert rule.inhibiting_source({"a": "tgt"}, [{"a": "src"}]) == {"a": "src"}
    assert rule.inhibiting_source({"a": "tgt"}, [{"a": "src", "zone": ""}]) is not None
    assert rule.inhibiting_source({"a": "tgt"}, [{"a": "src", "zone": "x"}]) is None


def test_legacy_regexes_are_anchored() -> None:
    rule = InhibitRule.from_config(source_match_re={"a": "sr"}, target_match={"b": "t"})
    assert rule.source_matches({"a": "sr"}) and not rule.source_matches({"a": "src"})
    assert rule.source_matchers == (Matcher(MatchType.REGEX, "a", "sr"),)


@pytest.mark.parametrize(
    ("kw", "reason"),
    [({"source_match": {"0bad": "x"}}, 'invalid label name "0bad"'),
     ({"target_match_re": {"a-b": "x"}}, 'invalid label name "a-b"'),
     ({"equal": ["ok", "not ok"]}, '"not ok" is not a valid label name'),
     ({"source_match_re": {"a": "("}}, "invalid regular expression")],
)  # fmt: skip
def test_bad_rules_name_the_key(kw: dict[str, object], reason: str) -> None:
    with pytest.raises(InhibitRuleError) as e:
        InhibitRule.from_config(path="inhibit_rules[3]", **kw)  # type: ignore[arg-type]
    assert reason in e.value.reason and str(e.value).startswith("inhibit_rules[3].")


_AM_CONFIG = """
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - {source_match: {s1: '1'}, target_match: {t1: '1'}, equal: [e]}
  - {source_matchers: ['s2="1"'], target_matchers: ['t2="1"'], equal: [e]}
  - {source_matchers: ['sev=~"page|ticket"'], target_matchers: ['sev=~"ticket|page"'], equal: [slo]}
  - {source_matchers: ['x="src"'], target_matchers: ['x="tgt"'], equal: [zone]}
"""
_AM_RULES = [
    *LEGACY_RULES[:1],
    NEW_RULES[1],
    InhibitRule.from_config(source_match_re={"sev": "page|ticket"}, target_match_re={"sev": "ticket|page"},
                            equal=["slo"]),
    InhibitRule.from_config(source_match={"x": "src"}, target_match={"x": "tgt"}, equal=["zone"]),
]  # fmt: skip
_CANARY = {"x": "tgt", "canary": "1"}
_AM_ALERTS = [*SOURCES, *TARGETS, {"sev": "page", "slo": "a"}, {"sev": "ticket", "slo": "a"},
              {"x": "src"}, _CANARY, {"x": "tgt", "zone": "eu"}]  # fmt: skip


@needs_alertmanager
def test_inhibited_alerts_equal_alertmanagers(tmp_path: Path) -> None:
    with alertmanager(tmp_path, _AM_CONFIG) as am:
        assert am.post("/api/v2/alerts", json=[{"labels": a} for a in _AM_ALERTS]).status_code == 200
        got = _wait_for_canary(am)
    by_fp = {a["fingerprint"]: a["labels"] for a in got}
    theirs = {_key(a["labels"]): [by_fp[f] for f in a["status"]["inhibitedBy"]] for a in got}
    inhibitor = Inhibitor(_AM_RULES)
    ours = {_key(a): inhibitor.mutes(a, _AM_ALERTS) for a in _AM_ALERTS}
    assert ours == {k: bool(v) for k, v in theirs.items()}
    for target, sources in theirs.items():  # Alertmanager's chosen source mutes the target for us too
        assert all(inhibitor.mutes(dict(target), [s]) for s in sources)


def _key(labels: Alert) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _wait_for_canary(am: object) -> list[dict]:  # type: ignore[type-arg]
    """Alertmanager fills its inhibitor's source cache asynchronously: poll until the canary
    (certainly inhibited) shows as such, then every alert's status is settled."""
    for _ in range(100):
        alerts = am.get("/api/v2/alerts").json()  # type: ignore[attr-defined]
        if any(a["labels"] == _CANARY and a["status"]["inhibitedBy"] for a in alerts):
            return alerts  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("Alertmanager never inhibited the canary alert")
