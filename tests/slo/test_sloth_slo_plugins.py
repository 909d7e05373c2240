"""Sloth's built-in SLO plugins against Sloth's own examples (tests/slo/specs/sloth_plugins:
Sloth's ``examples/*`` inputs and the ``examples/_gen`` rules Sloth wrote for them).

Each example must validate, and ``slo rules --compat sloth`` (with the ``--extra-labels
cmd=examplesgen.sh`` Sloth's generator script passes) must write the same groups: names,
intervals, rule names, labels, annotations and formatted PromQL, and the same bytes once
the generator's version string is the only difference. The rules are then evaluated on
synthetic traffic against hand-computed numbers, and deliberately broken rules must fail
those value checks.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import promql_parser
import pytest
import yaml
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.slo.compat import SLOTH_VERSION
from tests.slo._rule_values import Scenario, Value, check_sloguard, counter, firing

DATA = Path(__file__).parent / "specs" / "sloth_plugins"
EXAMPLES = ["slo-plugin-getting-started.yml", "slo-plugin-k8s-getting-started.yml",
            "contrib-slo-plugins.yml", "contrib-denominator-corrected.yaml"]


def _generate(path: Path, *extra: str) -> str:
    result = CliRunner().invoke(app, ["slo", "rules", "--compat", "sloth", "-l", "cmd=examplesgen.sh", str(path), *extra])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _sloths(name: str) -> str:
    """Sloth's output with its provenance line dropped and its version (``dev``) as ours."""
    text = (DATA / "_gen" / name).read_text().split("\n", 1)[1]
    return text.replace("Sloth (dev)", f"Sloth ({SLOTH_VERSION})").replace("sloth_version: dev", f"sloth_version: {SLOTH_VERSION}")


