"""Sloth's built-in SLO plugins one by one (the examples are in test_sloth_slo_plugins):
config errors named by key path, and what each plugin does to the rules, after Sloth's
plugin READMEs and ``plugin_test.go`` expectations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sloguard.cli import app
from tests.slo._rule_values import Scenario, Value, check_sloguard, firing
from tests.slo.test_sloth_slo_plugins import _series

SPEC = """version: prometheus/v1
service: svc
labels: {team: a, env: prod}
slos:
  - name: avail
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting: {name: Avail, page_alert: {labels: {to: pager}}, ticket_alert: {disable: true}}
    plugins:
      CHAIN
"""
K8S = """apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {name: s, namespace: ns}
spec:
  service: svc
  slos:
    - name: avail
      objective: 99.9
      sli: {raw: {errorRatioQuery: 'sum(rate(errs[{{.window}}]))/sum(rate(reqs[{{.window}}]))'}}
      alerting: {pageAlert: {disable: true}, ticketAlert: {disable: true}}
      plugins:
        chain: [{id: sloth.dev/core/noop/v1}, {id: sloth.dev/contrib/info_labels/v1, config: {labels: []}}]
"""


def _run(tmp_path: Path, chain: str, *args: str, spec: str = SPEC) -> tuple[int, str, str]:
    f = tmp_path / "slo.yml"
    f.write_text(spec.replace("CHAIN", chain))
    r = CliRunner().invoke(app, ["slo", *args, str(f)])
    return r.exit_code, r.stdout, r.stderr


def _groups(tmp_path: Path, chain: str) -> list[dict[str, Any]]:
    code, out, err = _run(tmp_path, chain, "rules", "--compat", "sloth")
    assert code == 0, err
    groups: list[dict[str, Any]] = yaml.safe_load(out)["groups"]
    return groups


def _rule(groups: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for g in groups for r in g["rules"] if name in (r.get("record"), r.get("alert")))


@pytest.mark.parametrize(("chain", "where", "message"), [
    ("{chain: [{id: sloth.dev/contrib/info_labels/v1}]}",
     "slos[0].plugins.chain[0].config.labels", "at least one label is required"),
    ("{chain: [{id: sloth.dev/core/noop/v1}, {id: sloth.dev/contrib/info_labels/v1, config: {labels: {a: 1}}}]}",
     "slos[0].plugins.chain[1].config.labels.a", "expected a string value, got 1 (quote it)"),
    ("{chain: [{id: sloth.dev/contrib/rule_intervals/v1, config: {interval: {alert: 1m}}}]}",
     "slos[0].plugins.chain[0].config.interval.default", "is required"),
    ("{chain: [{id: sloth.dev/contrib/rule_intervals/v1, config: {interval: {default: 1m, sliError: 5 minutes}}}]}",
     "slos[0].plugins.chain[0].config.interval.sliError", 'not a valid duration string: "5 minutes"'),
    ("{chain: [{id: sloth.dev/core/sli_rules/v1, config: {disableOptimized: yes please}}]}",
     "slos[0].plugins.chain[0].config.disableOptimized", "expected true or false, got 'yes please'"),
    ("{chain: [{id: sloth.dev/contrib/error_budget_exhausted_alert/v1, config: {threshold: low}}]}",
     "slos[0].plugins.chain[0].config.threshold", "expected a number, got 'low'"),
    ("{chain: [{id: sloth.dev/contrib/remove_labels/v1, config: {preserveLabels: team}}]}",
     "slos[0].plugins.chain[0].config.preserveLabels", "expected a list of strings, got 'team'"),
    ("{chain: [{id: sloth.dev/core/debug/v1, config: [msg]}]}",
     "slos[0].plugins.chain[0].config", "expected a mapping"),
    ("{chain: [{id: sloth.dev/core/debug/v1, priority: high}]}",
     "slos[0].plugins.chain[0].priority", "expected an integer, got 'high'"),
    ("{chain: [{id: sloth.dev/contrib/validate_victoria_metrics/v1}]}",
     "slos[0].plugins.chain[0].id", "sloguard has no MetricsQL parser"),
])
def test_bad_plugin_config_is_refused_at_its_key_path(tmp_path: Path, chain: str, where: str, message: str) -> None:
    for cmd in (("validate",), ("rules", "--compat", "sloth")):
        code, _, err = _run(tmp_path, chain, *cmd)
        assert code == 1
        assert f"{where}: " in err and message in err, err


def test_k8s_plugin_config_errors_name_the_crd_path(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, "", "validate", spec=K8S)
    assert code == 1
    assert "spec.slos[0].plugins.chain[1].config.labels: Sloth SLO plugin 'sloth.dev/contrib/info_labels/v1': " \
           "expected a mapping of label names to string values, got a list" in err


def test_an_unknown_config_key_is_a_warning_as_sloth_ignores_it(tmp_path: Path) -> None:
    code, out, err = _run(tmp_path, "{chain: [{id: sloth.dev/core/sli_rules/v1, config: {disableOptimised: true}}]}", "validate")
    assert code == 0, out + err
    assert "slos[0].plugins.chain[0].config.disableOptimised: Sloth SLO plugin 'sloth.dev/core/sli_rules/v1': " \
           "is not a config key" in out + err


def test_sli_rules_disable_optimized_computes_the_period_from_the_queries(tmp_path: Path) -> None:
    optimized = _rule(_groups(tmp_path, "{chain: [{id: sloth.dev/core/sli_rules/v1}]}"), "slo:sli_error:ratio_rate30d")
    plain = _rule(_groups(tmp_path, "{chain: [{id: sloth.dev/core/sli_rules/v1, config: {disableOptimized: true}}]}"),
                  "slo:sli_error:ratio_rate30d")
    assert optimized["expr"].startswith("sum_over_time(slo:sli_error:ratio_rate5m{sloth_id=\"svc-avail\"")
    assert plain["expr"] == ('(sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[30d])))\n/\n'
                             '(sum(rate(http_request_duration_seconds_count{job="myservice"}[30d])))\n')
    assert plain["labels"] == optimized["labels"]


def test_override_previous_keeps_only_the_chains_generators(tmp_path: Path) -> None:
    groups = _groups(tmp_path, "{overridePrevious: true, chain: [{id: sloth.dev/core/metadata_rules/v1}, "
                               "{id: sloth.dev/core/alert_rules/v1, priority: 5}]}")
    assert [g["name"] for g in groups] == ["sloth-slo-meta-recordings-svc-avail", "sloth-slo-alerts-svc-avail"]
    assert [r["alert"] for r in groups[1]["rules"]] == ["Avail"]  # the ticket alert is disabled


def test_remove_labels_keeps_ids_window_preserved_and_info(tmp_path: Path) -> None:
    groups = _groups(tmp_path, "{chain: [{id: sloth.dev/contrib/remove_labels/v1, config: "
                               "{preserveLabels: [env], skipMetrics: [slo:objective:ratio]}}]}")
    ids = {"sloth_id": "svc-avail", "sloth_service": "svc", "sloth_slo": "avail"}
    assert _rule(groups, "slo:sli_error:ratio_rate5m")["labels"] == {**ids, "env": "prod", "sloth_window": "5m"}
    assert _rule(groups, "slo:error_budget:ratio")["labels"] == {**ids, "env": "prod"}
    assert _rule(groups, "slo:objective:ratio")["labels"] == {**ids, "env": "prod", "team": "a"}
    assert _rule(groups, "sloth_slo_info")["labels"]["team"] == "a"
    assert _rule(groups, "Avail")["labels"] == {"sloth_severity": "page", "to": "pager"}  # alerts untouched


def test_rule_intervals_per_group_override_the_default(tmp_path: Path) -> None:
    groups = _groups(tmp_path, "{chain: [{id: sloth.dev/contrib/rule_intervals/v1, config: "
                               "{interval: {default: 1m, sliError: 42s, alert: 11s}}}]}")
    assert [(g["name"], g["interval"]) for g in groups] == [
        ("sloth-slo-sli-recordings-svc-avail", "42s"), ("sloth-slo-meta-recordings-svc-avail", "1m"),
        ("sloth-slo-alerts-svc-avail", "11s")]


def test_info_labels_on_a_custom_metric(tmp_path: Path) -> None:
    groups = _groups(tmp_path, "{chain: [{id: sloth.dev/contrib/info_labels/v1, config: "
                               "{metricName: slo:objective:ratio, labels: {team: b, x: y}}}]}")
    assert _rule(groups, "slo:objective:ratio")["labels"]["team"] == "b"
    assert _rule(groups, "slo:objective:ratio")["labels"]["x"] == "y"
    assert "x" not in _rule(groups, "sloth_slo_info")["labels"]


BUDGET_ALERT = ("{chain: [{id: sloth.dev/contrib/error_budget_exhausted_alert/v1, config: {threshold: 0.05, for: 2m, "
                "alert_name: BudgetLow, alert_labels: {severity: info}, selector_labels: {dc: x}, "
                "annotations: {summary: low}}}]}")


def test_error_budget_exhausted_alert_is_added_after_the_burn_alerts(tmp_path: Path) -> None:
    groups = _groups(tmp_path, BUDGET_ALERT)
    alerts = groups[-1]["rules"]
    assert [a["alert"] for a in alerts] == ["Avail", "BudgetLow"]
    assert alerts[1] == {
        "alert": "BudgetLow",
        "expr": 'slo:period_error_budget_remaining:ratio{dc="x", env="prod", sloth_id="svc-avail", '
                'sloth_service="svc", sloth_slo="avail", team="a"} <= 0.05',
        "for": "2m", "labels": {"severity": "info"}, "annotations": {"summary": "low"}}
    default = _groups(tmp_path, "{chain: [{id: sloth.dev/contrib/error_budget_exhausted_alert/v1}]}")[-1]["rules"][-1]
    assert default == {"alert": "ErrorBudgetExhausted", "for": "5m", "expr": 'slo:period_error_budget_remaining:ratio'
                       '{env="prod", sloth_id="svc-avail", sloth_service="svc", sloth_slo="avail", team="a"} <= 0'}


def test_error_budget_exhausted_alert_fires_once_the_budget_is_spent(tmp_path: Path) -> None:
    """No errors before minute 70 (budget whole), 10% errors after: spent within minutes."""
    groups = _groups(tmp_path, BUDGET_ALERT.replace("selector_labels: {dc: x}, ", ""))
    sc = Scenario("budget", (), _series(), (
        Value(65, "slo:period_error_budget_remaining:ratio", 1.0),
        Value(65, firing("BudgetLow", "", "pending"), None), Value(65, firing("BudgetLow"), None),
        Value(131, firing("BudgetLow", 'severity="info",sloth_id="svc-avail"'), 1)))
    assert check_sloguard({"groups": groups}, sc, tmp_path / "eval") == []


def test_debug_logs_its_messages_in_chain_order(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    chain = ("{chain: [{id: sloth.dev/core/debug/v1, priority: 10, config: {msg: last}}, "
             "{id: sloth.dev/core/debug/v1, priority: -5, config: {msg: first, result: true}}, "
             "{id: sloth.dev/core/debug/v1, config: {msg: middle}}]}")
    with caplog.at_level(logging.DEBUG, logger="sloguard.slo.sloth_plugins"):
        _groups(tmp_path, chain)
    msgs = [r.getMessage() for r in caplog.records if r.name == "sloguard.slo.sloth_plugins"]
    assert msgs[0] == "first" and msgs[1].startswith("SlothRules(sli=()") and msgs[2:] == ["middle", "last"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "sloguard.slo.sloth_plugins")


def test_a_python_plugin_registered_under_a_builtin_id_wins(tmp_path: Path) -> None:
    from sloguard.slo.sloth_plugins import SlothRules, register_slo_plugin

    off = register_slo_plugin("sloth.dev/core/noop/v1", lambda cfg, slo, rules: SlothRules(meta=rules.meta[:1]))
    try:
        groups = _groups(tmp_path, "{chain: [{id: sloth.dev/core/noop/v1}]}")
    finally:
        off()
    assert [[r["record"] for r in g["rules"]] for g in groups] == [["slo:objective:ratio"]]


def test_sloguards_own_form_accepts_chains_that_change_no_rule_only(tmp_path: Path) -> None:
    code, out, err = _run(tmp_path, "{chain: [{id: sloth.dev/core/debug/v1, config: {msg: hi}}, "
                                    "{id: sloth.dev/core/validate/v1}]}", "rules")
    assert code == 0, err
    assert "sloguard-slo-avail" in out
    code, _, err = _run(tmp_path, "{chain: [{id: sloth.dev/contrib/remove_labels/v1}]}", "rules")
    assert code == 1 and "they run with --compat sloth only" in err
    code, _, err = _run(tmp_path, "{overridePrevious: true, chain: [{id: sloth.dev/core/noop/v1}]}", "rules")
    assert code == 1 and "they run with --compat sloth only" in err


def test_command_line_plugins_run_for_every_slo_unless_a_chain_overrides(tmp_path: Path) -> None:
    app_plugin = '{"id": "sloth.dev/contrib/rule_intervals/v1", "priority": 3, "config": {"interval": {"default": "2m"}}}'
    code, out, err = _run(tmp_path, "{chain: [{id: sloth.dev/core/noop/v1}]}", "rules", "--compat", "sloth", "-s", app_plugin)
    assert code == 0, err
    assert [g.get("interval") for g in yaml.safe_load(out)["groups"]] == ["2m", "2m", "2m"]
    code, out, err = _run(tmp_path, "{overridePrevious: true, chain: [{id: sloth.dev/core/alert_rules/v1}]}",
                          "rules", "--compat", "sloth", "-s", app_plugin)
    assert code == 0, err
    assert [(g["name"], g.get("interval")) for g in yaml.safe_load(out)["groups"]] == [("sloth-slo-alerts-svc-avail", None)]


def test_disable_default_slo_plugins_leaves_only_the_declared_generators(tmp_path: Path) -> None:
    code, out, err = _run(tmp_path, "{chain: [{id: sloth.dev/core/metadata_rules/v1}]}", "rules", "--compat", "sloth",
                          "--disable-default-slo-plugins", "-s", '{"id": "sloth.dev/core/sli_rules/v1", "priority": -1}')
    assert code == 0, err
    assert [g["name"] for g in yaml.safe_load(out)["groups"]] == [
        "sloth-slo-sli-recordings-svc-avail", "sloth-slo-meta-recordings-svc-avail"]


def test_bad_command_line_plugins_are_named_by_flag_index_and_key(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, "{chain: []}", "rules", "--compat", "sloth",
                        "-s", '{"id": "sloth.dev/contrib/info_labels/v1", "config": {"labels": {}}}', "-s", "{id: x}",
                        "-s", '{"id": "x/y"}')
    assert code == 1
    assert "--slo-plugins[0]: config.labels: at least one label is required" in err
    assert "--slo-plugins[1]: '{id: x}' is not JSON" in err
    assert "--slo-plugins[2]: id: Sloth SLO plugin 'x/y' has no sloguard equivalent" in err
    code, _, err = _run(tmp_path, "{chain: []}", "rules", "-s", '{"id": "sloth.dev/core/noop/v1"}')
    assert code == 1 and "use them with --compat sloth" in err


def test_denominator_corrected_rules_unoptimized_period_and_events_only(tmp_path: Path) -> None:
    groups = _groups(tmp_path, "{chain: [{id: sloth.dev/contrib/denominator_corrected_rules/v1, "
                               "config: {disableOptimized: true}}]}")
    assert _rule(groups, "slo:sli_error:ratio_rate30d")["expr"] == (
        '(sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[30d])))\n/\n'
        '(sum(rate(http_request_duration_seconds_count{job="myservice"}[30d])))\n')
    assert _rule(groups, "slo:numerator_correction:ratio2h")["expr"] == (
        '(sum(rate(http_request_duration_seconds_count{job="myservice"}[2h])))/'
        '(sum(rate(http_request_duration_seconds_count{job="myservice"}[30d])))')
    assert "slo:numerator_correction:ratio30d" not in [r.get("record") for g in groups for r in g["rules"]]
    raw = K8S.replace("chain: [{id: sloth.dev/core/noop/v1}, {id: sloth.dev/contrib/info_labels/v1, config: {labels: []}}]",
                      "chain: [{id: sloth.dev/contrib/denominator_corrected_rules/v1}]")
    code, _, err = _run(tmp_path, "", "rules", "--compat", "sloth", spec=raw)
    assert code == 1
    assert "Sloth SLO plugin 'sloth.dev/contrib/denominator_corrected_rules/v1' needs an events SLI" in err
