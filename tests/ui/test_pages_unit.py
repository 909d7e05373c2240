"""The pages' logic without a browser: ordering and filtering of the overview, the SLO
page's time range and tier states, escaping, empty states and error pages (in-process app)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.promql.engine import PromQLEngine
from sloguard.tsdb.testing import MemoryStorage
from sloguard.ui._overview import arrange, in_progress, rows_of
from sloguard.ui._slo_detail import RangeError, default_range, tier_rows, time_range
from tests.e2e._slo_alerts import load_slos


def _slo(name: str, remaining: float | None, alerts: list[dict[str, Any]] = (), burn: float = 1.0) -> dict[str, Any]:  # type: ignore[assignment]
    budget = None if remaining is None else {
        "labels": {}, "status": "ok", "sli": 0.99, "errorBudget": {"remainingRatio": remaining},
        "burnRates": [{"window": "1h", "burnRate": burn}, {"window": "5m", "burnRate": burn * 2}], "alerts": list(alerts)}
    return {"name": name, "service": name.split("-")[0], "objective": 0.99, "period": "rolling 28d",
            "budgets": [budget] if budget else [], "alerts": list(alerts)}


def test_rows_are_worst_first_firing_then_pending_then_least_budget_and_no_data_last() -> None:
    slos = [_slo("a-ok", 0.9), _slo("b-low", 0.1), _slo("c-none", None),
            _slo("d-pending", 0.95, [{"tier": "page", "state": "pending"}]),
            _slo("e-firing", 0.99, [{"tier": "ticket", "state": "firing"}])]
    rows = rows_of(slos, [])
    assert [r.slo for r in rows] == ["e-firing", "d-pending", "b-low", "a-ok", "c-none"]
    assert rows[0].burn == 2.0 and rows[0].burn_window == "5m"  # the fastest window
    assert rows[-1].budget is None and rows[-1].status == "no data"


def test_filter_keeps_rows_with_every_word_and_sorting_keeps_no_data_last() -> None:
    rows = rows_of([_slo("a-ok", 0.9), _slo("b-low", 0.1), _slo("c-none", None)], [])
    assert [r.slo for r in arrange(rows, "b low", "rank", False)] == ["b-low"]
    assert [r.slo for r in arrange(rows, "", "budget", False)] == ["b-low", "a-ok", "c-none"]
    assert [r.slo for r in arrange(rows, "", "budget", True)] == ["a-ok", "b-low", "c-none"]


def test_the_rollout_in_progress_is_the_latest_unfinished_one_of_the_service() -> None:
    got = in_progress([
        {"name": "old", "service": "shop", "phase": "Paused", "updatedAt": "2026-01-01T00:00:00Z"},
        {"name": "new", "service": "shop", "phase": "Progressing", "updatedAt": "2026-01-02T00:00:00Z"},
        {"name": "done", "service": "shop", "phase": "Healthy", "updatedAt": "2026-01-03T00:00:00Z"},
    ])
    assert {k: v["name"] for k, v in got.items()} == {"shop": "new"}


def test_time_range_defaults_to_the_slo_window_and_reads_rfc3339_or_unix_ends() -> None:
    assert default_range("rolling 28d") == "28d" and default_range("calendar month (UTC)") == "31d"
    r = time_range({}, "rolling 1d", now=100_000.0)
    assert (r.start, r.end, r.live) == (13_600.0, 100_000.0, True)
    pinned = time_range({"range": "1h", "end": "2026-12-03T20:00:00Z"}, "rolling 1d", now=0.0)
    assert pinned.end == 1_796_328_000.0 and pinned.start == pinned.end - 3600 and not pinned.live
    assert pinned.end_iso == "2026-12-03T20:00:00Z"
    assert time_range({"end": "1796328000"}, "rolling 1h", now=0.0).end == 1_796_328_000.0
    with pytest.raises(RangeError, match="range='yesterday' is not a duration"):
        time_range({"range": "yesterday"}, "rolling 1d", now=0.0)
    with pytest.raises(RangeError, match="end='soon' is neither RFC3339"):
        time_range({"end": "soon"}, "rolling 1d", now=0.0)


def test_tier_rows_give_each_window_pair_its_own_state() -> None:
    history = {"alertTiers": [{"tier": "page", "windows": [{"long": "1h", "short": "5m", "factor": 14.4},
                                                           {"long": "6h", "short": "30m", "factor": 6}]}]}
    alerts = [{"tier": "page", "state": "firing", "labels": {"sloguard_long": "6h"}}]
    assert [(r["long"], r["state"]) for r in tier_rows(history, alerts)] == [("1h", "ok"), ("6h", "firing")]


@pytest.fixture()
def client() -> TestClient:
    storage = MemoryStorage()
    text = """
apiVersion: sloguard/v1
service: checkout
slos:
  - name: checkout-availability
    description: "<script>alert(1)</script>"
    objective: 99%
    sli: {ratio: {bad: 'http_requests_total{code=~"5.."}', total: 'http_requests_total'}}
"""
    return TestClient(create_app(ServerContext(storage=storage, engine=PromQLEngine(storage), slos=load_slos(text))))


def test_pages_escape_spec_text_and_show_no_data(client: TestClient) -> None:
    page = client.get("/slos/checkout-availability").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "No data for this SLO in this range yet" in page
    assert "no data" in client.get("/").text


def test_an_empty_server_says_there_are_no_slos_yet() -> None:
    page = TestClient(create_app(ServerContext(storage=MemoryStorage()))).get("/")
    assert page.status_code == 200 and "No SLOs yet" in page.text


def test_unknown_slos_and_bad_ranges_get_error_pages_with_a_sentence(client: TestClient) -> None:
    missing = client.get("/slos/nope")
    assert missing.status_code == 404 and "no SLO named &#39;nope&#39;" in missing.text
    bad = client.get("/slos/checkout-availability", params={"range": "-5m"})
    assert bad.status_code == 400 and "range=&#39;-5m&#39;" in bad.text and "Traceback" not in bad.text


def test_static_files_ship_in_the_package(client: TestClient) -> None:
    for path in ("js/sloguard.js", "js/chart.js", "js/tables.js", "css/sloguard.css",
                 "vendor/uplot/uPlot.iife.min.js", "vendor/uplot/LICENSE"):
        assert client.get(f"/ui/static/{path}").status_code == 200, path
    assert client.get("/ui/static/../templates/base.html").status_code == 404


def test_pages_read_the_api_as_the_caller_behind_basic_auth(tmp_path: Path) -> None:
    import bcrypt

    from sloguard.api._webconfig import load_web_config

    (tmp_path / "web.yml").write_text(f"basic_auth_users: {{ana: {bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=4)).decode()}}}\n")
    storage = MemoryStorage()
    ctx = ServerContext(storage=storage, engine=PromQLEngine(storage), slos=load_slos(),
                        web_config=load_web_config(tmp_path / "web.yml"))
    client = TestClient(create_app(ctx))
    assert client.get("/").status_code == 401
    page = client.get("/", auth=("ana", "pw"))
    assert page.status_code == 200 and "checkout-availability" in page.text  # the in-process API call was let in
