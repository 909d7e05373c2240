"""Differential: the rules generated for SLOs, evaluated by sloguard and by the real
Prometheus rule engine (``promtool test rules``) over the same input series, record the
same values and fire the same alerts at the same evaluation times.

sloguard runs the rules the way promtool does (every group at every evaluation
interval from t=0), then writes what it saw as the expectations of a promtool unit-test
file; the real promtool must agree with every recorded value and every firing alert
(labels and expanded annotations) at every checked time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import AlertState, ManagerOptions, RuleManager, engine_query_func
from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_text
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

pytestmark = [pytest.mark.peer, pytest.mark.slow]
M = 60_000
MINUTES = 150
SPEC = """
apiVersion: sloguard/v1
service: api
slos:
  - name: api-availability
    objective: 99.5
    grouping: [route]
    sli: {ratio: {bad: 'requests_total{job="api",code="500"}', total: 'requests_total{job="api"}'}}
    alerting:
      runbook: https://runbooks.example/api
      min_events: 10
      page: {for: 2m}
  - name: api-latency
    objective: 99
    sli:
      latency: {metric: request_seconds, threshold: 0.5, selector: 'job="api"', buckets: [0.1, 0.5, 1]}
    alerting: {no_data: 5m}
"""


def _traffic() -> dict[str, np.ndarray]:
    """Per-minute counters: route a has an outage at 60-70m then 1% errors; route b a
    slow 0.3% error rate; latency histogram degrades from 80m."""
    t = np.arange(MINUTES + 1)
    per_min = 600.0
    frac_a = np.where((t > 60) & (t <= 70), 1.0, np.where(t > 70, 0.01, 0.0))
    frac_b = np.full(len(t), 0.003)
    out = {}
    for route, frac in (("a", frac_a), ("b", frac_b)):
        out[f'requests_total{{job="api",route="{route}",code="500"}}'] = np.cumsum(per_min * frac)
        out[f'requests_total{{job="api",route="{route}",code="200"}}'] = np.cumsum(per_min * (1 - frac))
    slow = np.where(t > 80, 0.2, 0.001)
    shares = {"0.1": 0.9 - slow, "0.5": 1 - slow, "1": 1 - slow / 2, "+Inf": np.ones(len(t))}
    for le, share in shares.items():
        out[f'request_seconds_bucket{{job="api",le="{le}"}}'] = np.cumsum(per_min * share)
    out['request_seconds_count{job="api"}'] = out['request_seconds_bucket{job="api",le="+Inf"}']
    return out


def _labels(series: str) -> Labels:
    from sloguard.promql import parse_matchers_text

    return Labels((m.name, m.value) for m in parse_matchers_text(series))


def _sloguard_run(tmp: Path, rules_file: Path, traffic: dict[str, np.ndarray], alert_times: list[int], expr_times: list[int]) -> tuple[dict[int, dict[str, list[Any]]], list[dict[str, Any]]]:
    db = TSDB.open(tmp / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    engine = PromQLEngine(db)
    query = engine_query_func(engine)
    groups = list(RuleManager(ManagerOptions(query=query, storage=db)).load_groups([str(rules_file)], M).values())
    order = [g["name"] for g in rulegen.generate(load_text(SPEC, "spec.yml")[0], M)["groups"]]
    groups.sort(key=lambda g: order.index(g.name))
    for g in groups:
        for r in g.alerting_rules():
            r.restored = True
    alerts: dict[int, dict[str, list[Any]]] = {}
    try:
        for i in range(MINUTES + 1):
            ts = i * M
            app = db.appender()
            for series, values in traffic.items():
                app.append(_labels(series), ts, float(values[i]))
            assert app.commit().rejected_total == 0
            for g in groups:
                g.eval(ts)
                bad = [r.status.last_error for r in g.rules if r.status.last_error]
                assert not bad, bad
            if ts in alert_times:
                alerts[ts] = {}
                for g in groups:
                    for r in g.alerting_rules():
                        firing = [a for a in r.active_alerts() if a.state == AlertState.FIRING]
                        alerts[ts].setdefault(r.name, []).extend(firing)
        records = sorted({r.name for g in groups for r in g.rules if not hasattr(r, "active_alerts")})
        exprs = []
        for ts in expr_times:
            for rec in records:
                vec = query(rec, ts)
                exprs.append({"expr": rec, "eval_time": f"{ts // M}m", "exp_samples": [
                    {"labels": str(s.labels), "value": s.v} for s in vec]})
    finally:
        db.close()
    return alerts, exprs


def _alert_cases(alerts: dict[int, dict[str, list[Any]]]) -> list[dict[str, Any]]:
    cases = []
    for ts, by_name in sorted(alerts.items()):
        for name, firing in sorted(by_name.items()):
            cases.append({"eval_time": f"{ts // M}m", "alertname": name, "exp_alerts": [
                {"exp_labels": {k: v for k, v in a.labels if k != "alertname"},
                 "exp_annotations": dict(a.annotations)} for a in firing]})
    return cases


def test_generated_slo_rules_match_the_real_prometheus_rule_engine(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH (scripts/install-peers installs it)")
    slos, problems = load_text(SPEC, "spec.yml")
    assert problems == []
    rules_file = tmp_path / "slo.rules.yml"
    rules_file.write_text(dump_yaml([rulegen.generate(slos, M)]))
    traffic = _traffic()
    alert_times = [t * M for t in range(0, MINUTES + 1, 3)]
    expr_times = [t * M for t in (1, 5, 30, 61, 63, 66, 70, 75, 90, 120, MINUTES)]
    alerts, exprs = _sloguard_run(tmp_path, rules_file, traffic, alert_times, expr_times)
    fired = {n for by in alerts.values() for n, a in by.items() if a}
    assert {"ApiAvailabilityBudgetBurn", "ApiLatencyBudgetBurn"} <= fired, fired
    assert sum(len(e["exp_samples"]) for e in exprs) > 100
    test_file = tmp_path / "slo.test.yml"
    test_file.write_text(dump_yaml([{
        "rule_files": [rules_file.name],
        "evaluation_interval": "1m",
        # promtool evaluates groups in map order unless told; sloguard runs them in file order
        "group_eval_order": [g["name"] for g in rulegen.generate(slos, M)["groups"]],
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": s, "values": " ".join(repr(float(v)) for v in vals)} for s, vals in traffic.items()],
            "alert_rule_test": _alert_cases(alerts),
            "promql_expr_test": exprs,
        }],
    }]))
    proc = subprocess.run(["promtool", "test", "rules", test_file.name], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        _assert_only_float_noise(out)


_SAMPLE = re.compile(r"(\{[^}]*\}) (-?[\d.]+E[+-]\d+|NaN|[+-]Inf)")


def _assert_only_float_noise(out: str) -> None:
    """promtool compares floats exactly; accept only differences below 1e-9 relative."""
    blocks = out.split("expr: ")[1:]
    assert blocks and "alertname:" not in out, out[:4000]
    for block in blocks:
        exp_line = block.split("exp:", 1)[1].split("got:", 1)[0]
        got_line = block.split("got:", 1)[1]
        exp, got = _SAMPLE.findall(exp_line), _SAMPLE.findall(got_line)
        assert [e[0] for e in exp] == [g[0] for g in got], block[:2000]
        for (_, ev), (_, gv) in zip(exp, got, strict=True):
            a, b = float(ev), float(gv)
            assert abs(a - b) <= 1e-9 * max(abs(a), abs(b)), block[:2000]
