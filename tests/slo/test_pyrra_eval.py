"""Pyrra-form rules (``slo rules --compat pyrra``) evaluated on synthetic series, by sloguard's
rule engine (``sloguard test rules``) and by the real Prometheus (``promtool test rules``),
against values and alert states computed here by hand. Both engines compare floats exactly;
a value may differ from the hand computation in its last bit (both engines agree with each
other there), so value mismatches below 1e-9 relative are accepted; alert states are exact.

Traffic: 10 requests a minute sampled every 30s for 2.5h; every request fails from 60m to 90m
(steps 121..180). The same outage is written for a ratio SLI (errors/total counters), a
latency SLI (requests slower than the 0.5s bucket) and a bool gauge (a probe at 0), all at
99% over 4w, so Pyrra's four alerts have one schedule (rules evaluated every minute):

* fast (5m and 1h over 14 x 1%, for 2m): true from 68.5m (1h holds 85 of 600 failed),
  active at 69m, firing 71m, resolved at 95m when the 5m window has cleared;
* medium (30m and 6h over 7 x 1%, for 15m): active 65m, firing 80m, resolved by 118.5m;
* slow (2h and 1d over 2 x 1%, for 1h): true from 61.5m, active 62m, firing 122m;
* long-term (6h and 4d over 1%, for 3h): active 61m, still pending at 2.5h.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sloguard.rules.unittest import run_rule_tests
from sloguard.slo import _compat_pyrra
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_text
from tests.slo.test_differential_promtool import _assert_only_float_noise

STEPS = 300  # 30s steps: 2.5h
STEP_S = 30
OUTAGE = range(121, 181)
WINDOWS_S = {"5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400, "4d": 345600}
FIRING = {70: [], 71: ["fast"], 80: ["fast", "medium"], 95: ["medium"], 121: [], 122: ["slow"], 150: ["slow"]}
TIERS = {"fast": ("5m", "1h", "critical", "2d"), "medium": ("30m", "6h", "critical", "4d"),
         "slow": ("2h", "1d", "warning", "2w"), "long": ("6h", "4d", "warning", "4w")}


def _spec(name: str, indicator: str) -> str:
    return (f"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {{name: {name}}}\n"
            f"spec:\n  target: '99'\n  window: 4w\n  indicator:\n{indicator}")


def _cumsum(per_step: Callable[[int], float]) -> list[float]:
    out, acc = [0.0], 0.0
    for k in range(1, STEPS + 1):
        acc += per_step(k)
        out.append(acc)
    return out


BAD = _cumsum(lambda k: 5.0 if k in OUTAGE else 0.0)
GOOD = _cumsum(lambda k: 0.0 if k in OUTAGE else 5.0)
TOTAL = _cumsum(lambda k: 5.0)
PROBE = [0.0 if k in OUTAGE else 1.0 for k in range(STEPS + 1)]


def _delta(series: list[float], k: int, w_s: int) -> float:
    return series[k] - series[max(0, k - w_s // STEP_S)]


def _ratio_burn(k: int, w_s: int) -> float:
    """sum(rate(errors)) / sum(rate(total)): no extrapolation (windows start on a sample or
    before a counter's zero), so each rate is its increase over the range in seconds."""
    e, g = _delta(BAD, k, w_s) / w_s, _delta(GOOD, k, w_s) / w_s
    return e / (g + e)


def _latency_burn(k: int, w_s: int) -> float:
    total, fast = _delta(TOTAL, k, w_s) / w_s, _delta(GOOD, k, w_s) / w_s
    return (total - fast) / total


def _bool_burn(k: int, w_s: int) -> float:
    """(count_over_time - sum_over_time) / count_over_time: the range includes both ends."""
    window = PROBE[max(0, k - w_s // STEP_S): k + 1]
    n = float(len(window))
    return (n - sum(window)) / n


def _series(values: list[float]) -> str:
    return " ".join(repr(v) for v in values)


SCENARIOS: dict[str, dict[str, Any]] = {
    "ratio": {
        "spec": _spec("http-errors", "    ratio:\n      errors: {metric: 'http_requests_total{job=\"app\",code=~\"5..\"}'}\n"
                      "      total: {metric: 'http_requests_total{job=\"app\"}'}\n"),
        "series": {'http_requests_total{job="app",code="200"}': GOOD, 'http_requests_total{job="app",code="500"}': BAD},
        "burn": ("http_requests", _ratio_burn, {"job": "app"}),
        "increase": [("http_requests:increase4w", {"code": "200", "job": "app"}, GOOD[STEPS]),
                     ("http_requests:increase4w", {"code": "500", "job": "app"}, BAD[STEPS])],
        "availability": 1 - BAD[STEPS] / (GOOD[STEPS] + BAD[STEPS]),
    },
    "latency": {
        "spec": _spec("http-latency", "    latency:\n      success: {metric: 'req_seconds_bucket{job=\"app\",le=\"0.5\"}'}\n"
                      "      total: {metric: 'req_seconds_count{job=\"app\"}'}\n"),
        "series": {'req_seconds_bucket{job="app",le="0.5"}': GOOD, 'req_seconds_bucket{job="app",le="+Inf"}': TOTAL,
                   'req_seconds_count{job="app"}': TOTAL},
        "burn": ("req_seconds", _latency_burn, {"job": "app"}),
        "increase": [("req_seconds:increase4w", {"job": "app", "le": ""}, TOTAL[STEPS]),
                     ("req_seconds:increase4w", {"job": "app", "le": "0.5"}, GOOD[STEPS])],
        "availability": GOOD[STEPS] / TOTAL[STEPS],
    },
    "bool_gauge": {
        "spec": _spec("probe", "    bool_gauge: {metric: 'probe_success{job=\"app\"}'}\n"),
        "series": {'probe_success{job="app"}': PROBE},
        "burn": ("probe_success", _bool_burn, {"job": "app"}),
        "increase": [("probe_success:count4w", {"job": "app"}, float(STEPS + 1)),
                     ("probe_success:sum4w", {"job": "app"}, float(sum(PROBE)))],
        "availability": sum(PROBE) / (STEPS + 1),
    },
}


def _alert_tests(slo: str, burn: tuple[str, Any, dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for minute, tiers in FIRING.items():
        exp = [{"exp_labels": {**burn[2], "slo": slo, "short": TIERS[t][0], "long": TIERS[t][1],
                               "severity": TIERS[t][2], "exhaustion": TIERS[t][3]}} for t in tiers]
        out.append({"eval_time": f"{minute}m", "alertname": "ErrorBudgetBurn", "exp_alerts": exp})
    out.append({"eval_time": "150m", "alertname": "SLOMetricAbsent", "exp_alerts": []})
    return out


def _expr_tests(slo: str, sc: dict[str, Any]) -> list[dict[str, Any]]:
    base, fn, labels = sc["burn"]
    out = []
    for minute in (66, 75, 100, 150):
        for w, w_s in WINDOWS_S.items():
            exp = [{"labels": dump_labels(f"{base}:burnrate{w}", {**labels, "slo": slo}), "value": fn(minute * 2, w_s)}]
            out.append({"expr": f"{base}:burnrate{w}", "eval_time": f"{minute}m", "exp_samples": exp})
    for name, lbls, value in sc["increase"]:
        sel = ",".join(f'{k}="{v}"' for k, v in lbls.items())
        out.append({"expr": f"{name}{{{sel}}}", "eval_time": "150m",
                    "exp_samples": [{"labels": dump_labels(name, {**lbls, "slo": slo}), "value": value}]})  # le="" is no label
    out.append({"expr": "pyrra_availability", "eval_time": "150m",
                "exp_samples": [{"labels": dump_labels("pyrra_availability", {"slo": slo}), "value": sc["availability"]}]})
    return out


def dump_labels(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if v) + "}"


def _write(tmp: Path, kind: str) -> Path:
    sc = SCENARIOS[kind]
    slos, problems = load_text(sc["spec"], f"{kind}.yaml")
    assert problems == []
    rules = _compat_pyrra.generate(slos, generic_rules=True)
    (tmp / "rules.yml").write_text(dump_yaml([rules]))
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m",
            "group_eval_order": [g["name"] for g in rules["groups"]],
            "tests": [{"interval": "30s",
                       "input_series": [{"series": s, "values": _series(v)} for s, v in sc["series"].items()],
                       "alert_rule_test": _alert_tests(slos[0].name, sc["burn"]),
                       "promql_expr_test": _expr_tests(slos[0].name, sc)}]}
    (tmp / "test.yml").write_text(dump_yaml([test]))
    return tmp / "test.yml"


@pytest.mark.parametrize("kind", list(SCENARIOS))
def test_pyrra_rules_in_sloguards_rule_engine(tmp_path: Path, kind: str) -> None:
    test_file = _write(tmp_path, kind)
    out: list[str] = []
    if run_rule_tests([str(test_file)], out.append, out.append) != 0:
        _assert_only_float_noise("\n".join(out))


@pytest.mark.peer
@pytest.mark.parametrize("kind", list(SCENARIOS))
def test_pyrra_rules_in_promtool(tmp_path: Path, kind: str) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH (scripts/install-peers installs it)")
    _write(tmp_path, kind)
    proc = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        _assert_only_float_noise(proc.stdout + proc.stderr)


def test_absent_alert_fires_after_pyrras_for_duration(tmp_path: Path) -> None:
    """No SLI series at all: ``SLOMetricAbsent`` is pending until 10m (14 x 1% of 1h, + 2m,
    rounded), then firing with the SLO's labels and Pyrra's default severity."""
    slos, _ = load_text(SCENARIOS["ratio"]["spec"], "r.yaml")
    (tmp_path / "rules.yml").write_text(dump_yaml([_compat_pyrra.generate(slos)]))
    labels = {"job": "app", "slo": "http-errors", "severity": "critical"}
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "30s", "tests": [{
        "interval": "30s", "input_series": [{"series": "unrelated", "values": "1+0x40"}],
        "alert_rule_test": [{"eval_time": "9m30s", "alertname": "SLOMetricAbsent", "exp_alerts": []},
                            {"eval_time": "10m", "alertname": "SLOMetricAbsent", "exp_alerts": [{"exp_labels": labels}]}]}]}
    (tmp_path / "test.yml").write_text(dump_yaml([test]))
    out: list[str] = []
    assert run_rule_tests([str(tmp_path / "test.yml")], out.append, out.append) == 0, "\n".join(out)
    if shutil.which("promtool"):
        proc = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_grouped_pyrra_rules_alert_only_for_the_failing_group(tmp_path: Path) -> None:
    """``grouping: [route]``: route a has the outage, route b none. Each route gets its own
    burn-rate series (labelled ``route``); only route a's fast alert fires at 71m."""
    spec = _spec("grouped", "    ratio:\n      errors: {metric: 'http_requests_total{job=\"app\",code=~\"5..\"}'}\n"
                 "      total: {metric: 'http_requests_total{job=\"app\"}'}\n      grouping: [route]\n")
    slos, problems = load_text(spec, "grouped.yaml")
    assert problems == []
    (tmp_path / "rules.yml").write_text(dump_yaml([_compat_pyrra.generate(slos)]))
    series = {'http_requests_total{job="app",route="a",code="200"}': GOOD[:151], 'http_requests_total{job="app",route="a",code="500"}': BAD[:151],
              'http_requests_total{job="app",route="b",code="200"}': TOTAL[:151], 'http_requests_total{job="app",route="b",code="500"}': [0.0] * 151}
    labels = {"job": "app", "slo": "grouped", "route": "a", "short": "5m", "long": "1h", "severity": "critical", "exhaustion": "2d"}
    burn = [{"labels": dump_labels("http_requests:burnrate1h", {"job": "app", "slo": "grouped", "route": r}), "value": v}
            for r, v in (("a", _ratio_burn(150, 3600)), ("b", 0.0))]
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "30s", "input_series": [{"series": s, "values": _series(v)} for s, v in series.items()],
        "alert_rule_test": [{"eval_time": "70m", "alertname": "ErrorBudgetBurn", "exp_alerts": []},
                            {"eval_time": "71m", "alertname": "ErrorBudgetBurn", "exp_alerts": [{"exp_labels": labels}]}],
        "promql_expr_test": [{"expr": "http_requests:burnrate1h", "eval_time": "75m", "exp_samples": burn}]}]}
    (tmp_path / "test.yml").write_text(dump_yaml([test]))
    out: list[str] = []
    if run_rule_tests([str(tmp_path / "test.yml")], out.append, out.append) != 0:
        _assert_only_float_noise("\n".join(out))
    if shutil.which("promtool"):
        proc = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            _assert_only_float_noise(proc.stdout + proc.stderr)


