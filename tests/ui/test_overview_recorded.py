"""The overview reads the budgets the SLO rules record (``ui._recorded``) instead of
computing a thousand budgets on request; ``/api/v1/slos?budgets=false`` gives the specs."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.slo.loader import load_text
from sloguard.tsdb.testing import MemoryStorage
from sloguard.ui import _recorded

SPEC = """
apiVersion: sloguard/v1
service: shop
slos:
  - name: ruled
    objective: 99%
    period: 1d
    grouping: [route]
    sli: {ratio: {bad: 'req_total{code="500"}', total: 'req_total'}}
  - name: ruled-empty
    objective: 99%
    period: 1d
    sli: {ratio: {bad: 'none_total{code="500"}', total: 'none_total'}}
  - name: ruled-idle
    objective: 99%
    period: 1d
    sli: {ratio: {bad: 'idle_total{code="500"}', total: 'idle_total'}}
  - name: unruled
    objective: 99%
    period: 1d
    sli: {ratio: {bad: 'req_total{code="500"}', total: 'req_total'}}
"""


def _add(st: MemoryStorage, name: str, value: float, t_ms: int, **labels: str) -> None:
    st.add(Labels.of(name__=name, service="shop", **labels), [t_ms], [value])


def _client() -> TestClient:
    slos, problems = load_text(SPEC, "t.yml")
    assert problems == []
    st = MemoryStorage()
    now = int(time.time() * 1000)
    budget_at = now - 8 * 60_000  # the budget group runs every 5m: older than the default lookback
    for route, remaining, ratio1h in (("/a", 0.25, 0.03), ("/b", 0.9, 0.001)):
        _add(st, "slo:error_budget_remaining:ratio", remaining, budget_at, slo="ruled", route=route)
        _add(st, "slo:period_burn_rate:ratio", 1 - remaining, budget_at, slo="ruled", route=route)
        _add(st, "slo:sli_error:ratio_rate1h", ratio1h, now - 30_000, slo="ruled", route=route)
        _add(st, "slo:sli_error:ratio_rate5m", ratio1h / 2, now - 30_000, slo="ruled", route=route)
    _add(st, "slo:error_budget_remaining:ratio", float("nan"), budget_at, slo="ruled-idle")  # zero traffic: 0/0
    for slo in ("ruled", "ruled-empty", "ruled-idle"):
        _add(st, "slo:info", 1, budget_at, slo=slo)
    ts = list(range(now - 3_600_000, now, 60_000))  # raw data for the SLO whose rules have not run
    st.add(Labels.of(name__="req_total", code="200"), ts, np.cumsum(np.full(len(ts), 99.5)).tolist())
    st.add(Labels.of(name__="req_total", code="500"), ts, np.cumsum(np.full(len(ts), 0.5)).tolist())
    return TestClient(create_app(ServerContext(storage=st, engine=PromQLEngine(st), slos=slos)))


def _rows(html: str) -> dict[str, str]:
    """``slo [labels]`` -> the budget cell's data-value, for every overview row."""
    out = {}
    for row in re.findall(r"<tr data-rank.*?</tr>", html, re.S):
        cells = re.findall(r'data-value="([^"]*)"', row)
        labels = " ".join(re.findall(r'<span class="label">([^<]*)</span>', row))
        out[f"{cells[1]} {labels}".strip()] = cells[4]
    return out


def test_overview_shows_recorded_budgets_per_row_and_computes_slos_not_yet_ruled() -> None:
    client = _client()
    rows = _rows(client.get("/").text)
    assert "ruled-idle" in _rows(client.get("/", params={"q": "no data"}).text)
    assert _rows(client.get("/", params={"q": "exhausted"}).text) == {}
    assert rows["ruled route=/a"] == "0.25" and rows["ruled route=/b"] == "0.9"
    assert rows["ruled-empty"] == ""  # its rules ran and recorded no budget: no data
    assert rows["ruled-idle"] == ""  # a budget of 0/0 (no requests) is no data, not an exhausted budget
    assert abs(float(rows["unruled"]) - 0.5) < 1e-6  # 0.5% errors at a 99% objective: computed from the raw series


def test_overview_rows_carry_the_recorded_sli_and_fastest_burn() -> None:
    html = _client().get("/").text
    row = next(r for r in re.findall(r"<tr data-rank.*?</tr>", html, re.S) if "route=/a" in r)
    values = re.findall(r'data-value="([^"]*)"', row)
    assert abs(float(values[3]) - (1 - 0.75 * 0.01)) < 1e-9  # SLI: 1 - period burn x budget
    assert abs(float(re.findall(r'data-value="([^"]*)"', row)[5]) - 3.0) < 1e-9  # 1h: 0.03 / 0.01


def test_slo_list_without_budgets_gives_specs_and_refuses_other_values() -> None:
    client = _client()
    got = client.get("/api/v1/slos", params={"budgets": "false"}).json()["data"]
    assert [s["name"] for s in got] == ["ruled", "ruled-empty", "ruled-idle", "unruled"] and all("budgets" not in s for s in got)
    assert all("budgets" in s for s in client.get("/api/v1/slos").json()["data"])
    bad = client.get("/api/v1/slos", params={"budgets": "maybe"})
    assert bad.status_code == 400 and "budgets" in bad.json()["error"]


def test_past_the_fallback_limit_slos_without_records_say_no_data_or_not_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_recorded, "FALLBACK_MAX", 0)
    client = _client()
    rows = _rows(client.get("/").text)
    assert rows["unruled"] == "" and rows["ruled route=/a"] == "0.25"  # not computed one by one
    assert set(_rows(client.get("/", params={"q": "not evaluated yet"}).text)) == {"unruled"}
    assert set(_rows(client.get("/", params={"q": "no data"}).text)) == {"ruled-empty", "ruled-idle"}


def test_the_overview_renders_the_worst_rows_first_and_all_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from sloguard.ui import _overview

    client = _client()
    every = _rows(client.get("/").text)
    assert len(every) == 5
    monkeypatch.setattr(_overview, "PAGE_ROWS", 2)
    first = client.get("/").text
    assert list(_rows(first)) == list(every)[:2] and "data-truncated" in first  # worst first, in the same order
    assert "Show all 5" in first and "limit=all" in first
    assert list(_rows(client.get("/", params={"limit": "all"}).text)) == list(every)
    last = list(every)[-1].split(" ")[0]  # the filter sees every row, not only the first page
    assert last in " ".join(_rows(client.get("/", params={"q": last}).text))
    assert len(_rows(client.get("/", params={"limit": "3"}).text)) == 3
    assert len(_rows(client.get("/", params={"limit": "-1"}).text)) == 2  # not a count: the default
