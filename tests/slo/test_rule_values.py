"""Generated SLO rules evaluated by sloguard's rule engine on synthetic series: every rule
kind (ratios per window, budget remaining, burn rates, each alert tier and window pair,
no-data, the low-traffic guard) against numbers computed by hand in ``_rule_scenarios``."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloguard.slo import rulegen
from sloguard.slo.loader import load_text
from tests.slo._rule_scenarios import SCENARIOS, STEADY, TICKET_TEXT
from tests.slo._rule_values import Scenario, check_sloguard


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_generated_rules_give_the_hand_computed_values_and_alerts(scenario: Scenario, tmp_path: Path) -> None:
    assert check_sloguard(scenario.rules(), scenario, tmp_path) == []


def test_budget_left_is_filled_before_the_budget_group_ever_ran(tmp_path: Path) -> None:
    """The alert's budget_left reads the SLI group's own records, so the first notification
    already says -100% (1 - 0.02 / 0.01) even when no budget group has been evaluated."""
    rules = STEADY.rules()
    rules["groups"] = [g for g in rules["groups"] if not g["name"].endswith("-budget")]
    only_text = Scenario("no-budget-group", STEADY.specs, STEADY.series, (), (TICKET_TEXT,))
    assert check_sloguard(rules, only_text, tmp_path) == []


@pytest.mark.parametrize(("labels", "path", "words"), [
    ("{slo: other}", "slos[0].labels.slo", "would overwrite the slo label 'api'"),
    ("{service: billing}", "slos[0].labels.service", "would overwrite the service label 'shop'"),
    ("{sloguard_tier: gold}", "slos[0].labels.sloguard_tier", "reserves for its own alert labels"),
])
def test_user_labels_that_rules_would_overwrite_are_refused(labels: str, path: str, words: str) -> None:
    text = f"""
apiVersion: sloguard/v1
service: shop
slos:
  - name: api
    objective: 99
    labels: {labels}
    sli: {{ratio: {{bad: 'x_total{{code="500"}}', total: x_total}}}}
"""
    _, problems = load_text(text, "labels.yml")
    assert [(p.path, words in p.message) for p in problems] == [(path, True)], problems


def test_labels_equal_to_the_rule_labels_and_a_users_tier_label_are_accepted() -> None:
    text = """
apiVersion: sloguard/v1
service: shop
slos:
  - name: api
    objective: 99
    labels: {slo: api, service: shop, tier: "1", severity: critical}
    sli: {ratio: {bad: 'x_total{code="500"}', total: x_total}}
"""
    slos, problems = load_text(text, "labels.yml")
    assert problems == []
    alerts = [r for g in rulegen.generate(slos)["groups"] for r in g["rules"] if "alert" in r]
    # the user's severity wins over the tier default; sloguard's tier has its own name
    assert {(a["labels"]["tier"], a["labels"]["severity"], a["labels"].get("sloguard_tier")) for a in alerts} == {
        ("1", "critical", "page"), ("1", "critical", "ticket"), ("1", "critical", "no-data")}
