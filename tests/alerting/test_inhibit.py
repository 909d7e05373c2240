"""Inhibition: Alertmanager 0.25's inhibit_test.go tables (as data), the never-inhibits-itself
rule, and a differential against the real Alertmanager's ``inhibitedBy`` over its v2 API.

Rules come from the configuration (``parse_config`` of ``inhibit_rules`` YAML, legacy forms
included) or are built as the config's ``InhibitRule`` directly."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sloguard.alerting import AlertingConfigError, InhibitRule, parse_config
from sloguard.alerting.inhibit import Inhibitor, equal_on, inhibiting_source
from sloguard.labels import Labels, Matcher, MatchType
from tests.alerting._am_peer import alertmanager, needs_alertmanager

Alert = dict[str, str]
_HEAD = "route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules:\n"


def _rules(*entries: dict[str, object]) -> tuple[InhibitRule, ...]:
    """``inhibit_rules`` entries as written in YAML (JSON is YAML), read by the config."""
    return parse_config(_HEAD + "".join(f"  - {json.dumps(e)}\n" for e in entries)).inhibit_rules


def _rule(**entry: object) -> InhibitRule:
    return _rules(entry)[0]


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
    rule = _rule(target_match={"role": "target"}, equal=equal)
    tgt = {**target, "role": "target"}
    assert (inhibiting_source(rule, tgt, firing) is not None) == muted
    stale_would_mute = any(equal_on(rule, r, tgt) for r in resolved)
    assert (inhibiting_source(rule, tgt, firing + resolved) is not None) == (muted or stale_would_mute)


SOURCES = [{"s1": "1", "t1": "2", "e": "1"}, {"s2": "1", "t2": "1", "e": "1"}]
TARGETS = [{"t1": "1", "e": "1"}, {"t2": "1", "e": "1"}, {"t1": "1", "t3": "1", "e": "1"},
           {"t1": "1", "t2": "1", "e": "1"}, {"t1": "0", "e": "1"}, {"s1": "1", "t1": "1", "e": "1"},
           {"s2": "1", "t2": "1", "e": "1"}, {"t1": "1", "e": "0"}]  # fmt: skip
LEGACY_RULES = _rules(
    {"source_match": {"s1": "1"}, "target_match": {"t1": "1"}, "equal": ["e"]},
    {"source_match": {"s2": "1"}, "target_match": {"t2": "1"}, "equal": ["e"]},
)
NEW_RULES = [  # the config's type built directly
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
    rule = _rule(source_match_re={"severity": "page|ticket"}, target_match_re={"severity": "ticket|page"},
                 equal=["slo"])  # fmt: skip
    page = {"severity": "page", "slo": "api"}
    ticket = {"severity": "ticket", "slo": "api"}
    assert not Inhibitor([rule]).mutes(page, [page])
    assert not Inhibitor([rule]).mutes(ticket, [page, ticket])  # both sides: neither mutes the other


def test_page_mutes_the_same_slos_ticket_and_says_by_whom() -> None:
    other, rule = _rules({"source_matchers": ['severity="critical"'], "target_matchers": ['severity="ticket"']},
                         {"source_matchers": ['severity="page"'], "target_matchers": ['severity="ticket"'],
                          "equal": ["slo"]})  # fmt: skip
    page = Labels.of(severity="page", slo="api", alertname="Burn")
    why = Inhibitor([other, rule]).inhibited_by(
        Labels.of(severity="ticket", slo="api"), [Labels.of(severity="page", slo="web"), page])
    assert why is not None and why.source == page and why.rule_index == 1 and why.rule == rule
    assert not Inhibitor([rule]).mutes({"severity": "ticket", "slo": "web"}, [page])


def test_missing_equal_labels_count_as_equal_empty_values() -> None:
    rule = _rule(source_match={"a": "src"}, target_match={"a": "tgt"}, equal=["zone", "dc"])
    assert inhibiting_source(rule, {"a": "tgt"}, [{"a": "src"}]) == {"a": "src"}
    assert inhibiting_source(rule, {"a": "tgt"}, [{"a": "src", "zone": ""}]) is not None
    assert inhibiting_source(rule, {"a": "tgt"}, [{"a": "src", "zone": "x"}]) is None
    assert inhibiting_source(rule, Labels.of(a="tgt", zone="x"), [Labels.of(a="src", zone="x")]) is not None


def test_legacy_regexes_are_anchored() -> None:
    rule = _rule(source_match_re={"a": "sr"}, target_match={"b": "t"})
    firing = [{"a": "src"}, {"a": "xsr"}, {"a": "sr"}]
    assert inhibiting_source(rule, {"b": "t"}, firing) == {"a": "sr"}
    assert inhibiting_source(rule, {"b": "t"}, firing[:2]) is None


@pytest.mark.parametrize(
    ("entry", "path", "reason"),
    [({"source_match": {"0bad": "x"}}, "source_match", 'invalid label name "0bad"'),
     ({"target_match_re": {"a-b": "x"}}, "target_match_re", 'invalid label name "a-b"'),
     ({"equal": ["ok", "not ok"]}, "equal", '"not ok" is not a valid label name'),
     ({"source_match_re": {"a": "("}}, "source_match_re.a", "error parsing regexp: missing closing )"),
     ({"target_matchers": ['a=~"("']}, "target_matchers[0]", "error parsing regexp: missing closing )")],
)  # fmt: skip
def test_bad_rules_name_the_key(entry: dict[str, object], path: str, reason: str) -> None:
    with pytest.raises(AlertingConfigError) as e:
        _rules({}, {}, {}, entry)
    assert e.value.path == f"inhibit_rules[3].{path}" and reason in e.value.detail
    assert str(e.value).startswith(f"<config>: inhibit_rules[3].{path}: ")


_AM_CONFIG = """
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - {source_match: {s1: '1'}, target_match: {t1: '1'}, equal: [e]}
  - {source_matchers: ['s2="1"'], target_matchers: ['t2="1"'], equal: [e]}
  - {source_matchers: ['sev=~"page|ticket"'], target_matchers: ['sev=~"ticket|page"'], equal: [slo]}
  - {source_matchers: ['x="src"'], target_matchers: ['x="tgt"'], equal: [zone]}
