"""Value checks for generated SLO rules: synthetic series in, hand-computed numbers and
alert states out, evaluated by sloguard's rule engine or by ``promtool test rules``.

A ``Scenario`` holds spec texts, per-minute counter values from t=0 (every counter starts
at 0 at t=0, so ``rate`` never extrapolates and a window that reaches before t=0 simply
covers [0, t]), and expectations. Every expectation is a PromQL query at a minute, so the
same list drives both engines: a number (one series, within 1e-9), or ``None`` (no
series). Alert states are read from the ``ALERTS`` series. ``AlertText`` pins one firing
alert's full labels and annotations.

``check_sloguard(rules, scenario, tmp)`` and ``check_promtool(...)`` return the list of
mismatches (empty when every expectation holds), so the mutation tests can call them with
a deliberately broken rule set and assert that something is reported.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sloguard.labels import Labels
from sloguard.promql import parse_matchers_text
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import AlertState, ManagerOptions, RuleManager, engine_query_func
from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_text
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

M = 60_000


@dataclass(frozen=True)
class Value:
    """``query`` at ``minute`` returns one series equal to ``value`` (None: no series)."""

    minute: int
    query: str
    value: float | None


@dataclass(frozen=True)
class AlertText:
    """At ``minute`` the only firing alert of ``alertname`` has exactly these labels and annotations."""

    minute: int
    alertname: str
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class Scenario:
    name: str
    specs: tuple[str, ...]
    series: dict[str, np.ndarray]
    values: tuple[Value, ...]
    texts: tuple[AlertText, ...] = ()
    minutes: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "minutes", max([v.minute for v in self.values] + [t.minute for t in self.texts]))

    def rules(self) -> dict[str, Any]:
        slos = []
        for i, text in enumerate(self.specs):
            loaded, problems = load_text(text, f"{self.name}-{i}.yml")
            assert problems == [], problems
            slos.extend(loaded)
        return rulegen.generate(slos, M)


def firing(alertname: str, matchers: str = "", state: str = "firing") -> str:
    extra = f",{matchers}" if matchers else ""
    return f'count(ALERTS{{alertname="{alertname}",alertstate="{state}"{extra}}})'


def counter(per_minute: np.ndarray | float, minutes: int) -> np.ndarray:
    """A counter at 0 at t=0 that grows by ``per_minute[i]`` during minute i (constant if a number)."""
    inc = np.broadcast_to(np.asarray(per_minute, dtype=float), (minutes,))
    return np.concatenate([[0.0], np.cumsum(inc)])


# ---- sloguard ---------------------------------------------------------------------------


def _labels(series: str) -> Labels:
    return Labels((m.name, m.value) for m in parse_matchers_text(series))


def _mismatch(v: Value, got: list[tuple[str, float]]) -> str | None:
    where = f"minute {v.minute}: {v.query}"
    if v.value is None:
        return None if not got else f"{where}: expected no series, got {got}"
    if len(got) != 1:
        return f"{where}: expected one series = {v.value!r}, got {got}"
    x = got[0][1]
    if math.isclose(x, v.value, rel_tol=1e-9, abs_tol=1e-12):
        return None
    return f"{where}: expected {v.value!r}, got {x!r}"


def _alert_mismatch(t: AlertText, alerts: list[tuple[dict[str, str], dict[str, str]]]) -> str | None:
    want = ({"alertname": t.alertname, **t.labels}, t.annotations)
    if alerts == [want]:
        return None
    return f"minute {t.minute}: {t.alertname} firing {alerts}, expected [{want}]"


def check_sloguard(rules: dict[str, Any], sc: Scenario, tmp: Path) -> list[str]:
    """Evaluate ``rules`` as promtool does (every group at every minute from t=0, in file
    order) over the scenario's series; the mismatches with its expectations."""
    tmp.mkdir(parents=True, exist_ok=True)
    rules_file = tmp / "rules.yml"
    rules_file.write_text(dump_yaml([rules]))
    db = TSDB.open(tmp / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    try:
        query = engine_query_func(PromQLEngine(db))
        groups = list(RuleManager(ManagerOptions(query=query, storage=db)).load_groups([str(rules_file)], M).values())
        order = [g["name"] for g in rules["groups"]]
        groups.sort(key=lambda g: order.index(g.name))
        for g in groups:
            for r in g.alerting_rules():
                r.restored = True
        return _run(sc, db, groups, query)
    finally:
        db.close()


def _run(sc: Scenario, db: TSDB, groups: list[Any], query: Any) -> list[str]:
    out: list[str] = []
    labels = {s: _labels(s) for s in sc.series}
    for minute in range(sc.minutes + 1):
        ts = minute * M
        app = db.appender()
        for s, values in sc.series.items():
            app.append(labels[s], ts, float(values[minute]))
        assert app.commit().rejected_total == 0
        for g in groups:
            g.eval(ts)
            bad = [r.status.last_error for r in g.rules if r.status.last_error]
            if bad:
                return [f"minute {minute}: rule evaluation failed: {bad[0]}"]
        for v in (v for v in sc.values if v.minute == minute):
            got = [(str(s.labels), s.v) for s in query(v.query, ts)]
            out += [m for m in [_mismatch(v, got)] if m]
        for t in (t for t in sc.texts if t.minute == minute):
            out += [m for m in [_alert_mismatch(t, _firing(groups, t.alertname))] if m]
    return out


def _firing(groups: list[Any], name: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    return [
        (a.labels.to_dict(), dict(a.annotations))
        for g in groups for r in g.alerting_rules() if r.name == name
        for a in r.active_alerts() if a.state == AlertState.FIRING
    ]


# ---- promtool ---------------------------------------------------------------------------


def _expr_test(v: Value) -> dict[str, Any]:
    if v.value is None:
        return {"expr": v.query, "eval_time": f"{v.minute}m", "exp_samples": []}
    tol = 1e-9 * max(1.0, abs(v.value))
    expr = f"count(abs(({v.query}) - ({v.value!r})) <= {tol!r})"
    return {"expr": expr, "eval_time": f"{v.minute}m", "exp_samples": [{"labels": "{}", "value": 1}]}


def promtool_test_file(rules_name: str, rules: dict[str, Any], sc: Scenario) -> dict[str, Any]:
    return {
        "rule_files": [rules_name],
        "evaluation_interval": "1m",
        "group_eval_order": [g["name"] for g in rules["groups"]],
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": s, "values": " ".join(repr(float(x)) for x in vals)} for s, vals in sc.series.items()],
            "promql_expr_test": [_expr_test(v) for v in sc.values],
            "alert_rule_test": [
                {"eval_time": f"{t.minute}m", "alertname": t.alertname,
                 "exp_alerts": [{"exp_labels": t.labels, "exp_annotations": t.annotations}]}
                for t in sc.texts
            ],
        }],
    }


def check_promtool(rules: dict[str, Any], sc: Scenario, tmp: Path) -> list[str]:
    """Run the same expectations through ``promtool test rules``; its complaints, if any."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "rules.yml").write_text(dump_yaml([rules]))
    (tmp / "test.yml").write_text(dump_yaml([promtool_test_file("rules.yml", rules, sc)]))
    proc = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp, capture_output=True, text=True, timeout=300)
    return [] if proc.returncode == 0 else [(proc.stdout + proc.stderr)[:6000]]
