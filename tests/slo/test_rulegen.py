import shutil
import subprocess
from pathlib import Path

import promql_parser
import pytest

from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_files, load_text

SPECS = Path(__file__).parent / "specs"


def _slo(extra: str = "", sli: str = "{ratio: {bad: 'errors_total{job=\"x\"}', total: 'requests_total{job=\"x\"}'}}"):  # type: ignore[no-untyped-def]
    slos, problems = load_text(
        f"""
apiVersion: sloguard/v1
service: api
slos:
  - name: api-availability
    objective: 99.9
    sli: {sli}
{extra}
""",
        "t.yml",
    )
    assert problems == []
    return slos[0]


def _rules(slo):  # type: ignore[no-untyped-def]
    return [r for g in rulegen.generate([slo])["groups"] for r in g["rules"]]


def test_every_generated_expression_parses() -> None:
    for spec in ("sloth", "openslo", "native"):
        slos, _ = load_files([SPECS / f"{spec}.yml"])
        for rule in (r for g in rulegen.generate(slos)["groups"] for r in g["rules"]):
            promql_parser.parse(rule["expr"])


def test_rule_count_per_slo_is_twenty_six_with_workbook_tiers() -> None:
    groups = rulegen.generate([_slo()])["groups"]
    # 2 base + 7 window ratios + 4 alerts (one per window pair) + no-data; 12 budget rules
    assert [len(g["rules"]) for g in groups] == [14, 12]
    assert [g["interval"] for g in groups] == ["1m", "5m"]


def test_long_windows_sum_event_rates_instead_of_averaging_ratios() -> None:
    by_name = {r.get("record"): r["expr"] for r in _rules(_slo())}
    assert by_name["slo:sli_error:ratio_rate3d"] == (
        'sum_over_time(slo:sli_error:rate5m{slo="api-availability"}[3d]) / '
        'sum_over_time(slo:sli_total:rate5m{slo="api-availability"}[3d])'
    )
    assert "sum_over_time(((slo:sli_error:rate5m" in by_name["slo:sli_error:period_count"]
    # short windows read the raw counters directly, so pages are prompt
    assert by_name["slo:sli_error:ratio_rate1h"].startswith('(sum (rate(errors_total{job="x"}[1h]))')


def test_page_suppresses_ticket_and_tiers_use_workbook_factors() -> None:
    alerts = [r for r in _rules(_slo()) if "alert" in r]
    page, page6h, ticket, ticket3d, nodata = alerts
    assert page["labels"]["severity"] == "page" and ticket["labels"]["severity"] == "ticket"
    assert "(14.4 * 0.001)" in page["expr"] and "(6 * 0.001)" in page6h["expr"]
    assert "(3 * 0.001)" in ticket["expr"] and "(1 * 0.001)" in ticket3d["expr"]
    assert ") unless on() (" in ticket["expr"]
    assert nodata["expr"] == 'absent(slo:sli_total:rate5m{slo="api-availability"})'
    assert page["alert"] == ticket["alert"] == "ApiAvailabilityBudgetBurn"


def test_disabled_tier_and_min_events_and_for() -> None:
    slo = _slo("""    alerting:
      min_events: 50
      page: {for: 3m}
      ticket: false
      no_data: false""")
    alerts = [r for r in _rules(slo) if "alert" in r]
    assert len(alerts) == 2  # one per page window pair
    assert alerts[0]["for"] == "3m"
    assert ">= 50)" in alerts[0]["expr"] and "* 3600 >= 50" in alerts[0]["expr"]


def test_grouping_keeps_labels_through_matching() -> None:
    slo = _slo("    grouping: [route]")
    rules = _rules(slo)
    base = next(r for r in rules if r.get("record") == "slo:sli_error:rate5m")
    assert base["expr"].startswith("(sum by (route) (")
    ticket = [r for r in rules if "alert" in r][2]
    assert "unless on(route)" in ticket["expr"]


def test_prometheus_rule_manifest_wraps_the_groups() -> None:
    m = rulegen.prometheus_rule([_slo()], "slos", "monitoring")
    assert m["kind"] == "PrometheusRule" and m["metadata"]["namespace"] == "monitoring"
    assert m["spec"]["groups"][0]["name"] == "sloguard-slo-api-availability"


@pytest.mark.peer
def test_real_promtool_accepts_generated_rules(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH (scripts/install-peers installs it)")
    for spec in ("sloth", "openslo", "native"):
        slos, _ = load_files([SPECS / f"{spec}.yml"])
        out = tmp_path / f"{spec}.rules.yml"
        out.write_text(dump_yaml([rulegen.generate(slos)]))
        proc = subprocess.run(["promtool", "check", "rules", str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "SUCCESS" in proc.stdout
