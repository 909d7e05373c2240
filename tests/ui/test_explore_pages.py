"""Explore (/graph), Targets, Rules and Status in a real browser against a served sloguard
(tests/ui/conftest.py): Prometheus links and alerts' generatorURLs open the right view, the
chart draws the API's series, a bad query shows the API's error in place, the URL follows
every change and reopens the same view; no console error and no failed request anywhere."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from tests.ui._browser import SCREENSHOTS, color_pixels, series_rgb, shot
from tests.ui._world import World

pytestmark = pytest.mark.slow

SHOP = 'http_requests_total{job="shop"}'
ERRORS = 'sum by (route) (rate(http_requests_total{job="shop", code="500"}[5m]))'


def _state(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query, keep_blank_values=True)


def _range_count(world: World, expr: str, data: dict[str, Any]) -> int:
    got: Any = world.api("/api/v1/query_range", query=expr, start=f"{data['start']:.3f}", end=f"{data['end']:.3f}",
                         step=f"{data['step']:g}")
    return len(got["result"])


def _settle(page: Any) -> None:
    """Let the page finish loading (its favicon too) before leaving it: a request cut short by
    the next navigation would count as failed."""
    page.wait_for_load_state("networkidle")


def _chart_data(page: Any, i: int = 0) -> dict[str, Any]:
    return dict(page.evaluate(f"JSON.parse(document.getElementById('p{i}-data').textContent)"))


def _scraped(world: World) -> None:
    """Wait (bounded) for an ``up`` sample 15 s old (a graph's last step may be a step before
    now): the world may have just started."""
    deadline = time.monotonic() + 40
    while not world.api("/api/v1/query", query="up offset 15s")["result"]:  # type: ignore[index]
        assert time.monotonic() < deadline, "no scrape of the demo target 15 s ago after waiting 40 s"
        time.sleep(0.2)


def test_a_prometheus_graph_link_opens_the_graph_with_the_apis_series_drawn(page: Any, ui_world: World) -> None:
    _scraped(ui_world)
    page.goto(ui_world.url + "/graph?g0.expr=up&g0.tab=0&g0.range_input=1h")
    page.wait_for_selector("#p0-plot[data-state=chart]")
    data = _chart_data(page)
    assert round(data["end"] - data["start"]) == 3600 and data["step"] == 14
    assert page.get_attribute("#p0-plot", "data-series") == str(_range_count(ui_world, "up", data)) == "1"
    assert page.locator("#g0-tab-graph").get_attribute("aria-selected") == "true"
    assert page.input_value("#g0-expr") == "up" and page.input_value("#g0-range") == "1h"
    assert _state(page)["g0.range_input"] == ["1h"]  # the URL carries the whole state
    _settle(page)
    page.goto(ui_world.url + "/graph?" + urlencode({"g0.expr": SHOP, "g0.tab": "0", "g0.range_input": "6h"}))
    page.wait_for_selector("#p0-plot[data-state=chart]")
    n = _range_count(ui_world, SHOP, _chart_data(page))
    assert page.get_attribute("#p0-plot", "data-series") == str(n) == "4"
    assert page.locator("#p0-plot .u-legend .u-series").count() == n + 1  # the time column and one row per series
    assert 'route="/pay"' in page.locator("#p0-plot .u-legend").inner_text()
    for i in range(2):  # the two large series are drawn in their own colours: not a blank canvas
        assert color_pixels(page, "#p0-plot", series_rgb(page, i)) > 50, f"series {i} not drawn"
    _settle(page)
    page.goto(ui_world.url + "/graph?" + urlencode({"g0.expr": ERRORS, "g0.tab": "0", "g0.range_input": "6h",
                                                    "g1.expr": SHOP, "g1.tab": "1", "g1.moment_input": str(ui_world.backfill_end)}))
    page.wait_for_selector("#p0-plot[data-state=chart]")
    shot(page, "graph")


def test_the_table_tab_shows_the_values_of_the_instant_query(page: Any, ui_world: World) -> None:
    at = ui_world.backfill_end - 600
    expected: Any = ui_world.api("/api/v1/query", query=SHOP, time=str(at))
    page.goto(ui_world.url + "/graph?" + urlencode({"g0.expr": SHOP, "g0.tab": "1", "g0.moment_input": str(at)}))
    rows = page.eval_on_selector_all("[data-result-table] tbody tr", "rs => rs.map(r => [r.cells[0].textContent, r.cells[1].textContent])")
    want = sorted((e["metric"]["code"], e["metric"]["route"], e["value"][1]) for e in expected["result"])
    got = sorted((s.split('code="')[1].split('"')[0], s.split('route="')[1].split('"')[0], v) for s, v in rows)
    assert got == want and len(want) == 4
    assert page.input_value("#g0-end") == _state(page)["g0.end_input"][0]  # "YYYY-MM-DD HH:mm:ss" UTC
    page.focus("#g0-tab-table")
    page.keyboard.press("ArrowRight")  # the tabs' keys: arrows move, Enter shows the same panel as a graph
    assert page.evaluate("document.activeElement.id") == "g0-tab-graph"
    page.keyboard.press("Enter")
    page.wait_for_selector("#p0-plot[data-state=chart]")
    assert _state(page)["g0.tab"] == ["0"] and page.locator("[data-result-table]").count() == 0


def test_a_bad_query_shows_the_apis_error_in_place(page: Any, ui_world: World) -> None:
    api = httpx.get(ui_world.url + "/api/v1/query", params={"query": "sum("})
    assert api.status_code == 400
    page.goto(ui_world.url + "/graph?g0.expr=up&g0.tab=1")
    page.evaluate("window.__sameDocument = true")
    box = page.locator("#g0-expr")
    box.fill("sum(")
    box.press("Enter")  # Enter runs the query
    error = page.locator("#p0-result [data-error]")
    error.wait_for()
    assert api.json()["error"] in error.inner_text() and "parse error" in error.inner_text()
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, no reload
    assert _state(page)["g0.expr"] == ["sum("]
    assert page.evaluate("document.activeElement.id") == "g0-expr"
    box.press("Shift+Enter")  # a new line, not a run
    box.type("x")
    assert page.input_value("#g0-expr") == "sum(\nx" and _state(page)["g0.expr"] == ["sum("]


def test_the_generator_url_of_a_firing_alert_opens_its_expression(page: Any, ui_world: World) -> None:
    alerts: Any = httpx.get(ui_world.url + "/api/v2/alerts", timeout=30).json()
    alert = next(a for a in alerts if a.get("generatorURL") and a["labels"]["alertname"] == "ShopAvailabilityBudgetBurn")
    link = urlparse(alert["generatorURL"])
    assert link.path == "/graph"
    expr = parse_qs(link.query)["g0.expr"][0]
    groups: Any = ui_world.api("/api/v1/rules", type="alert")
    assert expr in {r["query"] for g in groups["groups"] for r in g["rules"] if r["name"] == "ShopAvailabilityBudgetBurn"}
    page.goto(ui_world.url + link.path + "?" + link.query)
    assert page.input_value("#g0-expr") == expr
    assert page.locator("#g0-tab-table").get_attribute("aria-selected") == "true"
    assert page.locator("[data-result-table]").count() == 1 and page.locator("[data-error]").count() == 0
    _settle(page)
    page.goto(ui_world.url + "/query?" + link.query)  # Prometheus 3's path for the same link
    assert urlparse(page.url).path == "/graph" and page.input_value("#g0-expr") == expr


def test_changing_the_range_updates_the_url_and_a_reload_reopens_the_same_view(page: Any, ui_world: World) -> None:
    page.goto(ui_world.url + "/graph?" + urlencode({"g0.expr": SHOP, "g0.tab": "0", "g0.range_input": "1h"}))
    page.wait_for_selector("#p0-plot[data-state]")
    page.click("#g0-range-plus")
    page.wait_for_url("**g0.range_input=2h**")
    assert page.input_value("#g0-range") == "2h" and page.evaluate("document.activeElement.id") == "g0-range-plus"
    page.fill("#g0-range", "6h")
    page.press("#g0-range", "Enter")
    page.wait_for_url("**g0.range_input=6h**")
    page.check("#g0-stacked")
    page.wait_for_url("**g0.stacked=1**")
    page.fill("#g0-step", "120")
    page.press("#g0-step", "Enter")
    page.wait_for_url("**g0.step_input=120**")
    page.wait_for_selector("#p0-plot[data-state=chart]")
    before = _chart_data(page)
    assert (round(before["end"] - before["start"]), before["step"], before["stacked"]) == (21600, 120, True)
    page.click("#g0-end-back")
    page.wait_for_url("**g0.end_input=**")
    fixed = _chart_data(page)
    assert fixed["live"] is False and abs(before["end"] - fixed["end"] - 10800) < 5  # back half the range
    series = page.get_attribute("#p0-plot", "data-series")
    _settle(page)
    page.reload()
    page.wait_for_selector("#p0-plot[data-state=chart]")
    again = _chart_data(page)
    assert (again["start"], again["end"], again["step"], again["stacked"]) == (fixed["start"], fixed["end"], 120, True)
    assert page.is_checked("#g0-stacked") and page.input_value("#g0-range") == "6h"
    assert page.get_attribute("#p0-plot", "data-series") == series == "4"
    page.go_back()  # history: the view before the end moved
    page.wait_for_function("!new URLSearchParams(location.search).has('g0.end_input')")
    page.wait_for_function("document.getElementById('g0-end').value === ''")  # the panels were swapped back
    page.wait_for_selector("#p0-plot[data-state=chart]")
    over = page.locator("#p0-plot .u-over").bounding_box()
    assert over is not None
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.25, y)  # drag across the middle half: zoom in
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.75, y, steps=5)
    page.mouse.up()
    page.wait_for_url("**g0.end_input=**")
    zoomed = _chart_data(page)
    assert 2.5 * 3600 < zoomed["end"] - zoomed["start"] < 3.5 * 3600 and page.input_value("#g0-range") != "6h"


def test_a_live_graph_rereads_its_results_and_redraws_in_place(page: Any, ui_world: World) -> None:
    page.clock.install()  # the page's timers run when the test says so
    page.goto(ui_world.url + "/graph?g0.expr=up&g0.tab=0&g0.range_input=1h")
    page.wait_for_selector("#p0-plot[data-state]")
    first = _chart_data(page)["end"]
    page.evaluate("document.getElementById('p0-plot').__mark = 1")
    page.clock.run_for(16_000)  # one live period (15 s)
    page.wait_for_function(f"JSON.parse(document.getElementById('p0-data').textContent).end > {first}")
    assert page.evaluate("document.getElementById('p0-plot').__mark") == 1  # the same chart, updated in place
    _settle(page)
    page.goto(ui_world.url + "/graph?g0.expr=up&g0.tab=0&g0.end_input=2026-01-01 00:00:00")
    assert page.evaluate("document.getElementById('explore').dataset.livePeriod") == "0"  # a fixed end is not live


def test_several_panels_are_added_kept_in_the_url_and_removed(page: Any, ui_world: World) -> None:
    page.goto(ui_world.url + "/graph?g0.expr=up&g0.tab=1")
    page.click("button[name=add_panel]")
    page.wait_for_selector("#g1-expr")
    page.fill("#g1-expr", "vector(42)")
    page.press("#g1-expr", "Enter")
    page.wait_for_url("**g1.expr=vector**")
    assert page.locator("#p1-result [data-result-table] td.num").inner_text() == "42"
    assert _state(page)["g0.expr"] == ["up"]
    page.click("#panel-0 button[name=remove_panel]")
    page.wait_for_url("**g0.expr=vector**")
    assert page.locator("section.panel").count() == 1 and "g1.expr" not in _state(page)


def test_targets_lists_each_pool_and_target_of_the_api(page: Any, ui_world: World) -> None:
    targets: Any = ui_world.api("/api/v1/targets")
    page.goto(ui_world.url + "/targets")
    active = targets["activeTargets"]
    assert page.locator("section.pool").count() == len({t["scrapePool"] for t in active}) >= 1
    assert page.locator("section.pool tbody tr").count() == len(active)
    row = page.locator("section.pool tbody tr").first
    assert active[0]["scrapeUrl"] in row.inner_text() and row.locator(".pill").inner_text() == active[0]["health"]
    assert "UTC" in (row.locator("time").get_attribute("title") or "")
    _settle(page)
    page.click("a[href='/targets?health=down']")
    assert page.locator(".empty-row").first.inner_text() == "No down target in this pool."
    _settle(page)
    page.goto(ui_world.url + "/targets")
    shot(page, "targets")


def test_rules_shows_groups_rules_and_links_each_query_to_explore(page: Any, ui_world: World) -> None:
    groups: Any = ui_world.api("/api/v1/rules", type="alert")
    page.goto(ui_world.url + "/rules?type=alert")
    assert page.locator("section.pool").count() == len([g for g in groups["groups"] if g["rules"]])
    assert page.locator("section.pool tbody a.query").count() == sum(len(g["rules"]) for g in groups["groups"])
    firing = page.locator("section.pool tbody tr", has=page.locator(".pill.firing")).first
    link = firing.locator("a.query")
    expr = link.inner_text()
    _settle(page)
    link.click()
    page.wait_for_url("**/graph?**")
    assert page.input_value("#g0-expr") == expr and _state(page)["g0.tab"] == ["1"]
    _settle(page)
    page.goto(ui_world.url + "/rules?type=alert")
    page.screenshot(path=str(SCREENSHOTS / "rules.png"))  # the first screen: the whole list is very long


def test_status_shows_build_flags_config_and_tsdb_stats(page: Any, ui_world: World) -> None:
    flags: Any = ui_world.api("/api/v1/status/flags")
    tsdb: Any = ui_world.api("/api/v1/status/tsdb")
    page.goto(ui_world.url + "/status")
    assert page.locator("table.kv tbody tr").count() == len(flags)
    assert page.locator("pre.config").inner_text().startswith("global:")
    top = tsdb["seriesCountByMetricName"][0]["name"]
    assert top in page.locator("#tsdb").inner_text()
    assert page.locator("dl[aria-label='Build information'] dd").first.inner_text() == ui_world.api("/api/v1/status/buildinfo")["version"]  # type: ignore[index]
    shot(page, "status")


def test_explore_and_status_pages_fit_a_phone(page: Any, ui_world: World) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/graph?" + urlencode({"g0.expr": ERRORS, "g0.tab": "0", "g0.range_input": "6h", "g0.stacked": "1"}),
                 "/targets", "/rules", "/status"):
        page.goto(ui_world.url + path)
        if path.startswith("/graph"):
            page.wait_for_selector("#p0-plot[data-state=chart]")
            shot(page, "graph-phone")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, f"{path} scrolls sideways"
        _settle(page)