def _groups(text: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load(text)
    groups: list[dict[str, Any]] = doc["spec"]["groups"] if doc.get("kind") == "PrometheusRule" else doc["groups"]
    return groups


def _shape(groups: list[dict[str, Any]]) -> list[Any]:
    return [(g["name"], g.get("interval"),
             [(r.get("record"), r.get("alert"), r.get("for"), r.get("labels"), r.get("annotations"),
               promql_parser.parse(r["expr"]).prettify()) for r in g["rules"]]) for g in groups]


@pytest.mark.parametrize("name", EXAMPLES)
def test_sloths_plugin_examples_validate(name: str) -> None:
    result = CliRunner().invoke(app, ["slo", "validate", str(DATA / name)])
    assert result.exit_code == 0, result.output
    assert "SUCCESS" in result.output


@pytest.mark.parametrize("name", EXAMPLES)
def test_plugin_examples_give_sloths_groups_rules_labels_and_promql(name: str) -> None:
    got, want = _shape(_groups(_generate(DATA / name))), _shape(_groups(_sloths(name)))
    assert [g[:2] for g in got] == [g[:2] for g in want]
    for g, w in zip(got, want, strict=True):
        assert g == w, g[0]


@pytest.mark.parametrize("name", EXAMPLES)
def test_plugin_examples_are_byte_identical_to_sloths(name: str) -> None:
    assert _generate(DATA / name) == _sloths(name)


# ---- values ------------------------------------------------------------------------------
# Traffic of ``http_request_duration_seconds_count{job="myservice"}`` (the SLI of every
# example): 1000 requests/min without errors for minutes 0-70, then 100/min of which 10 fail
# (code 500). Checked at minute T=131: the 5m, 30m and 1h windows lie in the second phase
# (ratio 0.1), also at minute T-1; the 6h, 1d, 3d and 30d windows reach before t=0 and so
# cover [0, t] exactly (at T: 610 errors of 76,100). The denominator-corrected plugin weights a window's errors by its
# traffic over the period's: SLI_w = errors/s in W over requests/s in 30d (see below).

T, SWITCH = 131, 70
SERIES = 'http_request_duration_seconds_count{{job="myservice",code="{}"}}'
_S = {"5m": 300, "30m": 1800, "1h": 3600, "6h": 21600, "1d": 86400, "3d": 259200, "30d": 2592000}
_SHORT = ("5m", "30m", "1h")


def _series() -> dict[str, np.ndarray]:
    ok = np.where(np.arange(T) < SWITCH, 1000.0, 90.0)
    bad = np.where(np.arange(T) < SWITCH, 0.0, 10.0)
    return {SERIES.format(200): counter(ok, T), SERIES.format(500): counter(bad, T)}


def _total(t: int) -> int:
    """Requests from minute 0 to minute ``t`` (> SWITCH)."""
    return 1000 * SWITCH + 100 * (t - SWITCH)


def _rates(w: str) -> tuple[float, float]:
    """(errors/s, requests/s) over window ``w`` at minute T."""
    if w in _SHORT:
        return 10 / 60, 100 / 60
    return 10 * (T - SWITCH) / _S[w], _total(T) / _S[w]


def _plain_values(sid: str) -> list[Value]:
    sel = f'{{sloth_id="{sid}"}}'
    out = [Value(T, f"slo:sli_error:ratio_rate{w}{sel}", e / t) for w in _S if w not in ("30d",) for e, t in [_rates(w)]]
    budget = 1 - 0.999
    out += [Value(T, f"slo:error_budget:ratio{sel}", budget), Value(T, f"slo:objective:ratio{sel}", 0.999),
            Value(T, f"slo:current_burn_rate:ratio{sel}", 0.1 / budget), Value(T, f"sloth_slo_info{sel}", 1.0)]
    return out


def _corrected_values(sid: str) -> list[Value]:
    """The SLI group runs before the metadata group that records the correction, so an SLI
    at minute T reads the correction of minute T-1 (as in Prometheus, one interval late):
    for the short windows the period's requests of minute T-1 then; for the long ones the
    correction is 30d/W whatever the minute."""
    sel = f'{{sloth_id="{sid}"}}'
    period_total = _rates("30d")[1]
    out = []
    for w in _S:
        if w == "30d":
            continue
        err, total = _rates(w)
        late_period_total = _total(T - 1) / _S["30d"] if w in _SHORT else period_total
        out.append(Value(T, f"slo:sli_error:ratio_rate{w}{sel}", err / late_period_total))
        out.append(Value(T, f"slo:numerator_correction:ratio{w}{sel}", total / period_total))
    five = _rates("5m")[0] / (_total(T - 1) / _S["30d"])
    out.append(Value(T, f"slo:current_burn_rate:ratio{sel}", five / (1 - 0.999)))
    return out


def _alerts(name: str, sid: str) -> list[Value]:
    return [Value(T, firing(name, f'sloth_id="{sid}",sloth_severity="{s}"'), 1) for s in ("page", "ticket")]


_SID = "myservice-requests-availability"
VALUES = {
    "slo-plugin-getting-started.yml": _plain_values(_SID) + _alerts("MyServiceHighErrorRate", _SID),
    "slo-plugin-k8s-getting-started.yml": _plain_values(_SID) + _alerts("MyServiceHighErrorRate", _SID),
    "contrib-slo-plugins.yml": [
        *_plain_values(f"{_SID}-contrib-plugin-info-labels-v1"), *_plain_values(f"{_SID}-contrib-plugin-rule-intervals-v1"),
        Value(T, f'sloth_slo_info{{sloth_id="{_SID}-contrib-plugin-info-labels-v1",plug_l1="in-k1",plug_l3="in-k3"}}', 1),
        Value(T, f'sloth_slo_info{{sloth_id="{_SID}-contrib-plugin-rule-intervals-v1",plug_l1="in-k1"}}', None)],
    "contrib-denominator-corrected.yaml": _corrected_values("svc01-slo1") + _alerts("myServiceAlert", "svc01-slo1"),
}


def _scenario(name: str) -> Scenario:
    return Scenario(name, (), _series(), tuple(VALUES[name]))


def _rules(name: str) -> dict[str, Any]:
    """The example's rules for sloguard's ruler, which reads Prometheus 2 label names: the
    info_labels example's ``plug-l1`` (a Prometheus 3 UTF-8 name) is read as ``plug_l1``."""
    groups = _groups(_generate(DATA / name))
    for g in groups:
        for r in g["rules"]:
            r["labels"] = {k.replace("-", "_"): v for k, v in (r.get("labels") or {}).items()}
    return {"groups": groups}


@pytest.mark.parametrize("name", EXAMPLES)
def test_plugin_example_rules_compute_the_hand_computed_values(name: str, tmp_path: Path) -> None:
    assert check_sloguard(_rules(name), _scenario(name), tmp_path) == []


def _mutated(rules: dict[str, Any], fn: Any) -> dict[str, Any]:
    out = copy.deepcopy(rules)
    for g in out["groups"]:
        g["rules"] = [fn(r) for r in g["rules"]]
    return out


def _expr(pattern: str, repl: str, only: str = "") -> Any:
    def fn(r: dict[str, Any]) -> dict[str, Any]:
        name = r.get("record") or r.get("alert") or ""
        return {**r, "expr": re.sub(pattern, repl, r["expr"])} if name.startswith(only) else r
    return fn


def _drop_info_labels(r: dict[str, Any]) -> dict[str, Any]:
    labels = {k: v for k, v in (r.get("labels") or {}).items() if not k.startswith("plug_")}
    return {**r, "labels": labels} if r.get("record") == "sloth_slo_info" else r


MUTATIONS = {
    # the SLI loses its correction factor: a plain error ratio again
    "uncorrected": ("contrib-denominator-corrected.yaml", _expr(r"slo:numerator_correction:ratio\w+\{[^}]*\}\n\* on\(\)\n", "")),
    # the correction divides the period's traffic by the window's instead
    "inverted-correction": ("contrib-denominator-corrected.yaml",
                            _expr(r"^\((.*)\)/\((.*)\)$", r"(\2)/(\1)", "slo:numerator_correction")),
    # the correction compares the window with itself (always 1)
    "window-over-window": ("contrib-denominator-corrected.yaml",
                           _expr(r"\[30d\]", "[5m]", "slo:numerator_correction:ratio5m")),
    # info_labels' labels never reach sloth_slo_info
    "no-info-labels": ("contrib-slo-plugins.yml", _drop_info_labels),
    # the burn-rate factors are ten times too high (14.4 -> 144, 6 -> 60, ...)
    "factors-x10": ("slo-plugin-getting-started.yml", lambda r: {**r, "expr": re.sub(
        r"\((\d+(?:\.\d+)?) \* ", lambda m: f"({float(m.group(1)) * 10:g} * ", r["expr"])} if "alert" in r else r),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_each_mutation_of_the_plugin_rules_fails_a_value_check(mutation: str, tmp_path: Path) -> None:
    name, fn = MUTATIONS[mutation]
    rules = _rules(name)
    broken = _mutated(rules, fn)
    assert broken != rules, "the mutation changed nothing"
    assert check_sloguard(broken, _scenario(name), tmp_path) != []
