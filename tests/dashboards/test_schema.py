"""The exported dashboards are valid in Grafana's dashboard schema, as the types of
grafana-foundation-sdk carry it (``_sdk_schema``), and carry what provisioning and the
panels need: the ``datasource`` variable, stable uids, thresholds at the alert factors."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sloguard.dashboards import build_all, check, service_uid, slo_uid
from sloguard.slo.loader import load_files
from sloguard.slo.model import SLO
from tests.dashboards._sdk_schema import problems
from tests.dashboards._world import DEMO_SPEC

SPECS = Path(__file__).parents[1] / "slo" / "specs"


@pytest.fixture(scope="module")
def slos() -> list[SLO]:
    return load_files([DEMO_SPEC])[0]


@pytest.fixture(scope="module")
def boards(slos: list[SLO]) -> dict[str, dict[str, Any]]:
    return build_all(slos, ["checkout", "search"])


def test_every_exported_dashboard_is_valid_in_grafanas_schema(boards: dict[str, dict[str, Any]]) -> None:
    assert sorted(boards) == ["sloguard-overview.json", "sloguard-slo-demo-availability.json",
                              "sloguard-slo-demo-latency.json", "sloguard-svc-checkout.json", "sloguard-svc-search.json"]
    for name, board in boards.items():
        assert problems(board) == [], name


def test_spec_formats_of_every_kind_export_valid_dashboards() -> None:
    files = sorted(SPECS.rglob("*.y*ml"))
    slos, _ = load_files(files)
    assert len(slos) >= 5
    for name, board in build_all(slos).items():
        assert problems(board) == [] and check(board) == [], name


@pytest.mark.parametrize(("path", "value", "expected"), [
    (("schemaVersion",), "36", "$.schema_version: expected an integer"),
    (("graphTooltip",), 7, "is not a DashboardCursorSync"),
    (("panels", 0, "gridPos", "w"), "wide", "$.panels[0].grid_pos.w: expected an integer"),
    (("panels", 1, "fieldConfig", "defaults", "custom", "lineWidth"), "thick", "custom.line_width: expected a number"),
    (("panels", 1, "options", "legend", "placement"), "top", "is not a LegendPlacement"),
    (("panels", 0, "transformations", 0, "id"), 3, "transformations[0].id_val: expected a string"),
    (("panels", 1, "bogus"), 1, "$.panels[1].bogus: not a field of Grafana's schema"),
    (("templating", "list", 0, "type"), "datasourcee", "is not a VariableType"),
])
def test_the_schema_check_refuses_what_grafana_does_not_accept(
    boards: dict[str, dict[str, Any]], path: tuple[Any, ...], value: object, expected: str
) -> None:
    broken = copy.deepcopy(boards["sloguard-overview.json"])
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert any(expected in p for p in problems(broken)), problems(broken)


def test_every_query_reads_the_datasource_variable(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        (var,) = board["templating"]["list"]
        assert (var["type"], var["name"], var["query"]) == ("datasource", "datasource", "prometheus")
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"] and all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_burn_rate_panels_draw_each_window_pairs_factor(boards: dict[str, dict[str, Any]], slos: list[SLO]) -> None:
    board = boards["sloguard-slo-demo-availability.json"]
    pairs = {p["title"]: p for p in board["panels"] if p["title"].startswith("Burn rate ") and p["type"] == "timeseries"}
    expected = {f"Burn rate {t.name}: " for t in slos[0].alerting.tiers}
    assert {t.split(": ")[0] + ": " for t in pairs} == expected
    assert len(pairs) == sum(len(t.windows) for t in slos[0].alerting.tiers) == 4
    for title, panel in pairs.items():
        factor = float(title.rsplit(" at ", 1)[1].rstrip("x"))
        defaults = panel["fieldConfig"]["defaults"]
        assert [s["value"] for s in defaults["thresholds"]["steps"]] == [None, factor]
        assert defaults["custom"]["thresholdsStyle"]["mode"] == "dashed"
    sli = next(p for p in board["panels"] if p["title"] == "SLI")
    assert sli["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.995


def test_uids_are_stable_unique_and_fit_grafanas_limit(slos: list[SLO]) -> None:
    assert build_all(slos, ["checkout"]) == build_all(slos, ["checkout"])
    long = replace(slos[0], name="a-very-long-slo-name-for-the-checkout-service-availability")
    odd = replace(slos[0], name="checkout availability/99.9")
    uids = [slo_uid(long), slo_uid(odd), service_uid("x" * 60), service_uid("svc.v2")]
    assert all(len(u) <= 40 and all(c.isalnum() or c in "-_" for c in u) for u in uids), uids
    assert len(set(uids)) == 4
    assert slo_uid(odd) != slo_uid(replace(slos[0], name="checkout-availability-99-9"))
