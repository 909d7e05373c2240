"""Sloth inputs and Sloth's generate flags: the Kubernetes CRD, windows catalogs, periods,
extra labels, refused plugins, and the flags in sloguard's own rule form (evaluated)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import AlertingRule, AlertState, ManagerOptions, RuleManager, engine_query_func
from sloguard.slo._errors import SpecError
from sloguard.slo._sloth_windows import load_catalog
from sloguard.slo.loader import load_text
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests.shared_paths import SHARED

WINDOWS_7D = SHARED / "conformance" / "sloth" / "windows"
CRD = """
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {name: checkout, namespace: shop}
spec:
  service: checkout
  labels: {team: payments}
  slos:
    - name: availability
      objective: 99.9
      sli:
        events:
          errorQuery: sum(rate(requests_total{job="api",code="500"}[{{.window}}]))
          totalQuery: sum(rate(requests_total{job="api"}[{{.window}}]))
      alerting:
        name: CheckoutAvailability
        pageAlert: {labels: {route: pager}}
        ticketAlert: {disable: true}
"""
V1 = """
version: prometheus/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(requests_total{job="api",code="500"}[{{.window}}]))
        total_query: sum(rate(requests_total{job="api"}[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      ticket_alert: {disable: true}
"""


def _rules(tmp_path: Path, spec: str, *args: str) -> tuple[int, str, str]:
    (tmp_path / "slo.yml").write_text(spec)
    r = CliRunner().invoke(app, ["slo", "rules", str(tmp_path / "slo.yml"), *args])
    return r.exit_code, r.stdout, r.stderr


def test_a_prometheus_service_level_loads_into_the_model_with_its_alert_settings() -> None:
    slos, problems = load_text(CRD, "crd.yml")
    assert problems == []
    (slo,) = slos
    assert (slo.service, slo.name, slo.objective, dict(slo.labels)) == ("checkout", "availability", 0.999, {"team": "payments"})
    page, ticket = slo.alerting.tiers
    assert ("route", "pager") in page.labels and page.enabled and not ticket.enabled


def test_crd_problems_name_the_crds_own_key_paths() -> None:
    text = CRD.replace("errorQuery:", "errorQueryy:").replace("service: checkout", "service: ''")
    _, problems = load_text(text, "crd.yml")
    got = {(p.path, p.message.split(" (")[0]) for p in problems}
    assert ("spec.service", "is required") in got
    assert ("spec.slos[0].sli.events.errorQueryy", "unknown field, ignored as Sloth ignores it") in got
    assert ("spec.slos[0].sli.events.errorQuery", "is required") in got
    unknown = next(p for p in problems if p.path.endswith("errorQueryy"))
    assert "errorQuery, totalQuery" in unknown.message  # the CRD's spelling, not error_query


def test_validate_accepts_a_crd_and_refuses_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "ok.yml").write_text(CRD)
    (tmp_path / "bad.yml").write_text(CRD.replace("objective: 99.9", "objective: 100"))
    assert CliRunner().invoke(app, ["slo", "validate", str(tmp_path / "ok.yml")]).exit_code == 0
    bad = CliRunner().invoke(app, ["slo", "validate", str(tmp_path / "bad.yml")])
    assert bad.exit_code == 1 and "spec.slos[0].objective" in bad.stderr


def test_compat_sloth_writes_a_prometheus_rule_with_the_crds_metadata(tmp_path: Path) -> None:
    import yaml

    code, out, err = _rules(tmp_path, CRD, "--compat", "sloth")
    assert code == 0, err
    doc = yaml.safe_load(out)
    assert (doc["kind"], doc["metadata"]["name"], doc["metadata"]["namespace"]) == ("PrometheusRule", "checkout", "shop")
    alerts = [r for g in doc["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert [(a["labels"]["sloth_severity"], a["labels"]["route"]) for a in alerts] == [("page", "pager")]


def test_an_unknown_sloth_version_is_named(tmp_path: Path) -> None:
    code, _, err = _rules(tmp_path, V1.replace("prometheus/v1", "prometheus/v2"), "--compat", "sloth")
    assert code == 1 and "unsupported Sloth spec version 'prometheus/v2'" in err


def test_a_period_without_windows_is_refused_naming_the_catalog(tmp_path: Path) -> None:
    code, _, err = _rules(tmp_path, V1, "--compat", "sloth", "--default-slo-period", "7d")
    assert code == 1 and "SLO period 1w has no alert windows (the windows catalog has 4w, 30d" in err


def test_bad_flags_are_refused_with_the_text_given(tmp_path: Path) -> None:
    assert "'nolabel' is not key=value" in _rules(tmp_path, V1, "-l", "nolabel")[2]
    code, _, err = _rules(tmp_path, V1, "--compat", "nagios")
    assert code == 2 and "choose one of pyrra, sloguard, sloth" in err
    assert "--default-slo-period" in _rules(tmp_path, V1, "--default-slo-period", "30x")[2]


def test_a_windows_file_with_a_missing_window_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text("apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 7d\n  page: {}\n")
    with pytest.raises(SpecError) as e:
        load_catalog(tmp_path)
    assert str(e.value) == f"{tmp_path / 'w.yaml'}: spec.page.quick: is required (errorBudgetPercent, shortWindow, longWindow)"


def test_extra_labels_and_disabled_kinds_in_sloguards_form(tmp_path: Path) -> None:
    import yaml

    code, out, err = _rules(tmp_path, V1, "-l", "env=prod", "--disable-alerts")
    assert code == 0, err
    rules = [r for g in yaml.safe_load(out)["groups"] for r in g["rules"]]
    assert rules and all("record" in r and r["labels"]["env"] == "prod" for r in rules)
    code, out, _ = _rules(tmp_path, V1, "--disable-recordings")
    rules = [r for g in yaml.safe_load(out)["groups"] for r in g["rules"]]
    assert rules and all("alert" in r for r in rules)


def _page_fires(rules_text: str, tmp_path: Path, burn: float) -> bool:
    """Five quiet hours, then one hour erring at ``burn`` x the budget, at 5m resolution:
    does the page alert fire? (The 6h windows stay low, so only the 1h/5m condition can.)"""
    tmp_path.mkdir()
    (tmp_path / "r.yml").write_text(rules_text)
    db = TSDB.open(tmp_path / "db", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    try:
        engine = PromQLEngine(db)
        groups = list(RuleManager(ManagerOptions(query=engine_query_func(engine), storage=db)).load_groups([str(tmp_path / "r.yml")]).values())
        step = 300_000
        frac = np.where(np.arange(73) > 60, burn * 0.001, 0.0)
        good, bad = 1e6 + np.cumsum(3000 * (1 - frac)), 1e3 + np.cumsum(3000 * frac)
        app_ = db.appender()
        ts = np.arange(73, dtype=np.int64) * step
        app_.append_many(Labels.of(name__="requests_total", job="api", code="200"), ts, good)
        app_.append_many(Labels.of(name__="requests_total", job="api", code="500"), ts, bad)
        assert app_.commit().rejected_total == 0
        fired = False
        for i in (71, 72):  # the alert windows only read raw series, so the last ticks suffice
            for g in groups:
                for r in g.alerting_rules():
                    r.restored = True
                g.eval(i * step)
                assert not [r.status.last_error for r in g.rules if r.status.last_error]
                fired |= any(a.state == AlertState.FIRING for r in g.rules if isinstance(r, AlertingRule)
                             for a in r.active_alerts() if dict(a.labels).get("tier", "page") == "page")
        return fired
    finally:
        db.close()


@pytest.mark.parametrize(("args", "fires"), [
    ((), False),                                           # 30d: page at 14.4x
    (("--default-slo-period", "28d"), True),               # 28d: 14.4 * 28/30 = 13.44x
    (("--default-slo-period", "7d", "--slo-period-windows-path", str(WINDOWS_7D)), True),  # 8% of 7d in 1h: 13.44x
], ids=["30d", "28d", "7d-windows-file"])
def test_period_flags_change_when_the_page_fires_in_both_forms(tmp_path: Path, args: tuple[str, ...], fires: bool) -> None:
    if "--slo-period-windows-path" in args and not WINDOWS_7D.is_dir():
        pytest.skip(f"shared material not found at {WINDOWS_7D} (set SLOGUARD_SHARED)")
    for form in ("sloguard", "sloth"):
        code, out, err = _rules(tmp_path, V1, "--compat", form, "--interval", "5m", *args)
        assert code == 0, err
        assert _page_fires(out.split("# DO NOT EDIT.\n", 1)[-1], tmp_path / form, 14.0) is fires, form


def test_an_slo_plugin_overriding_the_defaults_writes_only_its_own_rules(tmp_path: Path) -> None:
    import yaml

    from sloguard.slo.sloth_plugins import SlothRules, register_slo_plugin

    def only_info(config: object, slo: object, rules: SlothRules) -> SlothRules:
        assert rules == SlothRules()  # overridePrevious: Sloth's default rules never ran
        return SlothRules(meta=({"record": "sloth_slo_info", "expr": "vector(1)", "labels": {"z": "1", "a": str(config)}},))

    spec = V1.replace("    alerting:", "    plugins: {overridePrevious: true, chain: [{id: t/only-info, config: x}]}\n    alerting:")
    off = register_slo_plugin("t/only-info", only_info)
    try:
        code, out, err = _rules(tmp_path, spec, "--compat", "sloth")
        refused = _rules(tmp_path, spec)
    finally:
        off()
    assert code == 0, err
    assert yaml.safe_load(out) == {"groups": [{"name": "sloth-slo-meta-recordings-checkout-availability", "rules": [
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": {"a": "x", "z": "1"}}]}]}
    assert refused[0] == 1 and "Sloth SLO plugin chains rewrite Sloth's rules: they run with --compat sloth only" in refused[2]


CALENDAR_TIMESLICES = """
apiVersion: sloguard/v1
service: api
slos:
  - name: lat
    objective: 99.5
    period: {calendar: month, timezone: America/New_York}
    budgeting: {timeslices: {target: 0.95, slice: 5m}}
    sli: {ratio: {bad: 'req_total{code="500"}', total: 'req_total'}}
    alerting: {min_events: 100}
"""


def test_what_sloths_form_cannot_compute_is_named_on_stderr(tmp_path: Path) -> None:
    code, out, err = _rules(tmp_path, CALENDAR_TIMESLICES, "--compat", "sloth")
    assert code == 0 and "sloth_slo: lat" in out
    assert "calendar month (America/New_York) budget is written as a rolling 30d one" in err
    assert "timeslice budget is written as an occurrences budget" in err
    assert "min_events 100 is dropped" in err
    code, _, err = _rules(tmp_path, V1, "--compat", "sloth")
    assert code == 0 and "warning" not in err
