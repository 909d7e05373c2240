"""Differential: the same requests to the real Alertmanager 0.25 and to sloguard's v2 API
(over the in-memory AlertingService); status codes and error bodies must be equal, JSON
answers must have the same shape (keys and value types) and the same deterministic values."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from sloguard.alerting.service import AlertView, GroupView
from sloguard.alerting.testing import FakeAlerting
from sloguard.api import ServerContext, create_app
from sloguard.clock import SystemClock
from sloguard.labels import Labels
from sloguard.tsdb.testing import MemoryStorage
from tests.alerting._am_peer import alertmanager, needs_alertmanager

pytestmark = needs_alertmanager

CONFIG = """route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
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
FUTURE = {"startsAt": "2090-01-01T00:00:00Z", "endsAt": "2091-01-01T00:00:00Z", "createdBy": "me", "comment": "c"}
M = [{"name": "a", "value": "b", "isRegex": False}]
UNKNOWN = "3b0b9d88-4b9a-4a59-a9f7-3e3c0e9e8a21"


class Pair:
    """One request, sent to both."""

    def __init__(self, am: httpx.Client, ours: TestClient, fake: FakeAlerting) -> None:
        self.am, self.ours, self.fake = am, ours, fake

    def both(self, method: str, path: str, body: str | None = None, ctype: str = "application/json") -> tuple[httpx.Response, Any]:
        headers = {"content-type": ctype} if body is not None else {}
        content = body.encode() if body is not None else None
        return (self.am.request(method, path, content=content, headers=headers),
                self.ours.request(method, path, content=content, headers=headers))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp: Path = tmp_path_factory.mktemp("am")
    fake = FakeAlerting(CONFIG, tmp / "state.db", SystemClock())
    ours = TestClient(create_app(ServerContext(storage=MemoryStorage(), alerting=fake)))
    with alertmanager(tmp, CONFIG) as am:
        yield Pair(am, ours, fake)
    fake.close()


def same_answer(theirs: httpx.Response, ours: Any) -> None:
    assert ours.status_code == theirs.status_code, (ours.text, theirs.text)
    if theirs.status_code == 405:  # Alertmanager lists the allowed methods in map order
        a, b = ours.json()["message"], theirs.json()["message"]
        assert sorted(a.split("[")[1].rstrip("] are").split(",")) == sorted(b.split("[")[1].rstrip("] are").split(","))
        assert a.split("[")[0] == b.split("[")[0]
        return
    assert ours.content.strip() == theirs.content.strip()


def mark_all_active(fake: FakeAlerting) -> None:
    """What the pipeline does to an alert it has processed (Alertmanager's GET marks them)."""
    for view in fake.alerts():
        if not view.mark.silenced_by and not view.mark.inhibited_by:
            fake.marker.set_active(view.alert.fingerprint)


