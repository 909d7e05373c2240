"""Every panel query of the exported dashboards parses with sloguard's PromQL parser and,
on three hours of demo-shaped data (raw series, the SLO records and ALERTS produced by
evaluating the generated rules, the proxy's RED series), returns the numbers computed here
by hand from that data (see ``_world``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sloguard.dashboards import DashboardError, build_all, check, export, slo_uid
from sloguard.dashboards.overview import COLUMNS
from tests.dashboards import _world as w
from tests.dashboards._evaluate import Result, by_panel, empty, evaluate

BUDGET = {"demo-availability": 0.005, "demo-latency": 0.01}
#: /search's error ratio: 150 minutes at 0.2% then 30 at 20% (the whole data is in the period).
SEARCH_PERIOD = (150 * w.BASE_ERRORS + 30 * w.INCIDENT_ERRORS) / 180
SEARCH_1H = (w.BASE_ERRORS + w.INCIDENT_ERRORS) / 2
LATENCY_RATIO = 1 - w.LATENCY_SHARES["0.25"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[w.World]:
    world = w.build(tmp_path_factory.mktemp("dash"))
    yield world
    world.db.close()


@pytest.fixture(scope="module")
def boards(world: w.World) -> dict[str, dict[str, Any]]:
    return build_all(world.slos, [w.PROXY_SERVICE])


def _results(world: w.World, board: dict[str, Any]) -> dict[tuple[str, str], Result]:
    return by_panel(evaluate(world.engine, board, w.END))


def test_every_query_parses_with_sloguards_parser(boards: dict[str, dict[str, Any]]) -> None:
    assert len(boards) == 4
    for board in boards.values():
        assert check(board) == []


def test_every_panel_query_returns_data_on_the_demo(world: w.World, boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        results = [r for r in evaluate(world.engine, board, w.END) if not r.panel.startswith("annotation ")]
        assert results and empty(results) == []


def test_alert_annotations_mark_what_fires(world: w.World) -> None:
    """Annotations are empty while nothing fires, so they are checked apart: the page
    alert for /search marks the availability SLO's graphs and the demo service's RED."""
    boards = build_all(world.slos, ["demo"])
    marks = {(b["title"], r.panel): r for b in boards.values() for r in evaluate(world.engine, b, w.END)
             if r.panel.startswith("annotation ")}
    avail = marks[("SLO demo / demo-availability", "annotation Alerts firing")]
    # the ticket pairs fire first (their 1.5% threshold is crossed ~10 minutes into the
    # incident) until the page pairs (7.2%, 3%) fire and supersede them
    assert {(dict(k)["sloguard_tier"], dict(k)["sloguard_long"]) for k in avail.series} == {
        ("page", "1h"), ("page", "6h"), ("ticket", "1d"), ("ticket", "3d")}
    assert {dict(k)["route"] for k in avail.series} == {"/search"}
    assert marks[("SLO demo / demo-latency", "annotation Alerts firing")].series == {}
    service = marks[("Rollout demo: per-version RED", "annotation demo SLO alerts firing")]
    assert service.series.keys() == avail.series.keys()


def test_overview_shows_each_slos_worst_group(world: w.World, boards: dict[str, dict[str, Any]]) -> None:
    r = _results(world, boards["sloguard-overview.json"])
    col = {name: r[("SLOs", ref)] for ref, name in zip("ABCDE", COLUMNS, strict=True)}
    avail, lat = {"slo": "demo-availability"}, {"slo": "demo-latency"}
    assert col["SLI"].value(**avail) == pytest.approx(1 - SEARCH_PERIOD)
    assert col["SLI"].value(**lat) == pytest.approx(1 - LATENCY_RATIO)
    assert col["Objective"].value(**avail) == pytest.approx(0.995)
    assert col["Budget remaining"].value(**avail) == pytest.approx(1 - SEARCH_PERIOD / 0.005)
    assert col["Budget remaining"].value(**lat) == pytest.approx(0.5)
    assert col["Burn rate (1h)"].value(**avail) == pytest.approx(SEARCH_1H / 0.005)
    assert col["Alert state"].value(**avail) == 3  # the page alert fires for /search
    assert col["Alert state"].value(**lat) == 0
    assert len(col["SLI"].series) == 2  # one row per SLO, not per route
    assert r[("Error budget remaining", "A")].value(**avail) == pytest.approx(-6.0)


def test_slo_dashboard_values(world: w.World, boards: dict[str, dict[str, Any]]) -> None:
    r = _results(world, boards[f"{slo_uid(world.slos[0])}.json"])
    search, checkout = {"route": "/search"}, {"route": "/checkout"}
    assert r[("SLI", "A")].value(**search) == pytest.approx(1 - w.INCIDENT_ERRORS)
    assert r[("SLI", "B")].value(**checkout) == pytest.approx(1 - w.BASE_ERRORS)
    assert r[("SLI", "B")].value(**search) == pytest.approx(1 - SEARCH_PERIOD)  # over the period, not 5m
    assert r[("SLI (rolling 30d)", "A")].value(**search) == pytest.approx(1 - SEARCH_PERIOD)
    assert r[("Error budget remaining", "A")].value(**checkout) == pytest.approx(1 - w.BASE_ERRORS / 0.005)
    assert r[("Burn rate (1h)", "A")].value(**search) == pytest.approx(SEARCH_1H / 0.005)
    page = r[("Burn rate page: 1h/5m at 14.4x", "A")], r[("Burn rate page: 1h/5m at 14.4x", "B")]
    assert page[0].value(**search) == pytest.approx(SEARCH_1H / 0.005)
    assert page[1].value(**search) == pytest.approx(w.INCIDENT_ERRORS / 0.005)
    assert page[1].value(**checkout) == pytest.approx(w.BASE_ERRORS / 0.005)
    states = r[("Alert state by tier", "A")]
    assert states.value(sloguard_tier="page") == 2 and states.value(sloguard_tier="ticket") == 0
    assert r[("Alert state", "A")].value() == 2


def test_quiet_slo_shows_zero_states_not_no_data(world: w.World, boards: dict[str, dict[str, Any]]) -> None:
    r = _results(world, boards[f"{slo_uid(world.slos[1])}.json"])
    states = r[("Alert state by tier", "A")]
    assert states.series and set(states.series.values()) == {0.0}
    assert r[("Burn rate (1h)", "A")].value() == pytest.approx(LATENCY_RATIO / 0.01)


def test_rollout_dashboard_shows_per_version_red(world: w.World, boards: dict[str, dict[str, Any]]) -> None:
    r = _results(world, boards["sloguard-svc-checkout.json"])
    flush_s = w.FLUSH_MS / 1000
    for version, (n, errors, _seconds) in w.VERSIONS.items():
        assert r[("Request rate", "A")].value(version=version) == pytest.approx(n / flush_s)
        assert r[("Error ratio (5xx)", "A")].value(version=version) == pytest.approx(errors / n)
        assert r[("Requests by code", "A")].value(version=version, code="200") == pytest.approx((n - errors) / flush_s)
    # all of v1 in the (0.01, 0.025] bucket, all of v2 in (0.25, 0.3]: linear interpolation
    assert r[("Latency p50 / p99", "A")].value(version="v1") == pytest.approx(0.01 + 0.015 * 0.5)
    assert r[("Latency p50 / p99", "B")].value(version="v1") == pytest.approx(0.01 + 0.015 * 0.99)
    assert r[("Latency p50 / p99", "B")].value(version="v2") == pytest.approx(0.25 + 0.05 * 0.99)


def _mutate(board: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    broken = copy.deepcopy(board)
    for panel in broken["panels"]:
        for t in panel.get("targets", []):
            t["expr"] = t["expr"].replace(old, new)
    return broken


def test_a_query_that_does_not_parse_is_caught(boards: dict[str, dict[str, Any]]) -> None:
    broken = _mutate(boards["sloguard-overview.json"], "min by", "min byy")
    problems = check(broken)
    assert problems and "dashboard 'SLO overview', panel 'SLOs', query A: 1:5: parse error" in problems[0]
    unknown_var = _mutate(boards["sloguard-svc-checkout.json"], "$__rate_interval", "$__nope")
    assert any("$__nope" in p for p in check(unknown_var))


def test_a_query_on_a_series_no_rule_records_is_caught(world: w.World, boards: dict[str, dict[str, Any]]) -> None:
    broken = _mutate(boards["sloguard-overview.json"], "slo:error_budget_remaining:ratio", "slo:error_budget_left:ratio")
    assert check(broken) == []  # it parses...
    assert any("Budget remaining" in p or "query C" in p for p in empty(evaluate(world.engine, broken, w.END)))


def test_export_writes_nothing_when_a_query_does_not_parse(tmp_path: Path, world: w.World,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from sloguard.dashboards import _queries

    monkeypatch.setattr(_queries, "OBJECTIVE", "slo:objective:ratio{")
    with pytest.raises(DashboardError, match="does not parse; nothing was written"):
        export(tmp_path / "out", world.slos)
    assert not (tmp_path / "out").exists()
