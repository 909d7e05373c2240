"""Alertmanager 0.25's own verdicts: config-validation cases (accept/refuse with its error text)
and the routing table of dispatch/route_test.go (receivers, options, route keys), also run
through the real `amtool` when it is installed."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloguard.alerting import AlertingConfigError, build_route, load_config
from sloguard.durations import parse_duration_ms
from tests.shared_paths import SHARED, needs

AM = SHARED / "conformance" / "alertmanager"
VALIDATION = AM / "config-validation-v0.25"
AMTOOL = shutil.which("amtool")


def _index() -> list[dict[str, Any]]:
    if not (VALIDATION / "INDEX.yml").is_file():
        return []
    return list(yaml.safe_load((VALIDATION / "INDEX.yml").read_text()))


def _route_cases() -> list[tuple[str, dict[str, Any]]]:
    path = AM / "route_match_cases.v0.25.yml"
    if not path.is_file():
        return []
    doc = yaml.safe_load(path.read_text())
    return [(tree, case) for tree, t in doc["trees"].items() for case in t["cases"]]


pytestmark = needs(AM)


@pytest.mark.parametrize("case", _index(), ids=lambda c: c["test"])
def test_config_validation_gives_alertmanagers_verdict_and_text(case: dict[str, Any]) -> None:
    path = VALIDATION / case["file"]
    expected = case["expected_error"]
    if expected is None:
        cfg = load_config(path)
        assert cfg.route.receiver
        return
    with pytest.raises(AlertingConfigError) as info:
        load_config(path)
    assert info.value.detail == expected
    assert str(path) in str(info.value)


def test_the_validation_index_is_not_empty() -> None:
    assert len(_index()) >= 19


@pytest.mark.skipif(AMTOOL is None, reason="amtool (Alertmanager 0.25) is not installed")
def test_amtool_agrees_with_the_recorded_verdicts() -> None:
    for case in _index():
        run = subprocess.run([str(AMTOOL), "check-config", str(VALIDATION / case["file"])],
                             capture_output=True, text=True, timeout=30, check=False)
        assert run.returncode == case["amtool_exit"], (case["test"], run.stdout)
        if case["amtool_error"]:
            assert case["amtool_error"] in run.stdout


def _ms(text: str) -> int:
    return parse_duration_ms(text)


@pytest.mark.parametrize(("tree", "case"), _route_cases(), ids=lambda x: x if isinstance(x, str) else str(x["labels"]))
def test_routing_gives_alertmanagers_routes(tree: str, case: dict[str, Any]) -> None:
    root = build_route(load_config(AM / f"route_tree_{tree}.alertmanager.yml").route)
    routes = root.match(case["labels"])
    assert [r.opts.receiver for r in routes] == case["expected_receivers"]
    assert [r.key for r in routes] == case["expected_keys"]
    for route, want in zip(routes, case["expected_route_opts"], strict=True):
        assert sorted(route.opts.group_by) == want["group_by"]
        assert route.opts.group_by_all is want["group_by_all"]
        assert route.opts.group_wait_ms == _ms(want["group_wait"])
        assert route.opts.group_interval_ms == _ms(want["group_interval"])
        assert route.opts.repeat_interval_ms == _ms(want["repeat_interval"])


def test_the_routing_table_covers_three_trees() -> None:
    assert {tree for tree, _ in _route_cases()} == {"match", "matchers", "mixed"}


@pytest.mark.skipif(AMTOOL is None, reason="amtool (Alertmanager 0.25) is not installed")
@pytest.mark.parametrize("tree", ["match", "matchers", "mixed"])
def test_amtool_routes_test_gives_the_same_receivers(tree: str, tmp_path: Path) -> None:
    config = AM / f"route_tree_{tree}.alertmanager.yml"
    root = build_route(load_config(config).route)
    probes = [case["labels"] for t, case in _route_cases() if t == tree]
    probes += [{"owner": "team-B"}, {"owner": "team-A", "level": "critical"}, {"env": "production", "owner": "team-A", "baz": "xquux"}, {}]
    for labels in probes:
        args = [f"{k}={v}" for k, v in labels.items()]
        run = subprocess.run([str(AMTOOL), "config", "routes", "test", "--config.file", str(config), *args],
                             capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path)
        ours = ",".join(r.opts.receiver for r in root.match(labels))
        assert run.stdout.strip().splitlines()[-1] == ours, labels


_VALUES = {"owner": ["team-A", "team-B", "team-C", "team-D"], "env": ["testing", "production", "prod", "unset"],
           "level": ["critical", "warn"], "baz": ["quux", "xquux"], "job": ["j"], "group_by": ["role", "x"],
           "wait": ["long", "short"]}


@pytest.mark.skipif(AMTOOL is None, reason="amtool (Alertmanager 0.25) is not installed")
@pytest.mark.parametrize("tree", ["match", "matchers", "mixed"])
def test_random_label_sets_reach_the_same_receivers_as_with_amtool(tree: str, tmp_path: Path) -> None:
    rng = random.Random(f"routes-{tree}")  # seeded: the same label sets on every run
    config = AM / f"route_tree_{tree}.alertmanager.yml"
    root = build_route(load_config(config).route)
    for _ in range(15):
        labels = {k: rng.choice(v) for k, v in _VALUES.items() if rng.random() < 0.5}
        run = subprocess.run([str(AMTOOL), "config", "routes", "test", "--config.file", str(config),
                              *(f"{k}={v}" for k, v in labels.items())],
                             capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path)
        assert run.stdout.strip().splitlines()[-1] == ",".join(r.opts.receiver for r in root.match(labels)), labels
