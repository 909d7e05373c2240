"""The Alertmanager v2 API over an in-memory AlertingService: every endpoint, every error
path with Alertmanager 0.25's status code and text (checked against the real binary in
test_am_api_peer.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from starlette.testclient import TestClient

from sloguard.alerting.marker import AlertState
from sloguard.alerting.model import Alert
from sloguard.alerting.service import AlertView, GroupView, Peer
from sloguard.alerting.testing import FakeAlerting
from sloguard.api import ServerContext, create_app
from sloguard.api._am_http import AmError
from sloguard.api._am_time import DateTimeError, format_datetime, parse_datetime
from sloguard.clock import ManualClock
from sloguard.labels import Labels
from sloguard.state import StateUnavailable
from sloguard.tsdb.testing import MemoryStorage

T = TypeVar("T")
NOW = 1_800_000_000_000  # 2027-01-15T08:00:00Z
CONFIG = """
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: [team="db"]
      receiver: db
      continue: true
    - matchers: [team=~"db|web"]
      receiver: web
receivers:
  - name: default
  - name: db
  - name: web
"""
SILENCE = {"matchers": [{"name": "a", "value": "b", "isRegex": False}], "startsAt": "2027-01-15T08:00:00Z",
           "endsAt": "2027-01-15T10:00:00Z", "createdBy": "me", "comment": "maintenance"}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAlerting]:
    service = FakeAlerting(CONFIG, tmp_path / "state.db", ManualClock(NOW))
    yield service
    service.close()


@pytest.fixture
def client(fake: FakeAlerting) -> TestClient:
    return TestClient(create_app(ServerContext(storage=MemoryStorage(), alerting=fake)))


def post_json(client: TestClient, path: str, body: str | bytes) -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json"})


# ---- POST /api/v2/alerts ------------------------------------------------------------------


def test_posted_alert_gets_alertmanagers_defaults(client: TestClient, fake: FakeAlerting) -> None:
    r = client.post("/api/v2/alerts", json=[{"labels": {"alertname": "Down", "empty": ""}, "annotations": {"s": "x"}}])
    assert r.status_code == 200 and r.content == b""
    (a,) = fake.received
    assert a.labels == Labels.of(alertname="Down")  # empty label values are dropped
    assert (a.starts_at, a.ends_at, a.timeout, a.annotations) == (NOW, NOW + 300_000, True, (("s", "x"),))


def test_valid_alerts_are_taken_and_the_invalid_ones_reported_together(client: TestClient, fake: FakeAlerting) -> None:
    body = [{"labels": {}}, {"labels": {"x": "y"}}, {"labels": {"b-c": "1"}}, {"labels": {"ok": "1"}, "annotations": {"0x": "y"}}]
    r = client.post("/api/v2/alerts", json=body)
    assert r.status_code == 400
    assert r.json() == 'at least one label pair required; invalid label set: invalid name "b-c"; invalid annotations: invalid name "0x"'
    assert [a.labels for a in fake.received] == [Labels.of(x="y")]


@pytest.mark.parametrize(("alert", "message"), [
    ({"labels": {"a": "b"}, "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2019-01-01T00:00:00Z"}, "start time must be before end time"),
    ({"labels": {"a": "b"}, "startsAt": "2099-01-01T00:00:00Z"}, "start time must be before end time"),  # end is now + 5m
    ({"labels": {"a": ""}}, "at least one label pair required"),
    ({"labels": {"a:b": "b"}}, 'invalid label set: invalid name "a:b"'),
])
def test_alertmanagers_validation_texts(client: TestClient, fake: FakeAlerting, alert: dict[str, Any], message: str) -> None:
    r = client.post("/api/v2/alerts", json=[alert])
    assert (r.status_code, r.json()) == (400, message)
    assert fake.received == []


def test_field_names_match_without_regard_to_case_the_last_one_winning(client: TestClient, fake: FakeAlerting) -> None:
    body = '[{"LABELS":{"x":"y"},"Labels":{"a":"b"},"Annotations":{"s":"t"}}]'
    assert post_json(client, "/api/v2/alerts", body).status_code == 200
    assert fake.received[0].labels.to_dict() == {"a": "b"} and dict(fake.received[0].annotations) == {"s": "t"}


def test_equal_start_and_end_and_given_times_are_kept(client: TestClient, fake: FakeAlerting) -> None:
    t = "2027-01-15T07:00:00.250+01:00"
    assert client.post("/api/v2/alerts", json=[{"labels": {"a": "b"}, "startsAt": t, "endsAt": t}]).status_code == 200
    assert (fake.received[0].starts_at, fake.received[0].ends_at) == (NOW - 7_200_000 + 250,) * 2


@pytest.mark.parametrize(("body", "status", "expected"), [
    ("not json", 400, "invalid character 'o' in literal null (expecting 'u')"),
    ("x", 400, "invalid character 'x' looking for beginning of value"),
    ('[{"labels":{"a":"b"}', 400, "unexpected EOF"),
    ('{"a" 1}', 400, "invalid character '1' after object key"),
    ("[1 2]", 400, "invalid character '2' after array element"),
    ("{}", 400, "json: cannot unmarshal object into Go value of type models.PostableAlerts"),
    ('"x"', 400, "json: cannot unmarshal string into Go value of type models.PostableAlerts"),
    ('[{"labels":{"a":1}}]', 400, "json: cannot unmarshal number into Go struct field Alert.labels of type string"),
    ('[{"labels":[]}]', 400, "json: cannot unmarshal array into Go struct field Alert.labels of type models.LabelSet"),
    ('[{"labels":{"a":"b"},"annotations":{"x":1}}]', 400, "json: cannot unmarshal number into Go struct field .annotations of type string"),
    ('[{"labels":{"a":"b"},"generatorURL":1}]', 400, "json: cannot unmarshal number into Go struct field Alert.generatorURL of type string"),
    ('[{"Labels":{"a":1}}]', 400, "json: cannot unmarshal number into Go struct field Alert.labels of type string"),
    ('[{"labels":{"a":1},"startsAt":1}]', 400, "json: cannot unmarshal number into Go struct field .startsAt of type string"),
    ('[{"labels":{"a":"b"},"startsAt":"garbage"}]', 400,
     'parsing time "garbage" as "2006-01-02 15:04:05": cannot parse "garbage" as "2006"'),
    ('[{"labels":{"a":"b"},"startsAt":"2020-01-01"}]', 400,
     'parsing time "2020-01-01" as "2006-01-02 15:04:05": cannot parse "" as "15"'),
    ('[{"labels":{"a":"b"},"endsAt":"2020-13-01 00:00:00"}]', 400, 'parsing time "2020-13-01 00:00:00": month out of range'),
    ('[{"labels":{"a":"b"},"startsAt":"2020-01-01 00:00:00 extra"}]', 400,
     'parsing time "2020-01-01 00:00:00 extra": extra text: " extra"'),
])
def test_undecodable_bodies_get_go_openapis_400(client: TestClient, fake: FakeAlerting, body: str, status: int, expected: str) -> None:
    r = post_json(client, "/api/v2/alerts", body)
    assert r.status_code == status
    assert r.json() == {"code": 400, "message": f'parsing alerts body from "" failed, because {expected}'}
    assert fake.received == []


@pytest.mark.parametrize(("body", "code", "message"), [
    ("", 602, "alerts in body is required"),
    ("  ", 602, "alerts in body is required"),
    ("[{}]", 602, "0.labels in body is required"),
    ('[{"labels":{"a":"b"}},{"labels":null}]', 602, "1.labels in body is required"),
    ('[{"labels":{"a":"b"},"generatorURL":"relative/path"}]', 601, '0.generatorURL in body must be of type uri: "relative/path"'),
    ('[{"generatorURL":"x y"}]', 601, '0.generatorURL in body must be of type uri: "x y"'),
    ('[{"labels":{"a":"b"},"generatorURL":"http://x:port/"}]', 601, '0.generatorURL in body must be of type uri: "http://x:port/"'),
    ('[{"labels":{"a":"b"},"generatorURL":"http://x/%zz"}]', 601, '0.generatorURL in body must be of type uri: "http://x/%zz"'),
])
def test_schema_failures_are_422_and_take_nothing(client: TestClient, fake: FakeAlerting, body: str, code: int, message: str) -> None:
    r = post_json(client, "/api/v2/alerts", body)
    assert (r.status_code, r.json()) == (422, {"code": code, "message": message})
    assert fake.received == []


@pytest.mark.parametrize("url", ["", "/relative", "http://x/graph?g0.expr=up%7B%7D&g0.tab=1", "mailto:x", "http://[::1]:9090/a"])
def test_generator_urls_go_accepts(client: TestClient, fake: FakeAlerting, url: str) -> None:
    assert client.post("/api/v2/alerts", json=[{"labels": {"a": "b"}, "generatorURL": url}]).status_code == 200
    assert fake.received[0].generator_url == url


def test_trailing_data_and_null_are_accepted_like_gos_decoder(client: TestClient, fake: FakeAlerting) -> None:
    assert post_json(client, "/api/v2/alerts", '[{"labels":{"a":"b"}}] trailing').status_code == 200
    assert post_json(client, "/api/v2/alerts", "null").status_code == 200
    assert len(fake.received) == 1


def test_a_body_that_is_not_json_is_415(client: TestClient) -> None:
    r = client.post("/api/v2/alerts", content=b"[]", headers={"content-type": "text/plain"})
    assert (r.status_code, r.json()) == (415, {"code": 415, "message": 'unsupported media type "text/plain", only [application/json] are allowed'})


def test_a_body_over_the_limit_is_413(fake: FakeAlerting) -> None:
    ctx = ServerContext(storage=MemoryStorage(), alerting=fake, settings={"alerting_max_body_bytes": 100})
    r = post_json(TestClient(create_app(ctx)), "/api/v2/alerts", json.dumps([{"labels": {"a": "b" * 200}}]))
    assert r.status_code == 413 and "100 bytes" in r.json()["message"]
    assert fake.received == []


# ---- GET /api/v2/alerts and /alerts/groups ------------------------------------------------


def _seed(fake: FakeAlerting) -> dict[str, Alert]:
    fake.receive([Alert.of({"alertname": "A", "team": "db"}), Alert.of({"alertname": "B", "team": "web"}),
                  Alert.of({"alertname": "C"}), Alert.of({"alertname": "Old"}, starts_at=NOW - 10_000, ends_at=NOW - 1)])
    by_name = {a.labels.get("alertname"): a for a in fake.received}
    fake.marker.set_active(by_name["A"].fingerprint)
    fake.marker.set_silenced(by_name["B"].fingerprint, ["s1"])
    fake.marker.set_inhibited(by_name["C"].fingerprint, ["abc"])
    return by_name


def names(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [a["labels"]["alertname"] for a in r.json()]


def test_get_alerts_shape_and_order(client: TestClient, fake: FakeAlerting) -> None:
    alerts = _seed(fake)
    r = client.get("/api/v2/alerts")
    got = r.json()
    assert [a["fingerprint"] for a in got] == sorted(a.fingerprint_hex for n, a in alerts.items() if n != "Old")
    a = next(x for x in got if x["labels"]["alertname"] == "A")
    assert list(a) == ["annotations", "endsAt", "fingerprint", "receivers", "startsAt", "status", "updatedAt", "labels"]
    assert a["receivers"] == [{"name": "db"}, {"name": "web"}]
    assert a["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}
    assert (a["startsAt"], a["endsAt"]) == ("2027-01-15T08:00:00.000Z", "2027-01-15T08:05:00.000Z")
    b = next(x for x in got if x["labels"]["alertname"] == "B")
    assert b["status"] == {"inhibitedBy": [], "silencedBy": ["s1"], "state": "suppressed"}


@pytest.mark.parametrize(("query", "expected"), [
    ("", {"A", "B", "C"}),
    ("?active=false", {"B", "C"}),
    ("?silenced=false", {"A", "C"}),
    ("?inhibited=0", {"A", "B"}),
    ("?silenced=f&inhibited=no&active=yes", {"A"}),
    ("?active=", {"A", "B", "C"}),  # empty: the default
    ("?unprocessed=false", {"A", "B", "C"}),  # accepted, no effect (as Alertmanager 0.25)
    ("?filter=team=~%22db|web%22", {"A", "B"}),
    ("?filter=team=%22%22", {"C"}),  # a="" also holds when a is absent
    ("?filter=team!=%22%22", {"A", "B"}),
    ("?filter=team!=db&filter=alertname=~%22[AB]%22", {"B"}),
    ("?receiver=web", {"A", "B"}),
    ("?receiver=d.*", {"A", "C"}),
    ("?receiver=", {"A", "B", "C"}),
])
def test_get_alerts_filters(client: TestClient, fake: FakeAlerting, query: str, expected: set[str]) -> None:
    _seed(fake)
    assert set(names(client.get("/api/v2/alerts" + query))) == expected


@pytest.mark.parametrize("path", ["/api/v2/alerts", "/api/v2/alerts/groups"])
@pytest.mark.parametrize(("query", "message"), [
    ("?filter=foo", "bad matcher format: foo"),
    ("?filter=", "bad matcher format: "),
    ('?filter=a=~"("', "error parsing regexp: missing closing ): `^(?:()$`"),
    ("?receiver=(", "failed to parse receiver param: error parsing regexp: missing closing ): `^(?:()$`"),
])
def test_bad_filters_are_400_with_alertmanagers_text(client: TestClient, path: str, query: str, message: str) -> None:
    r = client.get(path + query)
    assert (r.status_code, r.json()) == (400, message)


def _view(fake: FakeAlerting, alert: Alert) -> AlertView:
    return AlertView(alert, fake.marker.status(alert.fingerprint), fake.receivers_of(alert))


def test_groups_sorted_filtered_and_with_their_receivers(client: TestClient, fake: FakeAlerting) -> None:
    alerts = _seed(fake)
    a, b, c = (_view(fake, alerts[n]) for n in "ABC")
    fake.group_views = [
        GroupView(Labels.of(alertname="B"), "web", "r1", "k1", (b,)),
        GroupView(Labels.of(alertname="A"), "web", "r1", "k2", (a,)),
        GroupView(Labels.of(alertname="A"), "db", "r0", "k3", (a,)),
        GroupView(Labels.of(), "default", "r", "k4", (c,)),
    ]
    got = client.get("/api/v2/alerts/groups").json()
    assert [(g["labels"], g["receiver"]["name"]) for g in got] == [
        ({}, "default"), ({"alertname": "A"}, "db"), ({"alertname": "A"}, "web"), ({"alertname": "B"}, "web")]
    assert got[1]["alerts"][0]["receivers"] == [{"name": "db"}, {"name": "web"}]
    assert list(got[0]) == ["alerts", "labels", "receiver"]
    only_web = client.get("/api/v2/alerts/groups?receiver=web&silenced=false").json()
    assert [(g["labels"], [x["receivers"] for x in g["alerts"]]) for g in only_web] == [
        ({"alertname": "A"}, [[{"name": "web"}]])]  # B's group is empty once B is hidden


def test_groups_list_alerts_in_alertmanagers_order(client: TestClient, fake: FakeAlerting) -> None:
    fake.receive([Alert.of({"alertname": "X", "instance": "b"}), Alert.of({"alertname": "X", "instance": "a"}),
                  Alert.of({"alertname": "X"})])
    views = tuple(_view(fake, a) for a in fake.received)
    fake.group_views = [GroupView(Labels.of(alertname="X"), "default", "r", "k", views)]
    got = client.get("/api/v2/alerts/groups").json()
    assert [x["labels"].get("instance") for x in got[0]["alerts"]] == ["a", "b", None]


# ---- silences -----------------------------------------------------------------------------


def test_silence_life_cycle(client: TestClient, fake: FakeAlerting) -> None:
    r = client.post("/api/v2/silences", json=SILENCE)
    assert r.status_code == 200 and list(r.json()) == ["silenceID"]
    sid = r.json()["silenceID"]
    got = client.get(f"/api/v2/silence/{sid}").json()
    assert list(got) == ["id", "status", "updatedAt", "comment", "createdBy", "endsAt", "matchers", "startsAt"]
    assert got["status"] == {"state": "active"} and got["matchers"] == [{"isEqual": True, "isRegex": False, "name": "a", "value": "b"}]
    assert (got["startsAt"], got["endsAt"]) == ("2027-01-15T08:00:00.000Z", "2027-01-15T10:00:00.000Z")
    assert fake.silences.get(sid).comment == "maintenance"  # durable in the repository
    assert client.delete(f"/api/v2/silence/{sid}").status_code == 200
    assert client.delete(f"/api/v2/silence/{sid}").status_code == 200  # expiring again: still 200
    assert client.get(f"/api/v2/silence/{sid}").json()["status"] == {"state": "expired"}


def test_silence_update_keeps_the_id_when_alertmanager_would(client: TestClient) -> None:
    sid = client.post("/api/v2/silences", json=SILENCE).json()["silenceID"]
    again = client.post("/api/v2/silences", json={**SILENCE, "id": sid, "comment": "longer", "endsAt": "2027-01-15T12:00:00Z"})
    assert again.json() == {"silenceID": sid}
    assert client.get(f"/api/v2/silence/{sid}").json()["comment"] == "longer"


def test_silences_sorted_as_alertmanager(client: TestClient, fake: FakeAlerting) -> None:
    def add(start: str, end: str, comment: str) -> None:
        assert client.post("/api/v2/silences", json={**SILENCE, "startsAt": start, "endsAt": end, "comment": comment}).status_code == 200

    add("2027-01-15T08:00:00Z", "2027-01-15T12:00:00Z", "active-late")
    add("2027-01-15T08:00:00Z", "2027-01-15T09:00:00Z", "active-soon")
    add("2027-01-15T11:00:00Z", "2027-01-15T12:00:00Z", "pending-late")
    add("2027-01-15T09:00:00Z", "2027-01-15T12:00:00Z", "pending-soon")
    ids = {s.comment: s.id for s in fake.silences.list()}
    client.delete(f"/api/v2/silence/{ids['active-soon']}")
    clock = fake.clock
    assert isinstance(clock, ManualClock)
    asyncio.run(clock.advance(60_000))  # the second expires later: it is listed first
    client.delete(f"/api/v2/silence/{ids['pending-late']}")
    got = [s["comment"] for s in client.get("/api/v2/silences").json()]
    assert got == ["active-late", "pending-soon", "pending-late", "active-soon"]


def test_silences_filter_needs_each_matcher_exactly(client: TestClient) -> None:
    client.post("/api/v2/silences", json=SILENCE)
    client.post("/api/v2/silences", json={**SILENCE, "matchers": [*SILENCE["matchers"], {"name": "c", "value": "", "isRegex": False, "isEqual": False}]})
    assert len(client.get("/api/v2/silences", params={"filter": "a=b"}).json()) == 2
    assert len(client.get("/api/v2/silences", params={"filter": 'c!=""'}).json()) == 1
    assert client.get("/api/v2/silences", params={"filter": "a=~b"}).json() == []
    r = client.get("/api/v2/silences", params={"filter": "foo"})
    assert (r.status_code, r.json()) == (400, "bad matcher format: foo")


@pytest.mark.parametrize(("change", "message"), [
    ({"matchers": [{"name": "a", "value": "", "isRegex": False}]}, "silence invalid: at least one matcher must not match the empty string"),
    ({"matchers": [{"name": "a", "value": ".*", "isRegex": True}]}, "silence invalid: at least one matcher must not match the empty string"),
    ({"matchers": [{"name": "0a", "value": "x", "isRegex": False}]}, 'silence invalid: invalid label matcher 0: invalid label name "0a"'),
    ({"matchers": [{"name": "a", "value": "(", "isRegex": True}]},
     'silence invalid: invalid label matcher 0: invalid regular expression "(": error parsing regexp: missing closing ): `(`'),
    ({"startsAt": "2027-02-01T00:00:00Z", "endsAt": "2027-01-20T00:00:00Z"}, "Failed to create silence: start time must be before end time"),
    ({"endsAt": "2027-01-15T08:00:00Z"}, "Failed to create silence: start time must be before end time"),
    ({"startsAt": "2020-01-01T00:00:00Z", "endsAt": "2020-06-01T00:00:00Z"}, "Failed to create silence: end time can't be in the past"),
])
def test_silence_validation_texts(client: TestClient, fake: FakeAlerting, change: dict[str, Any], message: str) -> None:
    r = client.post("/api/v2/silences", json={**SILENCE, **change})
    assert (r.status_code, r.json()) == (400, message)
    assert fake.silences.list() == []


@pytest.mark.parametrize(("body", "status", "expected"), [
    ("{}", 422, {"code": 602, "message": "comment in body is required"}),
    (json.dumps({k: v for k, v in SILENCE.items() if k != "createdBy"}), 422, {"code": 602, "message": "createdBy in body is required"}),
    (json.dumps({**SILENCE, "startsAt": None}), 422, {"code": 602, "message": "startsAt in body is required"}),
    (json.dumps({**SILENCE, "matchers": []}), 422, {"code": 612, "message": "matchers in body should have at least 1 items"}),
    (json.dumps({**SILENCE, "matchers": [{"name": "a", "value": "b"}]}), 422, {"code": 602, "message": "matchers.0.isRegex in body is required"}),
    (json.dumps({**SILENCE, "matchers": [{"name": None, "value": "b", "isRegex": False}]}), 422, {"code": 602, "message": "matchers.0.name in body is required"}),
    ("", 422, {"code": 602, "message": "silence in body is required"}),
    ("x", 400, {"code": 400, "message": "parsing silence body from \"\" failed, because invalid character 'x' looking for beginning of value"}),
    ("[]", 400, {"code": 400, "message": 'parsing silence body from "" failed, because json: cannot unmarshal array into Go value of type struct { ID string "json:\\"id,omitempty\\"" }'}),
    (json.dumps({**SILENCE, "matchers": [{"name": "a", "value": "b", "isRegex": "x"}]}), 400,
     {"code": 400, "message": 'parsing silence body from "" failed, because json: cannot unmarshal string into Go struct field Matcher.matchers.isRegex of type bool'}),
    (json.dumps({**SILENCE, "matchers": {}}), 400,
     {"code": 400, "message": 'parsing silence body from "" failed, because json: cannot unmarshal object into Go struct field Silence.matchers of type models.Matchers'}),
    (json.dumps({**SILENCE, "createdBy": 1}), 400,
     {"code": 400, "message": 'parsing silence body from "" failed, because json: cannot unmarshal number into Go struct field Silence.createdBy of type string'}),
    (json.dumps({**SILENCE, "id": 1}), 400,
     {"code": 400, "message": 'parsing silence body from "" failed, because json: cannot unmarshal number into Go struct field .id of type string'}),
    (json.dumps({**SILENCE, "startsAt": "bad"}), 400,
     {"code": 400, "message": 'parsing silence body from "" failed, because parsing time "bad" as "2006-01-02 15:04:05": cannot parse "bad" as "2006"'}),
])
def test_undecodable_or_incomplete_silences(client: TestClient, body: str, status: int, expected: dict[str, Any]) -> None:
    r = post_json(client, "/api/v2/silences", body)
    assert (r.status_code, r.json()) == (status, expected)


def test_unknown_silence_ids(client: TestClient) -> None:
    unknown = "3b0b9d88-4b9a-4a59-a9f7-3e3c0e9e8a21"
    r = client.get(f"/api/v2/silence/{unknown}")
    assert (r.status_code, r.content) == (404, b"")
    r = client.delete(f"/api/v2/silence/{unknown}")
    assert (r.status_code, r.json()) == (500, "silence not found")
    r = client.post("/api/v2/silences", json={**SILENCE, "id": "nope"})
    assert (r.status_code, r.json()) == (404, "silence not found")
    for method in ("GET", "DELETE"):
        r = client.request(method, "/api/v2/silence/abc")
        assert (r.status_code, r.json()) == (422, {"code": 601, "message": 'silenceID in path must be of type uuid: "abc"'})


# ---- status, receivers, methods, disabled, /api/v1/alertmanagers -----------------------------


def test_status_and_receivers(client: TestClient, fake: FakeAlerting) -> None:
    fake.peer_list = [Peer("sloguard-1", "10.0.0.2:9094"), Peer("sloguard-0", "10.0.0.1:9094")]
    st = client.get("/api/v2/status").json()
    assert list(st) == ["cluster", "config", "uptime", "versionInfo"]
    assert st["cluster"] == {"name": "sloguard-0", "status": "ready", "peers": [
        {"address": "10.0.0.1:9094", "name": "sloguard-0"}, {"address": "10.0.0.2:9094", "name": "sloguard-1"}]}
    assert st["config"] == {"original": CONFIG}
    assert set(st["versionInfo"]) == {"branch", "buildDate", "buildUser", "goVersion", "revision", "version"}
    fake.peer_list = []
    assert client.get("/api/v2/status").json()["cluster"]["status"] == "disabled"
    assert client.get("/api/v2/receivers").json() == [{"name": "default"}, {"name": "db"}, {"name": "web"}]


def test_other_methods_get_go_openapis_405(client: TestClient) -> None:
    r = client.put("/api/v2/alerts")
    assert (r.status_code, r.json(), r.headers["allow"]) == (405, {"code": 405, "message": "method PUT is not allowed, but [GET,POST] are"}, "GET,POST")
    assert client.post("/api/v2/status").json()["message"] == "method POST is not allowed, but [GET] are"


def test_without_a_pipeline_every_endpoint_says_how_to_enable_it() -> None:
    client = TestClient(create_app(ServerContext(storage=MemoryStorage())))
    for method, path in [("GET", "/api/v2/alerts"), ("POST", "/api/v2/alerts"), ("GET", "/api/v2/alerts/groups"),
                         ("GET", "/api/v2/silences"), ("POST", "/api/v2/silences"), ("GET", "/api/v2/status"),
                         ("GET", "/api/v2/receivers"), ("DELETE", "/api/v2/silence/x")]:
        r = client.request(method, path)
        assert r.status_code == 503, (method, path)
        assert "--alerting.config" in r.json()["message"]


def test_api_v1_alertmanagers_lists_external_ones_and_the_pipeline(fake: FakeAlerting) -> None:
    config = SimpleNamespace(alerting=SimpleNamespace(urls=lambda: ["http://am-1:9093", "https://am-2/prefix"]))
    ctx = ServerContext(storage=MemoryStorage(), alerting=fake, config=config, settings={"external_url": "http://me:9090/"})
    r = TestClient(create_app(ctx)).get("/api/v1/alertmanagers")
    assert r.json() == {"status": "success", "data": {"activeAlertmanagers": [
        {"url": "http://am-1:9093/api/v2/alerts"}, {"url": "https://am-2/prefix/api/v2/alerts"},
        {"url": "http://me:9090/api/v2/alerts"}], "droppedAlertmanagers": []}}
    bare = TestClient(create_app(ServerContext(storage=MemoryStorage(), config=config))).get("/api/v1/alertmanagers").json()
    assert [a["url"] for a in bare["data"]["activeAlertmanagers"]] == ["http://am-1:9093/api/v2/alerts", "https://am-2/prefix/api/v2/alerts"]


# ---- strfmt.DateTime ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ms"), [
    ("2027-01-15T08:00:00Z", NOW),
    ("2027-01-15T08:00:00.123456789Z", NOW + 123),
    ("2027-01-15T09:00:00.500+01:00", NOW + 500),
    ("2027-01-15T09:00:00.500+0100", NOW + 500),
    ("2027-01-15T08:00:00", NOW),
    ("2027-01-15T8:00Z", NOW),
    ("2027-01-15T08:00", NOW),
    ("2027-01-15 08:00:00", NOW),
    ("", 0),
])
def test_datetime_layouts(text: str, ms: int) -> None:
    assert parse_datetime(text) == ms


@pytest.mark.parametrize(("text", "message"), [
    ("2020-01-01T25:00:00Z", 'parsing time "2020-01-01T25:00:00Z" as "2006-01-02 15:04:05": cannot parse "T25:00:00Z" as " "'),
    ("2020-02-30 00:00:00", 'parsing time "2020-02-30 00:00:00": day out of range'),
    ("2020-01-01T08:00+01:00", 'parsing time "2020-01-01T08:00+01:00" as "2006-01-02 15:04:05": cannot parse "T08:00+01:00" as " "'),
    ("2027-01-15T09:00:00+0100", 'parsing time "2027-01-15T09:00:00+0100" as "2006-01-02 15:04:05": cannot parse "T09:00:00+0100" as " "'),
])
def test_datetime_errors_are_gos(text: str, message: str) -> None:
    with pytest.raises(DateTimeError) as e:
        parse_datetime(text)
    assert str(e.value) == message


def test_datetime_format_is_milliseconds_in_utc() -> None:
    assert format_datetime(NOW + 7) == "2027-01-15T08:00:00.007Z"
    assert format_datetime(-62135596800000) == "0001-01-01T00:00:00.000Z"


def test_unprocessed_alerts_show_as_such(client: TestClient, fake: FakeAlerting) -> None:
    fake.receive([Alert.of({"alertname": "New"})])
    (got,) = client.get("/api/v2/alerts").json()
    assert got["status"]["state"] == AlertState.UNPROCESSED.value


def test_a_state_database_that_is_away_is_a_500_naming_why(client: TestClient, fake: FakeAlerting, monkeypatch: pytest.MonkeyPatch) -> None:
    def away(*_a: object, **_k: object) -> None:
        raise StateUnavailable("The state database at sqlite:///x cannot be reached: disk I/O error.")

    monkeypatch.setattr(fake.silences, "list", away)
    monkeypatch.setattr(fake.silences, "set", away)
    for r in (client.get("/api/v2/silences"), client.post("/api/v2/silences", json=SILENCE)):
        assert (r.status_code, r.json()) == (500, "The state database at sqlite:///x cannot be reached: disk I/O error.")


def test_a_large_body_is_taken_in_slices_with_turns_for_other_requests(fake: FakeAlerting,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sloguard.api import _am_alerts, _am_http

    monkeypatch.setattr(_am_http, "SLICE", 2)
    monkeypatch.setattr(_am_http, "STEP_BUDGET_S", 3600.0)  # slices of 2 however slow the machine
    batches: list[list[str]] = []
    take = fake.receive
    monkeypatch.setattr(fake, "receive", lambda alerts: (batches.append([a.labels.get("i") for a in alerts]), take(alerts)))

    async def post(body: list[Any]) -> Any:
        try:
            return await _am_alerts.post(fake, body)
        except AmError as e:  # the answer to a body that does not decode
            return e.response

    alerts = [{"labels": {"i": str(i)}} for i in range(5)]
    answer, turns = _with_turns_counted(post([*alerts, {"labels": {"0bad": "x"}}]))
    assert batches == [["0", "1"], ["2", "3"], ["4"]]  # the invalid one refused, the others taken slice by slice
    assert answer.status_code == 400 and b'invalid label set: invalid name \\"0bad\\"' in answer.body
    assert turns >= 4  # between the 3 decoding slices and the 3 taking ones
    batches.clear()
    answer, _ = _with_turns_counted(post([*alerts, 7]))  # a decoding error in the last slice: nothing is taken
    assert batches == [] and answer.status_code == 400 and b"cannot unmarshal number" in answer.body


def test_silence_reads_and_writes_run_off_the_event_loop(fake: FakeAlerting, client: TestClient,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each is a database round trip (and a write compiles every regex matcher): the event
    loop, which answers every other request, never waits on one."""
    on_loop: dict[str, bool] = {}

    def spy(name: str, call: Any) -> Any:
        def spied(*args: Any, **kwargs: Any) -> Any:
            on_loop[name] = asyncio._get_running_loop() is not None
            return call(*args, **kwargs)
        return spied

    for name in ("set", "get", "list", "expire"):
        monkeypatch.setattr(fake.silences, name, spy(name, getattr(fake.silences, name)))
    sid = client.post("/api/v2/silences", json=SILENCE).json()["silenceID"]
    assert client.get(f"/api/v2/silence/{sid}").status_code == 200
    assert len(client.get("/api/v2/silences").json()) == 1
    assert client.delete(f"/api/v2/silence/{sid}").status_code == 200
    assert on_loop == {"set": False, "get": False, "list": False, "expire": False}


