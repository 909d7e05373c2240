"""The Rollouts pages in a real browser: the list on the served demo world (a paused and an
aborted rollout), and one rollout's page on a server of its own (``_rollout_server``:
rollouts over the built-in proxy, judges looking every second) where the buttons promote,
abort and fail through the same API as the CLI, and the page follows without a reload."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui._browser import Recorder, color_pixels, series_rgb, shot
from tests.ui._rollout_server import RolloutServer
from tests.ui._world import World

pytestmark = pytest.mark.slow

STOP_LIVE_JS = "() => { for (let i = 1; i < 10000; i++) clearInterval(i); }"


def settle(page: Any) -> None:
    """Stop the page's live refresh and let its requests finish, so that leaving the page
    cuts no request short (the recorder would count it as failed)."""
    page.evaluate(STOP_LIVE_JS)
    page.wait_for_load_state("networkidle")


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RolloutServer]:
    server = RolloutServer(tmp_path_factory.mktemp("rollouts")).start()
    try:
        yield server
    finally:
        server.stop()


def paused_at(step: int, weight: int) -> Any:
    return lambda v: v["phase"] == "Paused" and v["step"] == step and v["canaryWeight"] == weight


def _facts(page: Any) -> tuple[str, str, str]:
    return (page.locator("[data-phase]").inner_text(), page.locator("[data-step]").inner_text(),
            page.locator("[data-weight]").inner_text())


def world_rollouts(world: World) -> Any:
    """The world's rollouts once shop's page alert has aborted shop-v2 (it does within seconds)."""
    deadline = time.monotonic() + 30
    while True:
        listed: Any = world.api("/api/v1/rollouts")
        if {r["name"]: r["phase"] for r in listed}.get("shop-v2") == "Degraded" or time.monotonic() > deadline:
            return listed
        time.sleep(0.2)


def test_the_list_shows_every_rollout_as_the_api_does_and_links_to_each(page: Any, ui_world: World) -> None:
    listed: Any = world_rollouts(ui_world)
    page.goto(ui_world.url + "/rollouts")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Rollouts"
    for r in listed:
        row = page.locator(f'tr[data-rollout="{r["name"]}"]')
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        step = f"{r['step']}/{r['steps']}" if r["step"] else f"–/{r['steps']}"
        assert cells[:8] == [r["name"], r["service"], r["strategy"], f"{r['stable']} → {r['canary']}", r["phase"],
                             step, f"{r['canaryWeight']}%", r["message"]]
        assert row.locator("time").get_attribute("datetime")
    names = [n.strip() for n in page.locator("tr[data-rollout] td:first-child").all_inner_texts()]
    assert names.index("demo-v2") < names.index("shop-v2")  # running first
    shot(page, "rollouts")
    settle(page)
    page.get_by_role("link", name="demo-v2").click()
    page.wait_for_url("**/rollouts/demo-v2")
    assert page.locator("h1").inner_text().startswith("demo-v2")
    assert page.locator("tr[aria-current=step]").inner_text().split() == ["▶", "2", "pause", "until", "promoted", "current"]


def test_the_overview_links_a_rollout_in_progress_to_its_page(page: Any, ui_world: World) -> None:
    page.goto(ui_world.url + "/")
    settle(page)
    page.locator("#slo-rows").get_by_role("link", name="demo-v2").click()
    page.wait_for_url("**/rollouts/demo-v2")
    assert page.locator("[data-phase]").inner_text() == "Paused"


def test_the_list_refreshes_in_place_when_a_rollout_starts(page: Any, rollouts: RolloutServer) -> None:
    rollouts.start_rollout("first")
    page.goto(rollouts.url + "/rollouts")
    page.evaluate("() => { window.__sameDocument = true; }")
    rollouts.start_rollout("second")
    page.locator('tr[data-rollout="second"]').wait_for(timeout=12_000)
    assert page.evaluate("() => window.__sameDocument") is True  # no full reload


def test_promote_moves_a_paused_rollout_on_and_records_the_typed_name(page: Any, rollouts: RolloutServer) -> None:
    rollouts.start_rollout("web")
    rollouts.until("web", "the first pause", paused_at(2, 20))
    page.goto(rollouts.url + "/rollouts/web")
    assert _facts(page) == ("Paused", "2/4", "20%")
    assert page.locator("[data-action=resume]").is_disabled() and page.locator("[data-action=retry]").is_disabled()
    page.locator("[data-action=promote]").click()
    assert "Type your name" in page.locator("#action-result").inner_text()  # nothing sent without an actor
    assert rollouts.view("web")["step"] == 2
    page.fill("#actor", "dana")
    page.locator("[data-action=promote]").click()
    rollouts.until("web", "the second pause", paused_at(4, 60))
    page.wait_for_function("""() => document.querySelector('[data-step]').textContent === '4/4'
        && document.querySelector('[data-phase]').textContent === 'Paused'""")
    assert _facts(page) == ("Paused", "4/4", "60%")
    assert "Promote done" in page.locator("#action-result").inner_text()
    assert "dana" in page.locator("[data-actor]").all_inner_texts()
    assert page.locator("tr[aria-current=step] td").nth(1).inner_text() == "4"
    settle(page)
    page.reload()
    assert page.input_value("#actor") == "dana"  # remembered in localStorage


def test_abort_asks_a_reason_confirms_and_sends_the_traffic_back(page: Any, rollouts: RolloutServer) -> None:
    rollouts.start_rollout("pay")
    rollouts.until("pay", "the first pause", paused_at(2, 20))
    page.goto(rollouts.url + "/rollouts/pay")
    page.fill("#actor", "eve")
    page.locator("[data-action=abort]").click()
    dialog = page.locator("#confirm-dialog")
    assert dialog.is_visible() and "Abort the rollout?" in dialog.inner_text()
    dialog.locator("[data-confirm]").click()
    # the dialog's close event (after the click returns) puts the sentence in; nothing is sent
    page.wait_for_function("() => document.querySelector('#confirm-dialog [data-dialog-error]')"
                           ".textContent.includes('Give a reason')")
    assert rollouts.view("pay")["phase"] == "Paused"
    dialog.locator("textarea").fill("p99 doubled on the canary")
    dialog.locator("[data-confirm]").click()
    v = rollouts.until("pay", "the abort", lambda v: v["phase"] == "Degraded" and v["canaryWeight"] == 0)
    assert "p99 doubled on the canary" in v["abortReason"]
    page.wait_for_function("() => document.querySelector('[data-phase]').textContent === 'Degraded'")
    assert _facts(page)[::2] == ("Degraded", "0%")
    assert "p99 doubled on the canary" in page.locator("[data-abort-reason]").inner_text()
    page.wait_for_function("() => !document.querySelector('[data-action=retry]').disabled")
    assert page.locator("[data-action=promote]").is_disabled() and page.locator("[data-action=abort]").is_disabled()
    aborted = page.locator("#rollout-events tr", has_text="RolloutAbortRequested")
    assert "eve" in aborted.inner_text()
    settle(page)
    page.reload()
    assert _facts(page)[::2] == ("Degraded", "0%")


def test_a_refused_command_shows_the_api_sentence_in_place(page: Any, browser_log: Recorder, rollouts: RolloutServer) -> None:
    browser_log.allow(409, r"/api/v1/rollouts/late/promote$")
    rollouts.start_rollout("late")
    rollouts.until("late", "the first pause", paused_at(2, 20))
    page.goto(rollouts.url + "/rollouts/late")
    page.evaluate(STOP_LIVE_JS)  # the page keeps its stale view
    page.fill("#actor", "fay")
    r = httpx.post(f"{rollouts.url}/api/v1/rollouts/late/abort", json={"actor": "cli", "reason": "from the CLI"})
    assert r.status_code == 200
    rollouts.until("late", "the abort", lambda v: v["phase"] == "Degraded")
    page.locator("[data-action=promote]").click()
    page.wait_for_function("() => document.querySelector('#action-result').classList.contains('error')")
    assert page.locator("#action-result").inner_text() == "The rollout 'late' is Degraded; it cannot promote (retry it first)."
    assert page.locator("#action-result").get_attribute("role") == "alert"


def test_judge_verdicts_show_their_p_value_and_chart_and_a_deep_link_reopens_the_rollout(
        page: Any, browser_log: Recorder, rollouts: RolloutServer, tmp_path: Path) -> None:
    rollouts.start_rollout("judged", judged=True)
    v = rollouts.until("judged", "two verdicts", lambda v: sum(
        1 for a in v["analyses"] for m in a["metrics"] for x in m["measurements"] if x.get("verdict")) >= 2)
    oldest = v["analyses"][0]["metrics"][0]["measurements"][0]["verdict"]  # the table's last row (newest first)
    rollouts.write_traffic("judged", 60, {"v1": 40, "v2": 10})  # what the proxy writes for 10 req/s, 20% canary
    page.goto(rollouts.url + "/rollouts/judged")
    p_values = page.locator("[data-p-value]").all_inner_texts()
    assert len(p_values) >= 2 and p_values[-1] == f"{oldest['p_value']:.3g}"
    row = page.locator("table.verdicts tbody").last.inner_text()
    assert "exact" in row and "pass" in row and "canary/baseline rate ratio = 1" in row and f"[{oldest['interval']['low']:.4g}, ∞] at 95%" in row
    plot = page.locator('[data-chart="m0"]')
    page.wait_for_function("() => document.querySelector('[data-chart=\"m0\"]').dataset.state === 'chart'")
    assert plot.get_attribute("data-series") == "1"
    assert color_pixels(page, '[data-chart="m0"]', series_rgb(page, 0)) > 20  # the p-value line is drawn
    assert page.locator('[data-chart="weights"]').get_attribute("data-state") == "chart"
    traffic = page.locator('[data-chart="traffic"]')
    page.wait_for_function("() => document.querySelector('[data-chart=\"traffic\"]').dataset.state === 'chart'")
    assert traffic.get_attribute("data-series") == "2"
    assert {"v1", "v2"} <= set(traffic.locator(".u-legend .u-label").all_inner_texts())
    page.locator("details.explain summary").click()
    assert "exact p = " in page.locator("#rollout-explain").inner_text()
    shot(page, "rollout")
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(400)  # the charts follow a resize after 150 ms
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375  # usable on a phone
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "rollout-phone", full_page=False)

    again = page.context.new_page()  # a deep link opens the same rollout
    browser_log.attach(again)
    again.goto(rollouts.url + "/rollouts/judged")
    assert again.locator("h1").inner_text() == page.locator("h1").inner_text()
    browser_log.allow(404, r"/rollouts/nope$")
    settle(again)
    assert again.goto(rollouts.url + "/rollouts/nope").status == 404
    assert again.locator("[role=alert]").inner_text() == "There is no rollout named 'nope'."
