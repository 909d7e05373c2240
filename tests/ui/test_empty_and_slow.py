"""Slow or empty data (issue 12's must-show): every page renders a clear "no data" state,
never a stack trace or a blank chart, with no console error, for

* an SLO with no data yet (its series do not exist),
* a service with no traffic: its series exist but stay at zero, and a rollout of it is
  in progress (zero requests to either version),
* a TSDB under write load: a thread remote-writes batches of new series continuously
  while the pages load.

The server is this module's own (not the session's ``ui_world``): only empty data."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from sloguard.ingest.backfill import import_openmetrics
from sloguard.ingest.remote_write import encode_write_request
from tests._net import free_port
from tests.e2e.conftest import SloguardProcess
from tests.ui._browser import shot
from tests.ui._world import ROLLOUT

pytestmark = pytest.mark.slow

SLOS = """
apiVersion: sloguard/v1
service: fresh
slos:
  - name: fresh-availability
    description: A service that has sent nothing yet.
    objective: 99.9%
    period: 7d
    sli: {ratio: {bad: 'fresh_requests_total{code=~"5.."}', total: 'fresh_requests_total'}}
---
apiVersion: sloguard/v1
service: quiet
slos:
  - name: quiet-availability
    description: A service whose counters exist but count no request.
    objective: 99%
    period: 1d
    sli: {ratio: {bad: 'quiet_requests_total{code="500"}', total: 'quiet_requests_total'}}
"""

CONFIG = "global: {evaluation_interval: 1s}\nslo_files: [slos.yml]\n"
#: Pages of every route on this branch; each must show "no data" where it has none.
PAGES = ("/", "/slos/fresh-availability", "/slos/quiet-availability", "/slos/quiet-availability?range=1h",
         "/alerts", "/silences", "/silences/new")
#: Text that only a leaked stack trace or a template bug would put on a page.
LEAKS = ("Traceback", "Exception", "Internal Server Error", "undefined", "NaN", "None")


def _quiet_counters(end: int) -> str:
    """Two hours of ``quiet_requests_total`` at zero, one sample a minute."""
    rows = [f'quiet_requests_total{{code="{c}"}} 0 {t}' for c in ("200", "500") for t in range(end - 7200, end + 1, 60)]
    return "# TYPE quiet_requests counter\n" + "\n".join(rows) + "\n# EOF\n"


class Writer(threading.Thread):
    """Remote-writes a sample to each of 500 series, batch after batch, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stopped, self.batches = url, threading.Event(), 0
        self.errors: list[str] = []

    def run(self) -> None:
        headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                   "X-Prometheus-Remote-Write-Version": "0.1.0"}
        with httpx.Client(timeout=10) as client:
            while not self.stopped.is_set() and self.batches < 2000:  # bounded: the test stops it far sooner
                now = int(time.time() * 1000)
                body = encode_write_request(
                    ([("__name__", "load_gauge"), ("i", str(i))], np.array([now]), np.array([float(self.batches)]))
                    for i in range(500))
                r = client.post(f"{self.url}/api/v1/write", content=body, headers=headers)
                if r.status_code >= 300:
                    self.errors.append(f"{r.status_code}: {r.text[:200]}")
                self.batches += 1


@pytest.fixture(scope="module")
def empty_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SloguardProcess]:
    root = tmp_path_factory.mktemp("empty")
    (root / "quiet.om").write_text(_quiet_counters(int(time.time()) // 60 * 60))
    import_openmetrics(root / "quiet.om", root / "data")
    (root / "slos.yml").write_text(SLOS)
    (root / "sloguard.yml").write_text(CONFIG)
    server = SloguardProcess(root / "data", root / "sloguard.yml", root / "sloguard.log").start()
    spec = ROLLOUT.format(name="quiet-v2", service="quiet", up=server.port, port=free_port())
    r = httpx.post(f"{server.url}/api/v1/rollouts", content=spec, params={"actor": "ui-tests"}, timeout=30)
    assert r.status_code == 201, r.text
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def writer(empty_world: SloguardProcess) -> Iterator[Writer]:
    w = Writer(empty_world.url)
    w.start()
    yield w
    w.stopped.set()
    w.join(timeout=15)


def _visible_text(page: Any) -> str:
    return str(page.evaluate("() => document.body.innerText"))


def _check_charts(page: Any) -> int:
    """Every chart is in its "no data" state with a visible message; returns how many."""
    page.wait_for_function("() => Array.from(document.querySelectorAll('[data-chart]')).every(e => e.dataset.state)")
    charts = page.locator("[data-chart]")
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.get_attribute("data-state") == "nodata", chart.get_attribute("data-chart")
        assert chart.get_attribute("data-series") == "0"
        assert chart.locator("canvas").count() == 0  # no empty plot drawn instead of the message
        message = chart.locator(".nodata")
        assert message.is_visible() and message.inner_text() == "No data in this range"
    return int(charts.count())


def test_slo_without_data_says_so_on_its_page_and_in_the_overview(page: Any, empty_world: SloguardProcess) -> None:
    page.goto(empty_world.url + "/slos/fresh-availability")
    assert _check_charts(page) >= 3  # SLI, budget and one burn chart per alert window pair
    assert "no data" in page.locator("#slo-now tbody").inner_text()
    assert "No data for this SLO in this range yet" in _visible_text(page)
    shot(page, "slo-no-data")
    page.goto(empty_world.url + "/")
    row = page.locator("#slo-rows tr", has_text="fresh-availability")
    assert row.locator("td").nth(5).inner_text() == "no data"
    assert "nodata" in (row.get_attribute("class") or "")


def test_service_without_traffic_shows_no_data_not_a_full_budget(page: Any, empty_world: SloguardProcess) -> None:
    slo: Any = httpx.get(f"{empty_world.url}/api/v1/slos/quiet-availability").json()["data"]
    assert {b["status"] for b in slo["budgets"]} == {"no data"}  # the series exist, with zero requests
    page.goto(empty_world.url + "/slos/quiet-availability?range=1h")
    assert _check_charts(page) >= 3
    now = page.locator("#slo-now tbody").inner_text()
    assert "no data" in now and "100" not in now, now  # zero requests is no evidence of a whole budget
    page.goto(empty_world.url + "/")
    row = page.locator("#slo-rows tr", has_text="quiet-availability")
    assert row.locator("td").nth(5).inner_text() == "no data"
    assert "quiet-v2" in row.inner_text()  # the rollout in progress is shown beside the idle service


def test_every_page_renders_while_the_tsdb_is_under_write_load(page: Any, empty_world: SloguardProcess, writer: Writer) -> None:
    deadline = time.monotonic() + 30
    while writer.batches < 3 and time.monotonic() < deadline:  # the load is on before the first page
        time.sleep(0.05)
    assert writer.batches >= 3, writer.errors
    for path in PAGES:
        resp = page.goto(empty_world.url + path)
        assert resp is not None and resp.status == 200, path
        page.wait_for_load_state("networkidle")
        text = _visible_text(page)
        assert page.locator("main h1").count() == 1, path
        assert not [w for w in LEAKS if w in text], (path, [w for w in LEAKS if w in text])
        if page.locator("[data-chart]").count():
            _check_charts(page)
    assert writer.is_alive() and writer.batches > 10 and writer.errors == []
    got: Any = httpx.get(f"{empty_world.url}/api/v1/query", params={"query": "count(load_gauge)"}).json()["data"]
    assert float(got["result"][0]["value"][1]) == 500  # the writes landed while the pages were served
    shot(page, "silence-form-under-load")