def test_sloguards_own_rules_for_a_pyrra_spec_follow_pyrras_policy(tmp_path: Path) -> None:
    """``slo rules`` without ``--compat`` on a Pyrra spec: sloguard's recordings with Pyrra's
    four tiers. A total outage from T0 (10 req/s, 99%): the 1h ratio passes 14% at T0+9m
    (9 of 60 minutes failed is 15%), so ``fastBurn`` is active then and fires 2m later."""
    from sloguard.slo.testing import SimWorld

    spec = _spec("api-errors", "    ratio:\n      errors: {metric: 'requests_total{job=\"api\",code=\"500\"}'}\n"
                 "      total: {metric: 'requests_total{job=\"api\"}'}\n")
    slos, problems = load_text(spec, "api.yaml")
    assert problems == []
    t0, m = 1_700_000_000_000, 60_000
    world = SimWorld(tmp_path, slos[0])
    try:
        world.write_traffic(t0 - 120 * m, t0 + 15 * m, 15_000, 10, lambda ts: (ts > t0).astype(float))
        world.run(t0 - 10 * m, t0 + 15 * m)
        assert world.first("fastBurn", "pending") == t0 + 9 * m
        assert world.first("fastBurn", "firing") == t0 + 11 * m
        assert {t.tier for t in world.transitions if t.state == "firing"} == {"fastBurn"}
    finally:
        world.close()
