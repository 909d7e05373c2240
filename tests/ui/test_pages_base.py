"""Overview and SLO detail in a real browser against a served sloguard (tests/ui/conftest.py):
no console error and no failed request on any page, charts that draw the API's series,
keyboard sort and filter, a "no data" state, deep links, live refresh and local times."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.ui._browser import Recorder, color_pixels, series_rgb, shot
from tests.ui._world import World

pytestmark = pytest.mark.slow


def _rows(page: Any) -> list[list[str]]:
    """The visible overview rows as [service, slo, budget data-value]."""
    rows: list[list[str]] = page.evaluate("""() => Array.from(document.querySelectorAll('#slo-rows tr[data-rank]'))
        .filter(r => !r.hidden).map(r => [r.cells[0].textContent.trim(), r.cells[1].dataset.value, r.cells[5].dataset.value])""")
    return rows


def test_overview_lists_every_slo_worst_first_with_the_rollout_in_progress(page: Any, ui_world: World) -> None:
    slos: Any = ui_world.api("/api/v1/slos")
    page.goto(ui_world.url + "/")
    rows = _rows(page)
    assert len(rows) == sum(max(1, len(s["budgets"])) for s in slos)
    first = page.locator("#slo-rows tr").first
    assert "state-firing" in (first.get_attribute("class") or "")  # the page alert of shop /pay comes first
    assert [r[1] for r in rows][-1] in ("demo-availability", "search-availability")
    demo = page.locator("#slo-rows tr", has_text="demo-availability")
    assert "demo-v2: Paused, step 2/3, 10%" in demo.inner_text()
    assert page.locator("#slo-rows tr", has_text="search-availability").locator("td").nth(5).inner_text() == "no data"
    assert page.locator("nav a[aria-current=page]").inner_text() == "Overview"
    shot(page, "overview")


def test_overview_filters_and_sorts_with_the_keyboard_and_the_url_keeps_the_view(page: Any, ui_world: World) -> None:
    page.goto(ui_world.url + "/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    for _ in range(10):  # through the nav to the filter box
        if page.evaluate("document.activeElement.id") == "slo-filter":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("shop")
    assert {r[0] for r in _rows(page)} == {"shop"} and len(_rows(page)) == 3
    assert page.locator("[data-count]").inner_text() == "3 of 4 shown"
    page.locator("th[data-key=budget] a").focus()
    page.keyboard.press("Enter")
    budgets = [float(r[2]) for r in _rows(page) if r[2]]
    assert budgets == sorted(budgets) and len(budgets) == 2
    assert _rows(page)[-1][1] == "search-availability"  # no data sorts last
    assert page.locator("th[data-key=budget]").get_attribute("aria-sort") == "ascending"
    page.keyboard.press("Enter")
    assert [float(r[2]) for r in _rows(page) if r[2]] == sorted(budgets, reverse=True)
    assert parse_qs(urlparse(page.url).query) == {"q": ["shop"], "sort": ["budget"], "dir": ["desc"]}
    before = [r[:2] for r in _rows(page)]
    assert before[-1][1] == "search-availability"
    page.reload()  # the server renders the same view from the URL
    assert [r[:2] for r in _rows(page)] == before


def test_overview_sorts_and_filters_without_javascript(ui_world: World) -> None:
    html = httpx.get(f"{ui_world.url}/", params={"q": "availability route=/", "sort": "budget", "dir": "asc"}).text
    body = html.split('id="slo-rows"', 1)[1]
    assert body.count("<tr data-rank") == 2 and body.index("route=/pay") < body.index("route=/cart")
    assert 'aria-sort="ascending"' in html


def test_slo_detail_charts_draw_the_series_of_the_api(page: Any, ui_world: World) -> None:
    history: Any = ui_world.api("/api/v1/slos/shop-availability/history")
    n = len(history["series"])
    assert n == 2
    page.goto(ui_world.url + "/slos/shop-availability?range=6h")
    page.wait_for_selector("[data-chart=sli][data-state=chart]")
    drawn = page.eval_on_selector_all("[data-chart]", "els => els.map(e => [e.dataset.chart, e.dataset.series])")
    assert drawn[:2] == [["sli", str(n)], ["budget", str(n)]]
    tiers = [w for t in history["alertTiers"] for w in t["windows"]]
    assert [d for d in drawn[2:]] == [["burn", str(2 * n)]] * len(tiers)
    for i in range(n):  # each series' own colour is on the canvas: the chart is not blank
        assert color_pixels(page, "[data-chart=sli]", series_rgb(page, i)) > 50, f"series {i} not drawn"
    assert page.locator("#slo-now tbody tr").count() == n
    assert page.locator(".events li", has_text="shop-v2 Aborted").count() == 1
    assert page.locator(".events li", has_text="page 6h/30m fired").count() >= 1  # /pay's spike pages (alert history)
    shot(page, "slo-detail")


def test_an_slo_without_data_shows_no_data_instead_of_a_blank_chart(page: Any, ui_world: World) -> None:
    page.goto(ui_world.url + "/slos/search-availability")
    page.wait_for_selector("[data-chart=sli][data-state]")
    states = page.eval_on_selector_all("[data-chart]", "els => els.map(e => e.dataset.state)")
    assert states and set(states) == {"nodata"}
    assert page.locator("[data-chart=sli]").inner_text() == "No data in this range"
    assert page.locator("canvas").count() == 0
    assert page.locator("p[data-nodata]").inner_text().startswith("No data for this SLO in this range yet")
    assert page.locator("#slo-now td").nth(1).inner_text() == "no data"


def test_a_deep_link_reopens_the_same_range(page: Any, ui_world: World) -> None:
    page.goto(ui_world.url + "/slos/shop-availability?range=6h")
    page.select_option("select[name=range]", "1h")  # a new range is shown at once
    page.wait_for_url("**range=1h**")
    page.locator("#permalink").click()
    page.wait_for_url("**end=**")
    link = page.url
    first = page.evaluate("JSON.parse(document.getElementById('slo-data').textContent)")
    assert first["live"] is False and round(first["end"] - first["start"]) == 3600
    page.goto(link)
    again = page.evaluate("JSON.parse(document.getElementById('slo-data').textContent)")
    assert (again["start"], again["end"]) == (first["start"], first["end"])
    assert again["history"]["timestamps"] == first["history"]["timestamps"]
    assert page.locator("select[name=range]").input_value() == "1h"


def test_bad_names_and_ranges_get_an_error_page_with_a_sentence(page: Any, ui_world: World, browser_log: Recorder) -> None:
    browser_log.allow(404, r"/slos/nope$")
    browser_log.allow(400, r"range=yesterday")
    assert page.goto(ui_world.url + "/slos/nope").status == 404
    assert "no SLO named 'nope'" in page.locator("[role=alert]").inner_text()
    assert page.goto(ui_world.url + "/slos/shop-availability?range=yesterday").status == 400
    assert "range='yesterday' is not a duration" in page.locator("[role=alert]").inner_text()


def test_times_are_local_with_utc_in_the_title_and_regions_refresh_in_place(page: Any, ui_world: World) -> None:
    page.goto(ui_world.url + "/slos/shop-availability?range=6h")
    t = page.locator("time").first
    assert (t.get_attribute("title") or "").endswith(" UTC")
    assert "CET" in t.inner_text() or "GMT+1" in t.inner_text()  # the context's zone is Europe/Paris
    page.goto(ui_world.url + "/")
    page.evaluate("window.__sameDocument = true")
    box = page.locator("#slo-table").bounding_box()
    page.wait_for_function("document.querySelector('[data-refresh-status]').textContent.startsWith('updated')",
                           timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True  # no full reload
    after = page.locator("#slo-table").bounding_box()
    assert box is not None and after is not None and abs(box["y"] - after["y"]) < 1


def test_dragging_over_a_chart_opens_that_range_as_a_link(page: Any, ui_world: World) -> None:
    page.goto(ui_world.url + "/slos/shop-availability?range=6h")
    box = page.locator("[data-chart=sli] .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + 20, steps=5)
    page.mouse.up()
    page.wait_for_url("**end=**")
    data = page.evaluate("JSON.parse(document.getElementById('slo-data').textContent)")
    assert data["live"] is False and abs((data["end"] - data["start"]) - 3 * 3600) < 15 * 60  # half of 6h
    assert page.locator("[data-chart=sli]").get_attribute("data-state") == "chart"


def test_pages_fit_a_phone_screen(browser: Any, ui_world: World, browser_log: Recorder) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, color_scheme="dark")
    pg = context.new_page()
    browser_log.attach(pg)
    try:
        for path, name in (("/", "overview-phone"), ("/slos/shop-availability?range=6h", "slo-detail-phone")):
            pg.goto(ui_world.url + path)
            pg.wait_for_load_state("networkidle")
            assert pg.evaluate("document.documentElement.scrollWidth") <= 375, f"{path} scrolls sideways"
            shot(pg, name, full_page=False)
        assert pg.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"  # dark scheme
    finally:
        problems = list(browser_log.problems)
        context.close()
    assert problems == [], "\n".join(problems)


def test_the_chart_helper_draws_a_query_range_matrix(page: Any, ui_world: World) -> None:
    end = ui_world.backfill_end
    params = {"query": 'sum by (route) (rate(http_requests_total{job="shop"}[5m]))', "start": str(end - 3600), "end": str(end), "step": "60"}
    matrix: Any = ui_world.api("/api/v1/query_range", **params)
    page.goto(ui_world.url + "/slos/search-availability")  # any page: the helpers are on every page
    drawn = page.evaluate("""async (params) => {
        const el = document.createElement('div'); el.className = 'plot'; el.id = 'matrix';
        document.querySelector('main').prepend(el);
        const data = await SG.getJSON('/api/v1/query_range?' + new URLSearchParams(params));
        const spec = SG.fromMatrix(data.result);
        SG.chart(el, spec);
        return [el.dataset.series, spec.series.map(s => s.label), spec.timestamps.length];
    }""", params)
    assert drawn[0] == str(len(matrix["result"])) == "2"
    assert sorted(drawn[1]) == ['{route="/cart"}', '{route="/pay"}'] and drawn[2] == 61
    for i in range(2):
        assert color_pixels(page, "#matrix", series_rgb(page, i)) > 20, f"series {i} not drawn"
    page.evaluate("SG.chart(document.getElementById('matrix'), SG.fromMatrix([]))")
    assert page.locator("#matrix").get_attribute("data-state") == "nodata"
