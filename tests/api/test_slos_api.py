"""``/api/v1/slos``: clean error budgets, alerts per grouping row, and the history route."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from rich.console import Console
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.slo import history
from sloguard.slo.loader import load_text
from sloguard.slo.model import SLO
from sloguard.slo.report import print_table, table
from sloguard.tsdb.testing import MemoryStorage

M, H, D = 60_000, 3_600_000, 86_400_000
NOW = 1_700_000_000_000 // H * H

SPEC = """
apiVersion: sloguard/v1
service: shop
slos:
  - name: avail
    objective: 99.5
    period: 1d
    grouping: [route]
    sli: {ratio: {bad: 'req_total{code="500"}', total: 'req_total'}}
"""


def _slo() -> SLO:
    slos, problems = load_text(SPEC, "t.yml")
    assert problems == []
    return slos[0]


def _store() -> MemoryStorage:
    st = MemoryStorage()
    ts = np.arange(NOW - 2 * D, NOW + 1, M)
    for route, err in (("/a", 0.02), ("/b", 0.001)):
        st.add(Labels.of(name__="req_total", route=route, code="500"), ts, np.cumsum(np.full(len(ts), 100 * err)))
        st.add(Labels.of(name__="req_total", route=route, code="200"), ts, np.cumsum(np.full(len(ts), 100 * (1 - err))))
    return st


def _rule(route: str, tier: str, state: str) -> SimpleNamespace:
    labels = Labels.of(slo="avail", service="shop", route=route, sloguard_tier=tier)
    alert = SimpleNamespace(labels=labels, state=state, value=0.02)
    return SimpleNamespace(name="AvailBudgetBurn", labels=Labels.of(slo="avail", sloguard_tier=tier),
                           active_alerts=lambda: [alert])


def _client(rules: list[SimpleNamespace] | None = None) -> TestClient:
    st = _store()
    manager = SimpleNamespace(alerting_rules=lambda: rules or [])
    ctx = ServerContext(storage=st, engine=PromQLEngine(st), slos=[_slo()], rule_manager=manager)
    return TestClient(create_app(ctx))


def test_error_budget_of_99_5_is_shown_as_0_005() -> None:
    (slo,) = _client().get("/api/v1/slos", params={"time": NOW / 1000}).json()["data"]
    assert slo["objective"] == 0.995
    assert slo["errorBudget"] == 0.005  # not 0.0050000000000000044


def test_each_grouping_row_shows_only_its_own_alerts() -> None:
    client = _client([_rule("/a", "page", "firing"), _rule("/b", "ticket", "pending")])
    (slo,) = client.get("/api/v1/slos", params={"time": NOW / 1000}).json()["data"]
    rows = {b["labels"]["route"]: b for b in slo["budgets"]}
    assert [(a["tier"], a["state"]) for a in rows["/a"]["alerts"]] == [("page", "firing")]
    assert [(a["tier"], a["state"]) for a in rows["/b"]["alerts"]] == [("ticket", "pending")]
    assert len(slo["alerts"]) == 2  # the SLO keeps the full list
    out = io.StringIO()
    print_table(table([slo]), Console(file=out))
    (a_row,) = [line for line in out.getvalue().splitlines() if "route=/a" in line]
    (b_row,) = [line for line in out.getvalue().splitlines() if "route=/b" in line]
    assert "page:firing" in a_row and "ticket" not in a_row
    assert "ticket:pending" in b_row and "page" not in b_row


def test_history_route_returns_the_computed_history() -> None:
    client = _client()
    r = client.get("/api/v1/slos/avail/history", params={"start": (NOW - 2 * H) / 1000, "end": NOW / 1000, "step": "10m"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    st = _store()
    expected = history.compute(PromQLEngine(st), _slo(), NOW - 2 * H, NOW, 10 * M)
    assert data["timestamps"] == [t / 1000 for t in expected.steps.tolist()]
    assert [s["labels"] for s in data["series"]] == [{"route": "/a"}, {"route": "/b"}]
    a = data["series"][0]
    assert a["budgetRemaining"] == pytest.approx(expected.series[0].budget_remaining.tolist())
    assert a["budgetRemaining"][-1] == pytest.approx(1 - 0.02 / 0.005, rel=1e-6)
    assert a["burnRates"]["1h"][-1] == pytest.approx(4.0, rel=1e-6)
    assert set(a["burnRates"]) == set(data["windows"]) and "3d" in data["windows"]
    assert [t["tier"] for t in data["alertTiers"]] == ["page", "ticket"]
    default = client.get("/api/v1/slos/avail/history", params={"end": NOW / 1000}).json()["data"]
    assert len(default["timestamps"]) <= history.MAX_POINTS and default["timestamps"][-1] <= NOW / 1000


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"start": "yesterday"}, 400, 'invalid parameter "start": Invalid time value for \'start\': cannot parse "yesterday" to a valid timestamp'),
    ({"start": "100", "end": "50"}, 400, "end (50) is before start (100)"),
    ({"start": "0", "end": "86400", "step": "1s"}, 400, "86,401 points"),
    ({"step": "soon"}, 400, 'invalid parameter "step": cannot parse "soon" to a valid duration'),
])
def test_history_refuses_bad_parameters_with_a_clear_message(params: dict[str, str], status: int, words: str) -> None:
    r = _client().get("/api/v1/slos/avail/history", params=params)
    assert r.status_code == status and words in r.json()["error"], r.text


def test_history_of_an_unknown_slo_is_404() -> None:
    r = _client().get("/api/v1/slos/nope/history")
    assert r.status_code == 404 and "no SLO named 'nope'" in r.json()["error"]