"""
_CANARY = {"x": "tgt", "canary": "1"}
_AM_ALERTS = [*SOURCES, *TARGETS, {"sev": "page", "slo": "a"}, {"sev": "ticket", "slo": "a"},
              {"x": "src"}, _CANARY, {"x": "tgt", "zone": "eu"}]  # fmt: skip


def test_inhibitor_from_config_keeps_the_rules_in_order() -> None:
    cfg = parse_config(_AM_CONFIG)
    inhibitor = Inhibitor.from_config(cfg)
    assert inhibitor.rules == cfg.inhibit_rules and len(inhibitor.rules) == 4
    why = inhibitor.inhibited_by(_CANARY, _AM_ALERTS)
    assert why is not None and why.rule_index == 3 and why.source == {"x": "src"}
    assert not inhibitor.mutes({"x": "tgt", "zone": "eu"}, _AM_ALERTS)


@needs_alertmanager
def test_inhibited_alerts_equal_alertmanagers(tmp_path: Path) -> None:
    with alertmanager(tmp_path, _AM_CONFIG) as am:
        assert am.post("/api/v2/alerts", json=[{"labels": a} for a in _AM_ALERTS]).status_code == 200
        got = _wait_for_canary(am)
    by_fp = {a["fingerprint"]: a["labels"] for a in got}
    theirs = {_key(a["labels"]): [by_fp[f] for f in a["status"]["inhibitedBy"]] for a in got}
    inhibitor = Inhibitor.from_config(parse_config(_AM_CONFIG))
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