ALERT_BODIES = [
    "not json", "x", '[{"labels":{"a":"b"}', '{"a" 1}', "[1 2]", "{}", '"x"', "true", "[1]", "", "  ", "null", "[]",
    "[{}]", "[{}, {}]", '[{"labels":null}]', '[{"labels":{}}]', '[{"labels":{"a":""}}]', '[{"labels":{"0bad":"x"}}]',
    '[{"labels":{"a:b":"b"}}]', '[{"labels":{"a":"b"},"annotations":{"0x":"y"}}]',
    '[{"labels":{}},{"labels":{"x":"y"}},{"labels":{"b-c":"1"}}]',
    '[{"labels":{"a":1}}]', '[{"labels":[]}]', '[{"labels":"x"}]', '[{"labels":{"a":"b"},"annotations":{"x":1}}]',
    '[{"labels":{"a":"b"},"annotations":[]}]', '[{"labels":{"a":"b"},"generatorURL":1}]', '[{"labels":{"a":"b"},"endsAt":1}]',
    '[{"labels":{"a":"b"},"startsAt":"2020-01-01T00:00:00Z","endsAt":"2019-01-01T00:00:00Z"}]',
    '[{"labels":{"a":"b"},"startsAt":"2099-01-01T00:00:00Z"}]',
    '[{"labels":{"a":"b"},"startsAt":"garbage"}]', '[{"labels":{"a":"b"},"startsAt":"2020-01-01"}]',
    '[{"labels":{"a":"b"},"startsAt":"2020-13-01 00:00:00"}]', '[{"labels":{"a":"b"},"startsAt":"2020-01-01T25:00:00Z"}]',
    '[{"labels":{"a":"b"},"startsAt":"2020-02-30T00:00:00Z"}]', '[{"labels":{"a":"b"},"startsAt":"2020-01-01 00:00:00 extra"}]',
    '[{"labels":{"a":"b"},"generatorURL":"not a url"}]', '[{"labels":{"a":"b"},"generatorURL":"::::"}]',
    '[{"labels":{"a":"b"},"generatorURL":"relative/path"}]', '[{"generatorURL":"x y"}]',
    '[{"labels":{"a":"b"},"generatorURL":"http://[::1"}]', '[{"labels":{"a":"b"},"generatorURL":"http://x:port/"}]',
    '[{"labels":{"a":"b"},"generatorURL":"http://x/%zz"}]', '[{"labels":{"a":"b"},"generatorURL":"mailto:x"}]',
    '[{"labels":{"a":"b"}}] trailing',
] + [json.dumps([{"labels": {"a": "b"}, "generatorURL": u}]) for u in (
    "http://x/a#frag", "http://user@host/", "//host/path", "http://[::1]:80/", "http://host:/", "http://host:80:90/",
    "HTTP://X/", "1http://x/", "http://x/a b", "http://x/?q=%zz", "/a%2Fb", "a:b", "http:x", "http://x%41/",
    "http://x%C3%A9/", "http://x%25/", "http://a{b/", "http://a_b~c!/", "http://[::1%25eth0]/", "http://u%zz@x/",
    "http://u:p@x/", "http://u{@x/", "http://x:8²/",
)] + [  # nesting: Go's decoder stops at 10,000 levels; Python's recursive one must not fail first
    "[" * 10_001, "[" * 200_000, '{"a":' * 10_001, "[" * 5000 + "]" * 5000, "[x" + "[" * 10_001, "[] " + "[" * 20_000,
    '[{"labels":{"a":"b"},"x":' + "[" * 9998 + "]" * 9998 + "}]", '[{"labels":{"a":"b"},"x":' + "[" * 9999 + "]" * 9999 + "}]",
    '[{"labels":{"a":"b"},"x":' + "[" * 5000 + "1}]", '[{"labels":{"a":"b\\\\"},"x":"' + "[" * 20_000 + '"}]',
    '[{"labels":{"a":' + "[" * 3000 + "]" * 3000 + "}}]",
] + [json.dumps([{"labels": {"a": "b"}, "startsAt": t}]) for t in (
    "2020-01-01T00:00:00.123456+0100", "2020-01-01T00:00:00.12+0100", "2020-01-01T00:00", "2020-01-01T00:00Z",
    "2020-01-01T00:00+01:00", "2020-01-01T1:00:00Z", "2020-01-01 1:00:00", "2020-01-01  00:00:00", "2020-1-01 00:00:00",
    "20x0-01-01", "2020-01-01T00:00:00", "2020-01-01t00:00:00z", "2020-01-32 00:00:00", "2020-01-01 24:00:00",
    "2020-01-01 00:60:00", "2020-01-01 00:00:60", "2020-01-01 00:00:00,5", "2021-02-29 00:00:00",
)]


@pytest.mark.parametrize("body", ALERT_BODIES, ids=lambda b: b if len(b) < 100 else f"{b[:40]}...{len(b)}-chars")
def test_post_alerts_answers_as_alertmanager(pair: Pair, body: str) -> None:
    same_answer(*pair.both("POST", "/api/v2/alerts", body))


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type(pair: Pair, ctype: str) -> None:
    same_answer(*pair.both("POST", "/api/v2/alerts", "[]", ctype))


@pytest.mark.parametrize("query", ["filter=foo", "filter=", 'filter=a=~"("', "filter=0a=b", "receiver=(", "active=maybe",
                                   "filter=a=b&receiver=nomatch"])
@pytest.mark.parametrize("path", ["/api/v2/alerts", "/api/v2/alerts/groups"])
def test_get_alert_errors_and_empty_answers(pair: Pair, path: str, query: str) -> None:
    mark_all_active(pair.fake)
    same_answer(*pair.both("GET", f"{path}?{query}"))


