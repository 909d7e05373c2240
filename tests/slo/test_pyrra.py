"""Pyrra compatibility: Pyrra's own example specs load, bad specs are refused with key paths,
and ``slo rules --compat pyrra`` gives the rules Pyrra's Go tests expect (compared as parsed
YAML, PromQL compared after parsing and printing). Rule values and alert states on series
are in test_pyrra_eval.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.slo import _compat_pyrra
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_files, load_text
from sloguard.slo.model import AvailabilitySLI, RatioSLI

SPECS = Path(__file__).parent / "specs" / "pyrra"
CASES = yaml.safe_load((SPECS / "expected_rules.yaml").read_text())["cases"]
DAY = 86_400_000


def _norm(group: dict[str, Any]) -> dict[str, Any]:
    rules = [{**r, "expr": str(promql_parser.parse(str(r["expr"])))} for r in group["rules"]]
    return {**group, "rules": rules}


def test_pyrra_examples_load_into_the_model() -> None:
    slos, problems = load_files(sorted(SPECS.glob("[a-z]*-*.yaml")) + [SPECS / "nginx.yaml"])
    assert problems == []
    by = {s.name: s for s in slos}
    probe = by["prometheus-blackbox-probe-success"]
    assert (probe.objective, probe.period.nominal_ms, probe.grouping) == (0.99, 7 * DAY, ("target",))
    assert probe.sli == AvailabilitySLI("probe_success")
    caddy = by["caddy-response-latency"]
    assert caddy.objective == 0.9 and caddy.period.nominal_ms == 28 * DAY
    assert isinstance(caddy.sli, RatioSLI) and caddy.sli.good is not None and 'le="0.05"' in caddy.sli.good
    api = by["prometheus-api-query"]
    assert isinstance(api.sli, RatioSLI) and api.sli.bad == 'prometheus_http_requests_total{handler=~"/api.*",code=~"5.."}'
    assert api.grouping == ("handler",)
    assert {"nginx-api-errors", "nginx-api-latency"} <= set(by)
    assert by["nginx-api-errors"].objective == 0.999 and by["nginx-api-errors"].service == "monitoring"


def test_pyrra_alert_tiers_follow_pyrras_windows() -> None:
    slos, _ = load_text((SPECS / "prometheus-http.yaml").read_text(), "x")
    tiers = slos[0].alerting.tiers
    # 7d window: Pyrra scales 28d's windows and `for`s by a quarter, rounded to minutes
    # half away from zero (Go's Duration.Round): 30s -> 1m, 7.5m -> 8m, 3.75m -> 4m
    pairs = [(t.windows[0].long_ms // 60_000, t.windows[0].short_ms // 60_000, t.windows[0].factor, t.for_ms // 60_000) for t in tiers]
    assert pairs == [(15, 1, 14, 1), (90, 8, 7, 4), (360, 30, 2, 15), (1440, 90, 1, 45)]
    assert [dict(t.labels)["severity"] for t in tiers] == ["critical", "critical", "warning", "warning"]
    assert slos[0].alerting.no_data_for_ms == 3 * 60_000  # 14 x 1% x 15m = 126s, + 1m for, rounded


def test_pyrra_tiers_at_28_days_are_pyrras_documented_policy() -> None:
    tiers = _compat_pyrra.pyrra_tiers(28 * DAY)
    got = [(t.name, t.windows[0].long_ms, t.windows[0].short_ms, t.windows[0].factor, t.for_ms) for t in tiers]
    h, m = 3_600_000, 60_000
    assert got == [("fastBurn", h, 5 * m, 14, 2 * m), ("mediumBurn", 6 * h, 30 * m, 7, 15 * m),
                   ("slowBurn", DAY, 2 * h, 2, h), ("longTermBurn", 4 * DAY, 6 * h, 1, 3 * h)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_compat_rules_equal_pyrras_expected_rules(case: dict[str, Any]) -> None:
    slos, problems = load_text(dump_yaml([case["spec"]]), case["name"])
    assert problems == []
    got = _compat_pyrra.generate(slos, case["generic_rules"], case["external_url"])["groups"]
    assert [_norm(g) for g in got] == [_norm(g) for g in case["groups"]]


def test_prometheus_rule_equals_pyrras_controller_output() -> None:
    spec, expected = (SPECS / "controller_http.yaml").read_text().split("\n---\n")
    slos, problems = load_text(spec, "controller_http.yaml")
    assert problems == []
    got = _compat_pyrra.prometheus_rule(slos[0])
    exp = yaml.safe_load(expected)
    assert {k: v for k, v in got.items() if k != "spec"} == {k: v for k, v in exp.items() if k != "spec"}
    assert [_norm(g) for g in got["spec"]["groups"]] == [_norm(g) for g in exp["spec"]["groups"]]


def test_cli_rules_compat_pyrra(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["slo", "rules", "--compat", "pyrra", "--generic-rules", str(SPECS / "prometheus-probe-success.yaml")])
    assert res.exit_code == 0, res.output
    groups = yaml.safe_load(res.stdout)["groups"]
    # grouped SLOs get no generic group, as in Pyrra
    assert [g["name"] for g in groups] == ["prometheus-blackbox-probe-success-increase", "prometheus-blackbox-probe-success"]
    assert groups[0]["rules"][0] == {"record": "probe_success:count1w", "expr": "sum by (target) (count_over_time(probe_success[1w]))",
                                     "labels": {"slo": "prometheus-blackbox-probe-success"}}


def test_compat_pyrra_refuses_what_pyrra_cannot_express(tmp_path: Path) -> None:
    f = tmp_path / "sloth.yml"
    f.write_text("version: prometheus/v1\nservice: a\nslos:\n- name: x\n  objective: 99\n  sli: {raw: {error_ratio_query: 'vector(0) + 0 * time() > bool 0 or rate(x[{{.window}}])'}}\n"
                 "  alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}\n")
    res = CliRunner().invoke(app, ["slo", "rules", "--compat", "pyrra", str(f)])
    assert res.exit_code == 1
    assert "SLO 'x'" in res.output and "cannot be written as Pyrra rules" in res.output


BAD = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: bad}
spec:
  target: "100"
  window: 4x
  indicator:
    ratio:
      errors: {metric: 'rate(http_requests_total{code="500"}[5m])'}
      total: {metric: 'http_requests_total{'}
  alerting: {severity: page}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: lat}
spec:
  target: "ninety"
  window: 4w
  indicator:
    latency:
      success: {metric: 'http_request_duration_seconds_bucket{job="a"}'}
      total: {metric: 'http_request_duration_seconds_count{job="a"}'}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: native}
spec:
  target: "99"
  window: 4w
  indicator:
    latencyNative: {latency: 1s, total: {metric: http_request_duration_seconds}}
"""


