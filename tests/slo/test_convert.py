"""`slo convert`: what each format keeps, what it names in a warning, and OpenSLO's documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.slo import _spec_sloth
from sloguard.slo._reader import Reader
from sloguard.slo._sli import error_rate, total_rate
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import SpecFormat, dump, load_text
from sloguard.slo.model import SLO, LatencySLI, Period
from sloguard.tsdb.testing import MemoryStorage

SPECS = Path(__file__).parent / "specs"

SLOTH = """
version: prometheus/v1
service: checkout
labels: {owner: payments}
slos:
  - name: requests-availability
    objective: 99.9
    description: Availability of checkout requests.
    labels: {tier: "1"}
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
    alerting:
      name: CheckoutHighErrorRate
      labels: {category: availability}
      annotations: {summary: Checkout fails too often}
      page_alert:
        disable: true
        labels: {routing: pager}
      ticket_alert:
        labels: {severity: slack}
        annotations: {dashboard: https://grafana.example/d/checkout}
  - name: requests-latency
    objective: 99.95
    sli:
      raw:
        error_ratio_query: |
          1 - (sum(rate(http_request_duration_seconds_bucket{job="checkout",le="0.25"}[{{.window}}]))
            / sum(rate(http_request_duration_seconds_count{job="checkout"}[{{.window}}])))
    alerting:
      name: CheckoutSlow
"""


def _via(slos: list[SLO], fmt: SpecFormat) -> tuple[str, list[SLO]]:
    text = dump_yaml(dump(slos, fmt))
    back, problems = load_text(text, f"as-{fmt.value}.yml")
    assert problems == [], problems
    return text, back


def _sloth(text: str, period: Period | None = None) -> list[SLO]:
    r = Reader("sloth.yml")
    slos = [s for _, s in _spec_sloth.load(yaml.safe_load(text), r, period)]
    assert r.problems == []
    return slos


def _alerting_view(s: SLO) -> dict[str, Any]:
    a = s.alerting
    return {
        "labels": dict(s.labels), "description": s.description, "objective": s.objective, "period": s.period,
        "alert": a.name, "alert_labels": dict(a.labels), "alert_annotations": dict(a.annotations),
        "tiers": {t.name: (t.enabled, dict(t.labels), dict(t.annotations), t.windows) for t in a.tiers},
    }


def test_sloth_to_openslo_to_sloth_keeps_labels_alerts_disable_objective_description() -> None:
    slos = _sloth(SLOTH)
    openslo, mid = _via(slos, SpecFormat.OPENSLO)
    sloth_text, back = _via(mid, SpecFormat.SLOTH)
    assert [_alerting_view(s) for s in back] == [_alerting_view(s) for s in slos]
    assert not back[0].alerting.tiers[0].enabled  # a disabled page tier stays disabled
    assert "target: 0.999\n" in openslo and "target: 0.9995\n" in openslo
    assert "0.999000" not in openslo and "objective: 99.9\n" in sloth_text and "objective: 99.95\n" in sloth_text


def test_a_28d_sloth_period_stays_28d_through_openslo() -> None:
    slos = _sloth(SLOTH, Period(rolling_ms=28 * 86_400_000))
    openslo, mid = _via(slos, SpecFormat.OPENSLO)
    assert "duration: 28d" in openslo
    assert all(s.period.rolling_ms == 28 * 86_400_000 for s in mid)
    back = _sloth(dump_yaml(dump(mid, SpecFormat.SLOTH)), Period(rolling_ms=28 * 86_400_000))
    assert [_alerting_view(s) for s in back] == [_alerting_view(s) for s in slos]


def test_openslo_alerting_is_policies_conditions_and_targets() -> None:
    slos = _sloth(SLOTH)
    docs = dump(slos, SpecFormat.OPENSLO)
    kinds = [d["kind"] for d in docs]
    assert {"Service", "SLO", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"} <= set(kinds)
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "AlertPolicy"}
    conditions = {d["metadata"]["name"]: d for d in docs if d["kind"] == "AlertCondition"}
    page = policies["requests-availability-page-1"]
    assert page["metadata"]["displayName"] == "CheckoutHighErrorRate"
    assert page["metadata"]["labels"] == {"routing": "pager"}
    assert page["spec"]["alertWhenBreaching"] is False  # disabled
    assert all(len(p["spec"]["conditions"]) == 1 for p in policies.values())  # OpenSLO: one condition
    cond = conditions[page["spec"]["conditions"][0]["conditionRef"]]["spec"]
    assert cond["severity"] == "page"
    assert cond["condition"] == {"kind": "burnrate", "op": "gt", "threshold": 14.4, "lookbackWindow": "1h"}
    ticket = conditions["requests-availability-ticket-2"]["spec"]
    assert ticket["severity"] == "slack" and ticket["condition"]["lookbackWindow"] == "3d"
    target = next(d for d in docs if d["kind"] == "AlertNotificationTarget")
    assert target["metadata"]["labels"] == {"category": "availability"}
    assert target["metadata"]["annotations"] == {"summary": "Checkout fails too often"}


def _queries(docs: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if "query" in v and isinstance(v["query"], str):
                out.append(v["query"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(docs)
    return out


def _without_sloguard_annotations(text: str) -> str:
    """The OpenSLO file as another OpenSLO tool sees it (no sloguard.dev/sli)."""
    docs = list(yaml.safe_load_all(text))
    for d in docs:
        ind = d.get("spec", {}).get("indicator")
        if ind:
            ind["metadata"].pop("annotations", None)
    return dump_yaml(docs)


def _error_ratio(engine: PromQLEngine, slo: SLO, t: int) -> float:
    """The SLI's error ratio over 10m (a raw SLI counts each window as one event)."""

    def one(expr: str) -> float:
        res = engine.instant_query(expr, t)
        return float(sum(s.v for s in res.value))  # type: ignore[union-attr,misc]

    return one(error_rate(slo, 600_000)) / one(total_rate(slo, 600_000))


def _storage() -> MemoryStorage:
    st = MemoryStorage()
    ts = list(range(0, 3_600_001, 15_000))
    n = np.arange(len(ts), dtype=np.float64)
    for code, per in (("200", 9.0), ("500", 0.5)):
        st.add(Labels.of(name__="http_requests_total", job="checkout", code=code), ts, (n * per).tolist())
    for le, per in (("0.1", 6.0), ("0.25", 8.0), ("+Inf", 9.5)):
        st.add(Labels.of(name__="http_request_duration_seconds_bucket", job="checkout", le=le), ts, (n * per).tolist())
    st.add(Labels.of(name__="http_request_duration_seconds_count", job="checkout"), ts, (n * 9.5).tolist())
    return st


def test_openslo_queries_are_counters_without_window_templates_and_mean_the_same() -> None:
    latency = """
apiVersion: sloguard/v1
service: checkout
slos:
  - name: latency
    objective: 99%
    sli: {latency: {metric: http_request_duration_seconds, threshold: 0.25, selector: job="checkout", buckets: [0.1, 0.25]}}
"""
    slos = _sloth(SLOTH) + load_text(latency, "native.yml")[0]
    text = dump_yaml(dump(slos, SpecFormat.OPENSLO))
    queries = _queries(list(yaml.safe_load_all(text)))
    assert len(queries) == 6 and not [q for q in queries if "{{" in q or "[" in q]
    plain, problems = load_text(_without_sloguard_annotations(text), "plain.yml")
    assert problems == [] and [s.sli.kind.value for s in plain] == ["ratio", "ratio", "ratio"]
    engine = PromQLEngine(_storage())
    for before, after in zip(slos, plain, strict=True):
        ratio = _error_ratio(engine, before, 3_600_000)
        assert 0.01 < ratio < 0.5
        assert _error_ratio(engine, after, 3_600_000) == pytest.approx(ratio, rel=1e-12), before.name
    exact, _ = load_text(text, "exact.yml")
    assert [s.sli for s in exact] == [s.sli for s in slos] and isinstance(exact[2].sli, LatencySLI)


def _convert(spec: Path, to: str, *flags: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["slo", "convert", str(spec), "--to", to, *flags])
    return result.exit_code, result.stdout, result.stderr


def test_a_query_that_needs_its_window_is_named_and_kept_out_of_openslo_queries(tmp_path: Path) -> None:
    spec = tmp_path / "sloth.yml"
    spec.write_text("""
version: prometheus/v1
service: s
slos:
  - name: doubled
    objective: 99
    sli:
      events:
        error_query: sum(increase(errors_total[{{.window}}])) / 60
        total_query: sum(rate(requests_total[{{.window}}]))
    alerting: {name: Doubled}
""")
    code, out, err = _convert(spec, "openslo")
    assert code == 0, err
    assert "note: SLO 'doubled': sli.events.error_query:" in err and "{{.window}}" in err
    assert "sli.events.total_query" not in err
    assert not [q for q in _queries(list(yaml.safe_load_all(out))) if "{{" in q]
    back, problems = load_text(out, "back.yml")
    assert problems == [] and back[0].sli.error_query == "sum(increase(errors_total[{{.window}}])) / 60"  # type: ignore[union-attr]


def test_openslo_keeps_grouping_min_events_runbook_no_data_and_tier_settings() -> None:
    slos, _ = load_text((SPECS / "native.yml").read_text(), "native.yml")
    text, back = _via(slos, SpecFormat.OPENSLO)
    assert "sloguard.dev/grouping: route" in text
    for a, b in zip(slos, back, strict=True):
        assert (b.grouping, b.alerting.min_events, b.alerting.runbook) == (a.grouping, a.alerting.min_events, a.alerting.runbook)
        assert b.alerting.no_data_for_ms == a.alerting.no_data_for_ms == 600_000
        assert b.period == a.period and b.sli == a.sli
        assert [(t.name, t.enabled, t.for_ms, t.windows, dict(t.labels)) for t in b.alerting.tiers] == \
               [(t.name, t.enabled, t.for_ms, t.windows, dict(t.labels)) for t in a.alerting.tiers]


def test_convert_to_sloth_names_every_field_it_drops(tmp_path: Path) -> None:
    spec = tmp_path / "native.yml"
    spec.write_text((SPECS / "native.yml").read_text().replace("      ticket: false", "      ticket: false\n      no_data: 5m"))
    code, out, err = _convert(spec, "sloth")
    assert code == 0, err
    for needle in ("'checkout-latency': grouping:", "'checkout-latency': alerting.min_events:",
                   "'checkout-latency': alerting.runbook:", "'checkout-latency': alerting.tiers.page.for_ms:",
                   "'checkout-latency': sli:", "'checkout-probe': period:", "'checkout-probe': alerting.no_data_for_ms:"):
        assert needle in err, needle
    assert "does not survive" not in err  # every loss is a named one
    doc = yaml.safe_load(out)
    assert doc["slos"][0]["alerting"]["annotations"]["runbook_url"] == "https://example.org/runbooks/checkout-latency"
    assert _convert(SPECS / "native.yml", "sloth", "--strict")[0] == 1
    assert _convert(SPECS / "native.yml", "openslo", "--strict") == (0, _convert(SPECS / "native.yml", "openslo")[1], "")


def test_convert_from_openslo_to_native_is_silent_and_exact() -> None:
    code, out, err = _convert(SPECS / "openslo.yml", "native")
    assert code == 0 and err == ""
    slos, _ = load_text((SPECS / "openslo.yml").read_text(), "o.yml")
    back, problems = load_text(out, "n.yml")
    assert problems == [] and [(s.period, s.budgeting, s.timeslice_ms, s.sli) for s in back] == \
        [(s.period, s.budgeting, s.timeslice_ms, s.sli) for s in slos]


def test_a_percent_objective_reads_as_the_exact_ratio() -> None:
    text = "apiVersion: sloguard/v1\nservice: s\nslos:\n  - {name: a, objective: 99.9%, sli: {ratio: {bad: e_total, total: t_total}}}\n"
    slos, problems = load_text(text, "n.yml")
    assert problems == [] and slos[0].objective == 0.999


def test_a_disabled_tier_keeps_its_labels_through_native() -> None:
    slos = _sloth(SLOTH)
    _, mid = _via(slos, SpecFormat.NATIVE)
    _, back = _via(mid, SpecFormat.SLOTH)
    page = back[0].alerting.tiers[0]
    assert not page.enabled and dict(page.labels) == {"severity": "page", "routing": "pager"}


OPENSLO_POLICIES = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: api, labels: {team: core}}
spec:
  service: api
  indicator:
    metadata: {name: api-errors}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code=~"5.."}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: http_requests_total}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.995}]
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: fast-burn, displayName: ApiFastBurn}
      spec:
        alertWhenBreaching: true
        conditions:
          - kind: AlertCondition
            metadata: {name: fast}
            spec: {severity: critical, condition: {kind: burnrate, op: OP, threshold: 13.44, lookbackWindow: 1h, alertAfter: 2m}}
        notificationTargets: [{targetRef: pager}]
    - alertPolicyRef: slow-burn
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: slow-burn}
spec:
  alertWhenBreaching: false
  conditions: [{conditionRef: slow}]
  notificationTargets: [{targetRef: elsewhere}]
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: slow}
spec: {severity: ticket, condition: {kind: burnrate, op: gte, threshold: 2.8, lookbackWindow: 1d}}
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata: {name: pager, labels: {route: oncall}}
spec: {target: pagerduty}
"""


def test_openslo_alert_policies_written_by_hand_become_tiers() -> None:
    slos, problems = load_text(OPENSLO_POLICIES.replace("OP", "gt"), "o.yml")
    assert problems == []
    a = slos[0].alerting
    fast, slow = a.tiers
    assert (fast.name, fast.enabled, fast.for_ms, dict(fast.labels)) == ("fast-burn", True, 120_000, {"severity": "critical"})
    assert fast.windows[0].long_ms == 3_600_000 and fast.windows[0].short_ms == 300_000 and fast.windows[0].factor == 13.44
    assert (slow.name, slow.enabled, dict(slow.labels)) == ("slow-burn", False, {"severity": "ticket"})
    assert a.name == "ApiFastBurn" and dict(a.labels) == {"route": "oncall"} and dict(slos[0].labels) == {"team": "core"}


def test_an_openslo_condition_below_its_threshold_is_refused_naming_the_key() -> None:
    _, problems = load_text(OPENSLO_POLICIES.replace("OP", "lte"), "o.yml")
    assert [str(p) for p in problems] == [
        "o.yml: documents[0].spec.alertPolicies[0].spec.conditions[0].spec.condition.op: a burn-rate alert "
        "fires when the burn rate is above its threshold: expected gt or gte, got 'lte'"]