SILENCE_BODIES = [
    "x", "", "[]", "{}", {"matchers": [], **FUTURE}, {"matchers": [{"name": "a", "value": "b"}], **FUTURE},
    {"matchers": M, "startsAt": FUTURE["startsAt"], "endsAt": FUTURE["endsAt"]},
    {"matchers": [{"name": "a", "value": "", "isRegex": False}], **FUTURE},
    {"matchers": [{"name": "a", "value": ".*", "isRegex": True}], **FUTURE},
    {"matchers": [{"name": "0a", "value": "x", "isRegex": False}], **FUTURE},
    {"matchers": [{"name": "a", "value": "(", "isRegex": True}], **FUTURE},
    {**FUTURE, "matchers": M, "startsAt": "2092-01-01T00:00:00Z"},
    {**FUTURE, "matchers": M, "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2020-06-01T00:00:00Z"},
    {**FUTURE, "matchers": M, "id": "nope"}, {**FUTURE, "matchers": M, "startsAt": "bad"},
    {**FUTURE, "matchers": [{"name": "a", "value": "b", "isRegex": "x"}]}, {**FUTURE, "matchers": {}},
    {**FUTURE, "matchers": [{}]}, {**FUTURE, "matchers": [1]}, {**FUTURE, "matchers": M, "startsAt": None},
    {**FUTURE, "matchers": M, "startsAt": 1}, {**FUTURE, "matchers": M, "createdBy": 1}, {**FUTURE, "matchers": M, "id": 1},
    {**FUTURE, "matchers": [{"name": 1, "value": "b", "isRegex": False}]},
    '{"matchers":' + "[" * 10_001, '{"matchers":' + "[" * 6000 + "]" * 6000 + "}", '{"comment":"' + "{" * 20_000 + '"}',
]


@pytest.mark.parametrize("body", SILENCE_BODIES, ids=range(len(SILENCE_BODIES)))
def test_post_silence_errors_answer_as_alertmanager(pair: Pair, body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    same_answer(*pair.both("POST", "/api/v2/silences", text))


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v2/silence/abc"), ("DELETE", "/api/v2/silence/abc"), ("GET", f"/api/v2/silence/{UNKNOWN}"),
    ("DELETE", f"/api/v2/silence/{UNKNOWN}"), ("PUT", "/api/v2/alerts"), ("DELETE", "/api/v2/silences"),
    ("POST", "/api/v2/status"), ("GET", "/api/v2/silences?filter=foo"), ("GET", "/api/v2/receivers"),
])
def test_other_answers(pair: Pair, method: str, path: str) -> None:
    same_answer(*pair.both(method, path))


def shape(x: Any) -> Any:
    """Keys and value types, recursively (a list by its first element)."""
    if isinstance(x, dict):
        return {k: shape(v) for k, v in x.items()}
    if isinstance(x, list):
        return [shape(x[0])] if x else []
    return type(x).__name__


_TIMES = ("startsAt", "endsAt", "updatedAt")


def without_times(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: ("<time>" if k in _TIMES else without_times(v)) for k, v in x.items() if k != "id"}
    if isinstance(x, list):
        return [without_times(v) for v in x]
    return x


def test_posted_alerts_read_back_alike(pair: Pair) -> None:
    body = json.dumps([{"labels": {"alertname": "Shape", "team": "db"}, "annotations": {"summary": "s"},
                        "generatorURL": "http://prom/graph"}, {"labels": {"alertname": "Shape", "team": "other"}}])
    same_answer(*pair.both("POST", "/api/v2/alerts", body))
    mark_all_active(pair.fake)
    theirs, ours = pair.both("GET", "/api/v2/alerts?filter=alertname=Shape")
    assert ours.status_code == theirs.status_code == 200
    assert shape(ours.json()) == shape(theirs.json())
    assert without_times(ours.json()) == without_times(theirs.json())
    for a in ours.json():
        assert a["endsAt"].endswith("Z") and len(a["endsAt"]) == len("2027-01-15T08:00:00.000Z")


def test_groups_read_back_alike(pair: Pair) -> None:
    body = json.dumps([{"labels": {"alertname": "G", "team": "db", "instance": "b"}},
                       {"labels": {"alertname": "G", "team": "db", "instance": "a"}}])
    same_answer(*pair.both("POST", "/api/v2/alerts", body))
    _wait_for_groups(pair.am, "alertname=G", alerts=2 * 2)  # two alerts, each in the web and the db group
    views = [v for v in pair.fake.alerts() if v.alert.labels.get("alertname") == "G"]
    mark_all_active(pair.fake)
    marked = tuple(AlertView(v.alert, pair.fake.marker.status(v.alert.fingerprint), v.receivers) for v in views)
    pair.fake.group_views = [GroupView(Labels.of(alertname="G"), r, r, r, marked) for r in ("web", "db")]
    theirs, ours = pair.both("GET", "/api/v2/alerts/groups?filter=alertname=G")
    assert ours.status_code == theirs.status_code == 200
    assert without_times(ours.json()) == without_times(theirs.json())
    theirs, ours = pair.both("GET", "/api/v2/alerts/groups?filter=alertname=G&receiver=web")
    assert without_times(ours.json()) == without_times(theirs.json())