def test_bad_pyrra_specs_report_every_problem_with_its_key_path() -> None:
    slos, problems = load_text(BAD, "bad.yaml")
    assert slos == []
    got = {p.path: p.message for p in problems}
    assert "documents[0].spec.target" in got and "out of range" in got["documents[0].spec.target"]
    assert "4x" in got["documents[0].spec.window"]
    assert "must be a vector selector" in got["documents[0].spec.indicator.ratio.errors.metric"]
    assert "http_requests_total{" in got["documents[0].spec.indicator.ratio.total.metric"]
    assert "unknown field" in got["documents[0].spec.alerting.severity"]
    assert "ninety" in got["documents[1].spec.target"]
    assert "le matcher" in got["documents[1].spec.indicator.latency.success.metric"]
    assert "not supported" in got["documents[2].spec.indicator.latencyNative"]
    assert all(p.source == "bad.yaml" for p in problems)


def test_one_bad_document_leaves_the_others_loaded() -> None:
    good = (SPECS / "prometheus-http.yaml").read_text()
    slos, problems = load_text(good + "\n---\n" + BAD.split("---\n")[1], "mixed.yaml")
    assert [s.name for s in slos] == ["prometheus-api-query"]
    assert {p.path for p in problems} == {"documents[1].spec.target", "documents[1].spec.indicator.latency.success.metric"}


