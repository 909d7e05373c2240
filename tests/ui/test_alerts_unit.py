"""The alert and silence pages without a browser: the app in-process over a FakeAlerting
(real silence repository), with and without authentication."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from sloguard.alerting.testing import FakeAlerting
from sloguard.api import ServerContext, create_app
from sloguard.api._webconfig import WebConfig
from sloguard.clock import SystemClock
from sloguard.tsdb.testing import MemoryStorage
from sloguard.ui._alerts import slo_href, view_of
from sloguard.ui._silence_form import SilenceForm, field_for, form_of, to_body

CONFIG = "route: {receiver: oncall}\nreceivers: [{name: oncall}]\n"
HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
ALICE = {"Authorization": "Basic " + base64.b64encode(b"alice:pw").decode()}
FORM = {"matchers": '{alertname="DiskFull", instance!~"db-(1|2)"}', "startsAt": "", "duration": "2h", "endsAt": "",
        "createdBy": "alice", "comment": "disk swap"}
NOW = dt.datetime(2026, 12, 3, 22, 0, tzinfo=dt.UTC)


@pytest.fixture()
def fake(tmp_path: Path) -> Iterator[FakeAlerting]:
    f = FakeAlerting(CONFIG, tmp_path / "state.db", SystemClock())
    yield f
    f.close()


def _client(fake: FakeAlerting | None, web: WebConfig | None = None) -> TestClient:
    ctx = ServerContext(storage=MemoryStorage(), alerting=fake, web_config=web)
    return TestClient(create_app(ctx), follow_redirects=False)


def test_the_form_posts_structured_matchers_and_the_author_defaults_to_the_signed_in_user(fake: FakeAlerting) -> None:
    client = _client(fake, WebConfig(basic_auth_users={"alice": HASH}))
    assert client.get("/silences/new").status_code == 401  # the pages are behind the same authentication
    page = client.get("/silences/new", params={"filter": FORM["matchers"]}, headers=ALICE).text
    assert 'name="createdBy" type="text" value="alice"' in page
    assert 'value="{alertname=&#34;DiskFull&#34;, instance!~&#34;db-(1|2)&#34;}"' in page
    r = client.post("/silences/new", data={**FORM, "createdBy": "alice"}, headers=ALICE)
    assert r.status_code == 303 and r.headers["location"].startswith("/silences?created=")
    (silence,) = fake.silences.list()
    assert silence.created_by == "alice" and r.headers["location"].endswith(f"#silence-{silence.id}")
    assert [(m.name, m.value, m.is_regex, m.is_equal) for m in silence.matchers] == [
        ("alertname", "DiskFull", False, True), ("instance", "db-(1|2)", True, False)]
    assert dt.timedelta(hours=2) - dt.timedelta(seconds=2) < silence.ends_at - silence.starts_at <= dt.timedelta(hours=2)


def test_a_form_sent_from_another_site_is_refused(fake: FakeAlerting) -> None:
    client = _client(fake)
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        r = client.post("/silences/new", data=FORM, headers=headers)
        assert r.status_code == 403 and "another site" in r.text, headers
    assert fake.silences.list() == []
    for headers in ({"Origin": "http://testserver"}, {"Origin": "https://sloguard.example", "Sec-Fetch-Site": "same-origin"}):
        assert client.post("/silences/new", data=FORM, headers=headers).status_code == 303  # (behind a proxy)


def test_edit_shows_the_silence_and_saving_goes_through_the_api(fake: FakeAlerting) -> None:
    client = _client(fake)
    client.post("/silences/new", data=FORM)
    (old,) = fake.silences.list()
    page = client.get(f"/silences/{old.id}/edit").text
    assert 'value="{alertname=&#34;DiskFull&#34;,instance!~&#34;db-(1|2)&#34;}"' in page and "disk swap" in page
    form = {**FORM, "matchers": '{alertname="DiskFull"}', "comment": "longer", "duration": "", "endsAt": "2099-01-01T00:00:00Z"}
    r = client.post(f"/silences/{old.id}/edit", data=form)
    assert r.status_code == 303
    saved = {s.id: s for s in fake.silences.list()}
    new_id = r.headers["location"].split("created=")[1].split("#")[0]
    assert saved[new_id].comment == "longer" and saved[new_id].ends_at.year == 2099


def test_unknown_silences_get_a_404_page_with_a_sentence(fake: FakeAlerting) -> None:
    client = _client(fake)
    sid = "6a0cbd3e-0000-4000-8000-000000000000"
    for r in (client.get(f"/silences/{sid}/edit"), client.post(f"/silences/{sid}/expire"),
              client.get("/silences/not-a-uuid/edit")):
        assert r.status_code == 404 and 'role="alert"' in r.text and "Traceback" not in r.text


def test_without_a_pipeline_the_pages_say_how_to_enable_it() -> None:
    client = _client(None)
    for path in ("/alerts", "/silences"):
        r = client.get(path)
        assert r.status_code == 200 and "--alerting.config" in r.text, path
    r = client.get("/alerts", params={"receiver": "("})
    assert "--alerting.config" in r.text


def test_a_bad_receiver_regex_is_the_apis_sentence_in_place(fake: FakeAlerting) -> None:
    r = _client(fake).get("/alerts", params={"receiver": "("})
    assert r.status_code == 200 and "failed to parse receiver param" in r.text


def test_the_form_says_what_is_wrong_by_field() -> None:
    _, errors = to_body(SilenceForm(matchers="oops", duration="2 hours", createdBy="", comment=" "), NOW)
    assert set(errors) == {"matchers", "duration", "createdBy", "comment"}
    assert errors["matchers"] == "bad matcher format: oops."
    _, errors = to_body(SilenceForm(matchers="a=b", startsAt="2026-12-03T22:00", endsAt="tomorrow", createdBy="x",
                                    comment="y"), NOW)
    assert "no time zone" in errors["startsAt"] and "not an RFC 3339 time" in errors["endsAt"]
    body, errors = to_body(SilenceForm(matchers="a=b", startsAt="2026-12-03T23:00:00+01:00", duration="90m",
                                       createdBy="x", comment="y", id="abc"), NOW)
    assert errors == {} and body is not None
    assert (body["startsAt"], body["endsAt"], body["id"]) == ("2026-12-03T22:00:00Z", "2026-12-03T23:30:00Z", "abc")
    _, errors = to_body(SilenceForm(matchers="a=b", duration="", createdBy="x", comment="y"), NOW)
    assert "duration" in errors["endsAt"]


@pytest.mark.parametrize(("message", "field"), [
    ("silence invalid: invalid label matcher 0: invalid regular expression", "matchers"),
    ("matchers in body should have at least 1 items", "matchers"),
    ("Failed to create silence: start time must be before end time", "endsAt"),
    ("Failed to create silence: end time can't be in the past", "endsAt"),
    ("silence not found", "form"),
])
def test_api_errors_go_next_to_the_field_they_are_about(message: str, field: str) -> None:
    assert field_for(message) == field


def test_a_form_body_keeps_what_was_typed() -> None:
    form = form_of(b"matchers=%7Ba%3D%22b%22%7D&comment=+two+words+&createdBy=+bob+&extra=1", "sid")
    assert (form.matchers, form.comment, form.createdBy, form.id) == ('{a="b"}', " two words ", "bob", "sid")


def test_an_slo_alert_links_to_its_slo_page_at_the_alerts_time() -> None:
    now = NOW.timestamp()
    assert slo_href({"slo": "shop availability"}, "2026-12-03T21:00:00.000Z", now) == "/slos/shop%20availability?range=6h"
    assert slo_href({"slo": "shop"}, "2026-12-03T12:00:00.000Z", now) == "/slos/shop?range=6h&end=2026-12-03T15%3A00%3A00Z"
    assert slo_href({"alertname": "DiskFull"}, "2026-12-03T12:00:00.000Z", now) == ""


def test_several_filter_parameters_become_one_text_the_box_can_send_back() -> None:
    scope = {"type": "http", "method": "GET", "path": "/alerts", "headers": [],
             "query_string": b"filter=a%3D%22b%22&filter=c%3D~%22d%22&inhibited=false&inhibited=true&silenced=false"}
    view = view_of(Request(scope))
    assert (view.text, view.silenced, view.inhibited) == ('{a="b",c=~"d"}', False, True)
    assert view.api_params()["filter"] == ['a="b"', 'c=~"d"']
    assert view_of(Request({**scope, "query_string": b""})).silenced is True  # absent: shown


def test_the_list_puts_each_silence_under_its_state(fake: FakeAlerting) -> None:
    client = _client(fake)
    for starts, ends, comment in (("2099-01-01T00:00:00Z", "2099-01-02T00:00:00Z", "next century"),
                                  ("", "", "now")):
        r = client.post("/silences/new", data={**FORM, "startsAt": starts, "endsAt": ends, "comment": comment})
        assert r.status_code == 303
    now_id = next(s.id for s in fake.silences.list() if s.comment == "now")
    assert client.post(f"/silences/{now_id}/expire").status_code == 303
    client.post("/silences/new", data={**FORM, "comment": "active one"})
    html = client.get("/silences").text
    sections = {state: html.split(f'id="h-{state}"')[1].split("</section>")[0] for state in ("active", "pending", "expired")}
    assert "active one" in sections["active"] and "next century" in sections["pending"] and "now" in sections["expired"]
    assert "/expire\"" in sections["pending"] and "/expire\"" not in sections["expired"] and "Recreate" in sections["expired"]
