"""``GET /api/v1/alerts/history``: a range's events, filtered by the SLO's labels; silence
writes through the v2 API recorded with who made them (the authenticated user, else the
name given, else ``api``)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from starlette.testclient import TestClient

from sloguard.alerting.testing import FakeAlerting
from sloguard.api import ServerContext, create_app
from sloguard.api._webconfig import WebConfig
from sloguard.clock import ManualClock
from sloguard.state import HistoryEvent, HistoryKind, SilenceMatcher
from sloguard.tsdb.testing import MemoryStorage

NOW = 1_800_000_000_000  # 2027-01-15T08:00:00Z
CONFIG = "route: {receiver: default}\nreceivers: [{name: default}]\n"
HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
SHOP = {"alertname": "SLOBurn", "slo": "shop-availability", "service": "shop", "sloguard_tier": "page"}
CART = {**SHOP, "slo": "cart-availability", "service": "cart"}


def _silence(*matchers: tuple[str, str], who: str = "me") -> dict[str, Any]:
    return {"matchers": [{"name": n, "value": v, "isRegex": False} for n, v in matchers],
            "startsAt": "2027-01-15T08:00:00Z", "endsAt": "2027-01-15T10:00:00Z", "createdBy": who,
            "comment": "deploy window"}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAlerting]:
    service = FakeAlerting(CONFIG, tmp_path / "state.db", ManualClock(NOW))
    yield service
    service.close()


def _client(fake: FakeAlerting, web: WebConfig | None = None) -> TestClient:
    return TestClient(create_app(ServerContext(storage=MemoryStorage(), alerting=fake, web_config=web)))


def _history(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/v1/alerts/history", params={"start": str(NOW // 1000 - 3600), "end": str(NOW // 1000 + 60),
                                                      **params})
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def test_silence_create_and_expire_are_in_the_history_with_their_actors(fake: FakeAlerting) -> None:
    client = _client(fake)
    first = client.post("/api/v2/silences", json=_silence(("slo", "shop-availability"))).json()["silenceID"]
    second = client.post("/api/v2/silences", json=_silence(("slo", "cart-availability"), who="erin")).json()["silenceID"]
    assert client.delete(f"/api/v2/silence/{first}", params={"actor": "bob"}).status_code == 200
    assert client.delete(f"/api/v2/silence/{second}").status_code == 200  # no name given
    got = [(e["kind"], e["key"], e["actor"], e["createdBy"]) for e in _history(client)]
    assert got == [("silence_created", first, "me", "me"), ("silence_created", second, "erin", "erin"),
                   ("silence_expired", first, "bob", "me"), ("silence_expired", second, "api", "erin")]
    created = _history(client)[0]
    assert created["matchers"] == [{"name": "slo", "value": "shop-availability", "isRegex": False, "isEqual": True}]
    assert created["comment"] == "deploy window" and created["time"] == "2027-01-15T08:00:00.000Z"


def test_the_authenticated_user_is_the_actor_whatever_name_is_given(fake: FakeAlerting) -> None:
    client = _client(fake, WebConfig(basic_auth_users={"alice": HASH}))
    auth = {"authorization": "Basic " + base64.b64encode(b"alice:pw").decode()}
    sid = client.post("/api/v2/silences", json=_silence(("slo", "x"), who="someone"), headers=auth).json()["silenceID"]
    assert client.delete(f"/api/v2/silence/{sid}", params={"actor": "mallory"}, headers=auth).status_code == 200
    got = client.get("/api/v1/alerts/history", headers=auth).json()["data"]
    assert [(e["kind"], e["actor"], e["createdBy"]) for e in got] == [
        ("silence_created", "alice", "someone"), ("silence_expired", "alice", "someone")]


def test_match_keeps_the_slos_alerts_and_the_silences_that_concern_them(fake: FakeAlerting) -> None:
    client = _client(fake)
    t = NOW - 600_000
    fake.alert_history.record([
        HistoryEvent(t, HistoryKind.ALERT_FIRED, "01", SHOP, starts_at=t),
        HistoryEvent(t + 1, HistoryKind.ALERT_FIRED, "02", CART, starts_at=t + 1),
        HistoryEvent(t + 2, HistoryKind.ALERT_RESOLVED, "01", SHOP, starts_at=t, ends_at=t + 2),
        HistoryEvent(t + 3, HistoryKind.SILENCE_CREATED, "s-alert", matchers=(  # made from shop's alert
            SilenceMatcher("alertname", "SLOBurn"), SilenceMatcher("sloguard_tier", "page|ticket", is_regex=True),
            SilenceMatcher("slo", "shop-availability")), created_by="alice"),
        HistoryEvent(t + 4, HistoryKind.SILENCE_CREATED, "s-slo", matchers=(SilenceMatcher("slo", "shop-availability"),)),
        HistoryEvent(t + 5, HistoryKind.SILENCE_CREATED, "s-cart", matchers=(SilenceMatcher("slo", "cart-availability"),)),
        HistoryEvent(t + 6, HistoryKind.SILENCE_CREATED, "s-other", matchers=(SilenceMatcher("alertname", "Other"),)),
    ])
    shop = _history(client, **{"match[]": '{slo="shop-availability",service="shop"}'})
    assert [e["key"] for e in shop] == ["01", "01", "s-alert", "s-slo"]
    assert shop[0]["labels"] == SHOP and shop[1]["kind"] == "alert_resolved"
    assert len(_history(client)) == 7  # no selector: everything
    both = _history(client, **{"match[]": ['{slo="shop-availability"}', '{slo="cart-availability"}']})
    assert [e["key"] for e in both] == ["01", "02", "01", "s-alert", "s-slo", "s-cart"]


def test_bad_parameters_are_refused_with_their_name(fake: FakeAlerting) -> None:
    client = _client(fake)
    r = client.get("/api/v1/alerts/history", params={"start": "200", "end": "100"})
    assert r.status_code == 400 and "end timestamp must not be before start" in r.json()["error"]
    r = client.get("/api/v1/alerts/history", params={"limit": "many"})
    assert r.status_code == 400 and '"limit"' in r.json()["error"]
    r = client.get("/api/v1/alerts/history", params={"match[]": "{slo="})
    assert r.status_code == 400 and "match[]" in r.json()["error"]
    off = TestClient(create_app(ServerContext(storage=MemoryStorage())))
    r = off.get("/api/v1/alerts/history")
    assert r.status_code == 503 and "not running" in r.json()["error"]
