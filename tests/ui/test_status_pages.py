"""Targets, Rules, Status and Explore rendered by the server (no browser): with nothing
configured each says so in a sentence (no stack trace, no blank page); an API that cannot
answer is named; a rule whose evaluation fails shows its error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
from sloguard.tsdb.testing import MemoryStorage

RULES = """
groups:
  - name: shop
    rules:
      - record: ok:sum
        expr: sum(bar)
      - alert: ManyToMany
        expr: bar + on(a) foo
"""


@pytest.fixture()
def client() -> Iterator[TestClient]:
    storage = MemoryStorage()
    with TestClient(create_app(ServerContext(storage=storage, engine=PromQLEngine(storage)))) as c:
        yield c


def test_no_scrape_target_is_an_empty_state_naming_the_config_key(client: TestClient) -> None:
    r = client.get("/targets")
    assert r.status_code == 200
    assert "No scrape targets" in r.text and "<code>scrape_configs</code>" in r.text and "<table" not in r.text


def test_no_rule_is_an_empty_state_naming_the_config_keys(client: TestClient) -> None:
    r = client.get("/rules")
    assert r.status_code == 200 and "No rules" in r.text and "<code>rule_files</code>" in r.text
    assert "No alerting rules are loaded." in client.get("/rules?type=alert").text


def test_status_without_a_config_file_says_the_defaults_run(client: TestClient) -> None:
    r = client.get("/status")
    assert r.status_code == 200
    assert "No configuration file is loaded" in r.text
    assert "The head holds no series yet" in r.text and r.text.count("No data yet.") == 4


def test_an_empty_explore_page_invites_a_query_and_an_empty_result_says_so(client: TestClient) -> None:
    assert "Enter an expression" in client.get("/graph").text
    table = client.get("/graph", params={"g0.expr": "nothing_here", "g0.tab": "1"}).text
    assert "Empty query result" in table and "0 results (vector)" in table
    graph = client.get("/graph", params={"g0.expr": "nothing_here", "g0.tab": "0"}).text
    assert "0 series" in graph and '"result": []' in graph


def test_an_api_that_cannot_answer_is_named_on_the_page() -> None:
    app = create_app(ServerContext(storage=MemoryStorage()))  # no query engine: the query API answers 503
    with TestClient(app) as c:
        r = c.get("/graph", params={"g0.expr": "up", "g0.tab": "1"})
    assert r.status_code == 200 and 'role="alert" data-error' in r.text


def test_a_failing_rule_shows_its_health_and_error_and_links_its_query(tmp_path: Path) -> None:
    storage = MemoryStorage()
    now_ms = int(time.time() * 1000)
    for labels in (Labels.of(name__="foo", a="1", b="1"), Labels.of(name__="foo", a="1", b="2"), Labels.of(name__="bar", a="1")):
        storage.add(labels, [now_ms - 30_000], [1.0])
    (tmp_path / "rules.yml").write_text(RULES)
    engine = PromQLEngine(storage)
    manager = RuleManager(ManagerOptions(query=engine_query_func(engine), storage=storage), use_threads=False)
    manager.update([str(tmp_path / "rules.yml")])
    for g in manager.groups():
        g.eval(now_ms)
    with TestClient(create_app(ServerContext(storage=storage, engine=engine, rule_manager=manager))) as c:
        api = c.get("/api/v1/rules").json()["data"]["groups"][0]["rules"]
        page = c.get("/rules").text
    bad = next(r for r in api if r["name"] == "ManyToMany")
    assert bad["health"] == "err" and bad["lastError"]
    assert str(escape(bad["lastError"])) in page and '<span class="pill err">1 failing</span>' in page
    link = "/graph?" + urlencode({"g0.expr": bad["query"], "g0.tab": "1"})  # the alert's generatorURL form
    assert f'href="{escape(link)}"' in page and "bar" in bad["query"]


class _Scrapes:
    """A scrape manager with one healthy and one failing target (``targets_json`` as the API reads it)."""

    def targets_json(self) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        def target(port: int, health: str, error: str) -> dict[str, object]:
            return {"scrapePool": "api", "scrapeUrl": f"http://127.0.0.1:{port}/metrics", "health": health,
                    "labels": {"job": "api", "instance": f"127.0.0.1:{port}"}, "lastError": error,
                    "lastScrape": "2026-12-03T20:00:00Z", "lastScrapeDuration": 0.0042}
        return [target(1, "up", ""), target(2, "down", "connection refused")], [{"discoveredLabels": {}}]


def test_a_down_target_shows_its_error_and_the_pool_its_count() -> None:
    app = create_app(ServerContext(storage=MemoryStorage(), scrape_manager=_Scrapes()))
    with TestClient(app) as c:
        page = c.get("/targets").text
        down = c.get("/targets?health=down").text
    assert "1/2 up" in page and "connection refused" in page and "4.2 ms" in page and "1 dropped by relabeling" in page
    assert "127.0.0.1:1/metrics" not in down and "127.0.0.1:2/metrics" in down and "1/2 up" in down


def test_a_graph_of_very_many_series_draws_the_first_ones_and_says_so(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from sloguard.ui import _graph

    monkeypatch.setattr(_graph, "MAX_GRAPH_SERIES", 1)
    expr = 'label_replace(vector(1), "i", "x", "", "") or count_values("v", vector(1))'
    page = client.get("/graph", params={"g0.expr": expr, "g0.tab": "0"}).text
    assert "2 series (the first 1 drawn)" in page and page.count('"metric"') == 1
