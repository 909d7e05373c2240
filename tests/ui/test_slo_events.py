"""The SLO page draws the alert history: the SLO's alert fired (the rules' page alert on the
backfilled spike) and a silence of its alerts, created by one person and expired by another
with the silences page's expire button; both names are in the alert history and on the page."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.ui._world import World

SLO = "shop-availability"


def _history(world: World, **params: str) -> list[dict[str, Any]]:
    data: Any = world.api("/api/v1/alerts/history", start=str(time.time() - 86400), **params)
    return list(data)


def _wait_for_fired(world: World) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        fired = [e for e in _history(world, **{"match[]": f'{{slo="{SLO}"}}'}) if e["kind"] == "alert_fired"]
        if fired or time.monotonic() > deadline:
            return fired
        time.sleep(0.3)


def test_the_slo_page_marks_alerts_fired_and_silences_with_their_authors(page: Any, ui_world: World) -> None:
    fired = _wait_for_fired(ui_world)
    assert fired, "the page alert of shop-availability never reached the alert history"
    assert all(e["labels"]["slo"] == SLO for e in fired)
    body = {"matchers": [{"name": "slo", "value": SLO, "isRegex": False}], "startsAt": "2000-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z", "createdBy": "carol", "comment": "ui marker test"}
    r = httpx.post(f"{ui_world.url}/api/v2/silences", json=body, timeout=10)
    assert r.status_code == 200, r.text
    sid = r.json()["silenceID"]

    page.goto(ui_world.url + "/silences")  # expire it at once (it mutes shop's alerts) with the button
    page.fill("#actor", "dave")
    page.click(f"#expire-{sid}")
    page.wait_for_url(f"**/silences?expired={sid}*")
    mine = [(e["kind"], e["actor"]) for e in _history(ui_world) if e["key"] == sid]
    assert mine == [("silence_created", "carol"), ("silence_expired", "dave")]

    page.goto(ui_world.url + f"/slos/{SLO}?range=6h")
    page.wait_for_selector("[data-chart=sli][data-state=chart]")
    marks = page.eval_on_selector_all("[data-chart]", "els => els.map(e => e.dataset.marks || '')")
    for drawn in marks:  # every chart (SLI, budget, each burn-rate pair) carries the markers
        assert {"alert_fired", "silence_created", "silence_expired"} <= set(drawn.split()), drawn
    fired_item = page.locator(".events li[data-kind=alert_fired]").first
    assert "page" in fired_item.inner_text() and "ShopAvailabilityBudgetBurn" in fired_item.inner_text()
    assert "created by carol" in page.locator(".events li[data-kind=silence_created]").last.inner_text()
    assert "expired by dave" in page.locator(".events li[data-kind=silence_expired]").last.inner_text()
    over = page.locator("[data-chart=sli] .u-over")
    box = over.bounding_box()
    xs = [float(x) for x in (page.get_attribute("[data-chart=sli]", "data-mark-x") or "").split()]
    assert box is not None and xs
    x = box["x"] + min(xs[-1], box["width"] - 2)  # the latest marker (at the right edge: it is now)
    page.mouse.move(x - 20, box["y"] + box["height"] / 2)
    page.mouse.move(x, box["y"] + box["height"] / 2, steps=4)
    page.wait_for_function("() => document.querySelector('[data-chart=sli] .u-over').title.includes('expired by dave')",
                           timeout=5000)
    assert "created by carol" in (over.get_attribute("title") or "")  # the same marker: seconds apart
