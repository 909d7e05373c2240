"""Rule file parsing and validation: promtool's checks and wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloguard.rules import RuleFileError, load_rule_file, parse_rule_text
from tests.shared_paths import PROMTOOL_CONFORMANCE, needs

FIXTURES = Path(__file__).parent / "fixtures" / "check"
CONFORMANCE = PROMTOOL_CONFORMANCE


def test_valid_file_yields_groups_rules_and_durations() -> None:
    text = """
groups:
  - name: g
    interval: 30s
    limit: 5
    rules:
      - alert: A
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: page}
        annotations: {summary: "x {{ $labels.job }}"}
      - record: job:up:sum
        expr: sum by (job) (up)
"""
    rf, errs = parse_rule_text(text, "f.yml")
    assert errs == []
    assert rf is not None
    (g,) = rf.groups
    assert (g.name, g.interval_ms, g.limit) == ("g", 30_000, 5)
    a, r = g.rules
    assert (a.alert, a.for_ms, a.keep_firing_for_ms) == ("A", 300_000, 60_000)
    assert a.labels == (("severity", "page"),)
    assert r.record == "job:up:sum" and r.name == "job:up:sum"


def test_every_semantic_problem_names_group_rule_index_and_position() -> None:
    rf, errs = parse_rule_text((FIXTURES / "invalid_rules.yml").read_text())
    assert errs[0] == "0:0: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set"
    assert errs[1] == "5:17: 6:16: group \"g\", rule 2, \"b\": only one of 'record' and 'alert' must be set"
    assert "9:15: group \"g\", rule 3, \"x{y}\": field 'expr' must be set in rule" in errs
    assert "8:17: group \"g\", rule 3, \"x{y}\": invalid recording rule name: x{y}" in errs
    assert 'group "g", rule 4, "A": label "l": template: __alert_A:1: unclosed action' in errs
    assert 'group "g", rule 4, "A": annotation "a": template: __alert_A:1: function "nofunc" not defined' in errs
    assert errs[-2:] == ['22:5: groupname: "g" is repeated in the same file', "24:5: Groupname must not be empty"]


def test_unknown_fields_are_reported_with_their_lines_and_types() -> None:
    _, errs = parse_rule_text((FIXTURES / "unknown_fields.yml").read_text())
    assert errs == [
        "yaml: unmarshal errors:\n  line 3: field foo not found in type rulefmt.RuleGroup\n"
        "  line 7: field bar not found in type rulefmt.RuleNode"
    ]


def test_bad_duration_uses_prometheus_wording() -> None:
    _, errs = parse_rule_text((FIXTURES / "bad_duration.yml").read_text())
    assert errs == ['not a valid duration string: "5x"']


@needs(CONFORMANCE)
def test_bad_promql_is_reported_at_the_expr_position() -> None:
    with pytest.raises(RuleFileError) as ei:
        load_rule_file(CONFORMANCE / "bad-rules-syntax.yml")
    (msg,) = ei.value.errors
    assert msg.endswith('bad-rules-syntax.yml: 7:15: group "bad-syntax", rule 1, "x": could not parse expression: 1:7: parse error: unexpected end of input')


def test_empty_file_is_valid_and_has_no_groups() -> None:
    rf, errs = parse_rule_text("", "e.yml")
    assert errs == [] and rf is not None and rf.groups == ()