def test_convert_to_pyrra_round_trips_pyrras_rules() -> None:
    """Pyrra -> Pyrra through the model keeps everything Pyrra's rules depend on."""
    path = SPECS / "nginx.yaml"
    res = CliRunner().invoke(app, ["slo", "convert", "--to", "pyrra", str(path)])
    assert res.exit_code == 0, res.output
    again, problems = load_text(res.stdout, "converted.yaml")
    assert problems == []
    first, _ = load_files([path])
    assert _compat_pyrra.generate(again, True) == _compat_pyrra.generate(first, True)
    assert [s.alerting.no_data_for_ms for s in again] == [s.alerting.no_data_for_ms for s in first]


def test_compat_pyrra_from_a_native_spec_and_its_lossy_warnings(tmp_path: Path) -> None:
    f = tmp_path / "native.yml"
    f.write_text("apiVersion: sloguard/v1\nservice: api\nslos:\n- name: api-errors\n  objective: 99.9\n  period: 28d\n"
                 "  sli: {ratio: {bad: 'http_requests_total{job=\"api\",code=~\"5..\"}', total: 'http_requests_total{job=\"api\"}'}}\n"
                 "  alerting: {runbook: https://r.example, min_events: 10}\n")
    slos, problems = load_files([f])
    assert problems == []
    groups = _compat_pyrra.generate(slos)["groups"]
    alerts = [r for r in groups[1]["rules"] if "alert" in r]
    # Pyrra's target keeps Go's float: 99.9 / 100 prints as 0.9990000000000001
    assert alerts[0]["expr"].endswith("> (14 * (1-0.9990000000000001))")
    assert [a["labels"]["severity"] for a in alerts] == ["critical", "critical", "warning", "warning"]
    res = CliRunner().invoke(app, ["slo", "convert", "--to", "pyrra", str(f)])
    assert res.exit_code == 0
    assert "the tiers page, ticket are replaced" in res.stderr and "min_events" not in res.stderr
    assert "minimum event count" in res.stderr and "runbook" in res.stderr


@pytest.mark.parametrize(("field", "value", "message"), [
    ("target", "'0.995'", "means 0.995%, not 99.5%"),
    ("window", "2d", "too short for Pyrra's alert windows"),
])
def test_pyrra_specs_that_would_generate_nonsense_are_refused(field: str, value: str, message: str) -> None:
    """A 0-1 target (Pyrra only warns: the SLO would be 0.995%) and a window whose short
    alert windows round to 0s (Pyrra would write ``rate(x[0s])``) are problems."""
    spec = {"target": "'99'", "window": "4w", field: value}
    text = (f"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {{name: s}}\nspec:\n"
            f"  target: {spec['target']}\n  window: {spec['window']}\n  indicator: {{bool_gauge: {{metric: up}}}}\n")
    slos, problems = load_text(text, "s.yaml")
    assert slos == []
    assert [p.path for p in problems] == [f"spec.{field}"] and message in problems[0].message
    ok, none = load_text(text.replace(f"{field}: {value}", f"{field}: {'3d' if field == 'window' else '99.5'}"), "s.yaml")
    assert none == [] and len(ok) == 1


def test_duplicate_names_across_documents_point_at_the_second_document() -> None:
    doc = (SPECS / "prometheus-http.yaml").read_text()
    slos, problems = load_text(doc + "\n---\n" + doc, "twice.yaml")
    assert [s.name for s in slos] == ["prometheus-api-query"]
    assert [(p.path, "duplicate SLO 'prometheus-api-query'" in p.message) for p in problems] == [("documents[1].metadata.name", True)]
