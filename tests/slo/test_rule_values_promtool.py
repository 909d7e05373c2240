"""The same hand-computed value checks as ``test_rule_values``, run by the real Prometheus
rule engine: ``promtool test rules`` evaluates the generated rules on the same series and
must find every number, every alert state and the pinned alert texts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.slo._rule_scenarios import SCENARIOS, STEADY
from tests.slo._rule_values import Scenario, check_promtool, promtool_test_file

pytestmark = [pytest.mark.peer]


def _need_promtool() -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH (scripts/install-peers installs it)")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_promtool_finds_the_hand_computed_values_and_alerts(scenario: Scenario, tmp_path: Path) -> None:
    _need_promtool()
    assert check_promtool(scenario.rules(), scenario, tmp_path) == []


def test_promtool_reports_a_wrong_expectation(tmp_path: Path) -> None:
    """The harness can fail: one expected number off by 1% makes promtool complain."""
    _need_promtool()
    v = STEADY.values[0]
    wrong = Scenario("wrong", STEADY.specs, STEADY.series, (type(v)(v.minute, v.query, (v.value or 0) * 1.01 + 0.001),))
    assert check_promtool(wrong.rules(), wrong, tmp_path) != []
    assert promtool_test_file("r.yml", wrong.rules(), wrong)["tests"][0]["promql_expr_test"]