def _wait_for_groups(am: httpx.Client, matcher: str, alerts: int) -> None:
    """Alertmanager hands posted alerts to its dispatcher asynchronously: poll its groups until
    they hold every posted alert."""
    for _ in range(100):
        groups = am.get(f"/api/v2/alerts/groups?filter={matcher}").json()
        if sum(len(g["alerts"]) for g in groups) >= alerts:
            return
        time.sleep(0.05)
    raise AssertionError(f"Alertmanager's groups never held {alerts} alerts matching {matcher}")


def test_silences_read_back_alike(pair: Pair) -> None:
    later = {**FUTURE, "matchers": [{"name": "shape", "value": "x|y", "isRegex": True, "isEqual": False}]}
    now = {**later, "startsAt": "2020-01-01T00:00:00Z", "comment": "now"}
    ids: dict[str, list[str]] = {"am": [], "ours": []}
    for body in (later, now):
        theirs, ours = pair.both("POST", "/api/v2/silences", json.dumps(body))
        assert ours.status_code == theirs.status_code == 200 and list(ours.json()) == list(theirs.json()) == ["silenceID"]
        ids["am"].append(theirs.json()["silenceID"])
        ids["ours"].append(ours.json()["silenceID"])
    theirs, ours = pair.both("GET", "/api/v2/silences?filter=shape!~\"x|y\"")
    assert shape(ours.json()) == shape(theirs.json())
    assert without_times(ours.json()) == without_times(theirs.json())  # active first, then pending
    one_am = pair.am.get(f"/api/v2/silence/{ids['am'][0]}").json()
    one_ours = pair.ours.get(f"/api/v2/silence/{ids['ours'][0]}").json()
    assert shape(one_ours) == shape(one_am) and without_times(one_ours) == without_times(one_am)
    assert pair.am.delete(f"/api/v2/silence/{ids['am'][1]}").status_code == pair.ours.delete(f"/api/v2/silence/{ids['ours'][1]}").status_code == 200
    theirs, ours = pair.both("GET", "/api/v2/silences?filter=shape!~\"x|y\"")
    assert [s["status"]["state"] for s in ours.json()] == [s["status"]["state"] for s in theirs.json()] == ["pending", "expired"]


def test_status_has_alertmanagers_shape(pair: Pair) -> None:
    theirs, ours = pair.both("GET", "/api/v2/status")
    a, b = ours.json(), theirs.json()
    assert set(a) == set(b) and shape(a["versionInfo"]) == shape(b["versionInfo"])
    assert shape(a["config"]) == shape(b["config"]) and type(a["uptime"]) is type(b["uptime"])
    assert set(b["cluster"]) <= set(a["cluster"]) and a["cluster"]["status"] in ("ready", "disabled")


@pytest.mark.parametrize("query", [
    "", 'filter=team=""', 'filter=team!=""', 'filter=team=~"d.*"', "filter=team!~db", "receiver=web", "receiver=d.*",
    "receiver=default&filter=alertname=F2", "active=false", "silenced=false&inhibited=false",
])
def test_filters_select_the_same_alerts(pair: Pair, query: str) -> None:
    body = json.dumps([{"labels": {"suite": "filters", "alertname": f"F{i}", **team}}
                       for i, team in enumerate([{"team": "db"}, {"team": "web"}, {}, {"team": ""}, {"team": "ops"}])])
    same_answer(*pair.both("POST", "/api/v2/alerts", body))
    mark_all_active(pair.fake)
    theirs, ours = pair.both("GET", f"/api/v2/alerts?filter=suite=filters&{query}")
    assert ours.status_code == theirs.status_code == 200
    assert without_times(ours.json()) == without_times(theirs.json())
    expected = {"": 5, 'filter=team=""': 2, "receiver=web": 2, "active=false": 0}
    assert len(ours.json()) == expected.get(query, len(ours.json()))


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("OPTIONS", "/api/v2/silences", {"Origin": "http://grafana", "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "content-type"}),
    ("OPTIONS", "/api/v2/silence/x", {"Origin": "http://grafana", "Access-Control-Request-Method": "DELETE"}),
    ("GET", "/api/v2/receivers", {"Origin": "http://grafana"}),
    ("GET", "/api/v2/receivers", {}),
])
def test_cors_as_alertmanager(pair: Pair, method: str, path: str, headers: dict[str, str]) -> None:
    theirs = pair.am.request(method, path, headers=headers)
    ours = pair.ours.request(method, path, headers=headers)
    assert ours.status_code == theirs.status_code
    for name in ("access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers"):
        assert ours.headers.get(name) == theirs.headers.get(name), name
    assert sorted(ours.headers.get_list("vary")) == sorted(theirs.headers.get_list("vary"))