def test_many_alerts_are_answered_slice_by_slice_with_the_same_bytes(fake: FakeAlerting, client: TestClient,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from sloguard.api import _am_http

    alerts = [{"labels": {"alertname": f"A{i % 2}", "i": str(i), "note": "<&>"}} for i in range(5)]
    assert client.post("/api/v2/alerts", json=alerts).status_code == 200
    paths = ["/api/v2/alerts", "/api/v2/alerts/groups", "/api/v2/alerts?filter=i=~\"[0-3]\""]
    whole = [client.get(p).content for p in paths]
    monkeypatch.setattr(_am_http, "SLICE", 2)
    monkeypatch.setattr(_am_http, "STEP_BUDGET_S", 3600.0)  # slices of 2 however slow the machine
    assert [client.get(p).content for p in paths] == whole
    assert b"\\u003c\\u0026\\u003e" in whole[0] and len(json.loads(whole[0])) == 5

    from sloguard.api import (
        _am_alerts,  # each alert's marks are judged in its slice, not all before the first
    )

    events: list[str] = []

    async def slices(items: Any) -> Any:
        async for part in _am_http.in_slices(items):
            events.append(f"slice {len(part)}")
            yield part

    def view(alert: Any, real: Any = fake.view) -> Any:
        events.append("view")
        return real(alert)

    monkeypatch.setattr(_am_alerts, "in_slices", slices)
    monkeypatch.setattr(fake, "view", view)
    assert client.get(paths[0]).content == whole[0]
    assert events == ["slice 2", "view", "view", "slice 2", "view", "view", "slice 1", "view"]

    text, turns = _with_turns_counted(_am_http.go_array_text(list(range(7)), lambda i: {"i": i}))
    assert json.loads(text) == [{"i": i} for i in range(7)]
    assert turns >= 3  # 4 slices of 2: a turn for the others between each


def _with_turns_counted(work: Coroutine[Any, Any, T]) -> tuple[T, int]:
    """``work``'s result, and the turns another task (another request) got while it ran."""
    async def go() -> tuple[T, int]:
        turns, done = 0, False

        async def other() -> None:
            nonlocal turns
            while not done:
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        await asyncio.sleep(0)
        start = turns
        try:
            return await work, turns - start
        finally:
            done = True
            await task

    return asyncio.run(go())


def test_slow_slices_get_smaller_and_fast_ones_grow_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judging an alert against thousands of silences takes milliseconds: the slices adapt so
    that one step holds the event loop about ``STEP_BUDGET_S``, never a whole slice of 1,000."""
    from sloguard.api import _am_http

    now = [0.0]
    monkeypatch.setattr(_am_http.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(_am_http, "STEP_BUDGET_S", 0.02)
    cost = {"slow": 0.01, "fast": 0.0}  # seconds of work per item (the clock moves only by it)

    async def steps(kind: list[str]) -> list[tuple[int, float]]:
        out, seen = [], []
        async for part in _am_http.in_slices(list(range(len(kind)))):
            took = sum(cost[kind[i]] for i in part)
            out.append((len(part), took))
            seen.extend(part)
            now[0] += took
        assert seen == list(range(len(kind)))  # every item once, in order
        return out

    got = asyncio.run(steps(["slow"] * 300 + ["fast"] * 5000))
    assert got[0][0] == 64  # the first slice is small: its time is not known before
    assert all(took <= 2 * 0.02 + 1e-9 for _, took in got[1:])  # then about the budget a step, never 1,000 slow ones
    assert max(n for n, _ in got) == 1000  # fast ones double back to SLICE
    assert [n for n, _ in asyncio.run(steps(["slow"] * 5))] == [5]
