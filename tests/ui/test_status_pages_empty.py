"""Targets, Rules, Status and Explore on a server with nothing configured: each says so in a
sentence (no stack trace, no blank page); pages that fail to read an API name it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.tsdb.testing import MemoryStorage


@pytest.fixture()
def client() -> Iterator[TestClient]:
    from sloguard.promql.engine import PromQLEngine

    storage = MemoryStorage()
    with TestClient(create_app(ServerContext(storage=storage, engine=PromQLEngine(storage)))) as c:
        yield c


def test_no_scrape_target_is_an_empty_state_naming_the_config_key(client: TestClient) -> None:
    r = client.get("/targets")
    assert r.status_code == 200
    assert "No scrape targets" in r.text and "<code>scrape_configs</code>" in r.text and "<table" not in r.text


def test_no_rule_is_an_empty_state_naming_the_config_keys(client: TestClient) -> None:
    r = client.get("/rules?type=alert")
    assert r.status_code == 200 and "No rules" in r.text and "<code>rule_files</code>" in r.text


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
