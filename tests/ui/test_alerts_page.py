"""Alerts and silences in a real browser against a running ``sloguard serve`` with its
alerting pipeline: the groups the API holds, the silence form pre-filled from an alert that
mutes it (on the page and in the API), a bad matcher's error in place, expire, deep links
and live refresh. The conftest's ``page`` asserts no console error and no failed request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.alerting._diff.target import Running, running, sloguard_target
from tests.alerting._served import wait_until
from tests.ui._browser import Recorder, shot

pytestmark = pytest.mark.slow

CONFIG = """\
route:
  receiver: oncall
  group_by: [alertname, service]
  group_wait: 1h
  routes:
    - matchers: ['severity="ticket"']
      receiver: tickets
inhibit_rules:
  - source_matchers: ['severity="page"']
    target_matchers: ['severity="ticket"']
    equal: [service]
receivers:
  - name: oncall
  - name: tickets
"""

ALERTS = [
    {"labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "page"},
     "annotations": {"summary": "5xx above 2% for 10 minutes", "runbook": "https://runbooks.example/checkout"},
     "generatorURL": "/graph?g0.expr=sum(rate(http_requests_total%5B5m%5D))"},
    {"labels": {"alertname": "LatencyBudget", "service": "checkout", "severity": "ticket"},
     "annotations": {"summary": "p99 above 300 ms"}},
    {"labels": {"alertname": "DiskFull", "service": "db", "severity": "page", "instance": "db-1"},
     "annotations": {"summary": "/var/lib/db 95% full"}},
    {"labels": {"alertname": "CertExpiring", "service": "edge", "severity": "ticket"},
     "annotations": {"summary": "TLS certificate expires in 9 days"}},
]
DISK_MATCHERS = '{alertname="DiskFull",instance="db-1",service="db",severity="page"}'


def _silence(url: str, name: str, value: str, comment: str) -> str:
    body = {"matchers": [{"name": name, "value": value, "isRegex": False, "isEqual": True}],
            "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z", "createdBy": "ops", "comment": comment}
    r = httpx.post(f"{url}/api/v2/silences", json=body, timeout=10)
    r.raise_for_status()
    return str(r.json()["silenceID"])


@pytest.fixture(scope="module")
def am(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """``sloguard serve --alerting.config`` with four alerts: one inhibited by another, one
    silenced through the API."""
    with running(sloguard_target(), CONFIG, tmp_path_factory.mktemp("alerts")) as server:
        httpx.post(f"{server.url}/api/v2/alerts", json=ALERTS, timeout=10).raise_for_status()
        _silence(server.url, "service", "edge", "certificate renewal scheduled, CHG-1234")
        wait_until("the pipeline to mark the inhibited and the silenced alert", lambda: sorted(
            a["labels"]["alertname"] for a in _api(server, "/api/v2/alerts", active="false")) == ["CertExpiring", "LatencyBudget"])
        yield server


def _api(server: Running, path: str, **params: Any) -> Any:
    r = httpx.get(server.url + path, params=params, timeout=10)
    r.raise_for_status()
    return r.json()


def _shown(page: Any) -> list[tuple[str, list[str]]]:
    """(receiver, alert fingerprints) of each group on the page, in order."""
    return [(r, fps) for r, fps in page.evaluate("""() => Array.from(document.querySelectorAll('#alert-groups section.group')).map(g =>
        [g.querySelector('.receiver strong').textContent, Array.from(g.querySelectorAll('li.alert')).map(a => a.dataset.fingerprint)])""")]


def _api_groups(server: Running, **params: Any) -> list[tuple[str, list[str]]]:
    return [(g["receiver"]["name"], [a["fingerprint"] for a in g["alerts"]])
            for g in _api(server, "/api/v2/alerts/groups", **params)]


def _alert(server: Running, alertname: str) -> dict[str, Any]:
    found = _api(server, "/api/v2/alerts", filter=f'alertname="{alertname}"')
    assert len(found) == 1
    return dict(found[0])


def _li(page: Any, server: Running, alertname: str) -> Any:
    """The page's first entry of the alert (an inhibited alert's entry names its inhibitor too)."""
    return page.locator(f"li.alert[data-fingerprint='{_alert(server, alertname)['fingerprint']}']").first


def test_the_alerts_page_lists_the_groups_the_api_holds_and_what_suppresses_each(page: Any, am: Running) -> None:
    page.goto(am.url + "/alerts")
    assert _shown(page) == _api_groups(am) and len(_shown(page)) == 4
    assert page.locator("nav a[aria-current=page]").inner_text() == "Alerts"
    inhibited = _li(page, am, "LatencyBudget")
    assert "state-suppressed" in (inhibited.get_attribute("class") or "")
    source = _alert(am, "HighErrorRate")["fingerprint"]
    link = inhibited.locator("a.inhibitor")
    assert _alert(am, "LatencyBudget")["status"]["inhibitedBy"] == [source]
    assert 'alertname="HighErrorRate"' in link.inner_text()
    link.click()
    assert page.evaluate("location.hash") == page.locator(f"li.alert[data-fingerprint='{source}']").evaluate("e => '#' + e.id")
    cert = _li(page, am, "CertExpiring")
    sid = _alert(am, "CertExpiring")["status"]["silencedBy"][0]
    assert cert.locator("a.silence-id").inner_text() == sid
    assert cert.locator("a.silence-id").get_attribute("href") == f"/silences#silence-{sid}"
    assert "CHG-1234" in cert.inner_text()
    firing = _li(page, am, "HighErrorRate")
    assert firing.locator(".pill").inner_text() == "firing" and "5xx above 2%" in firing.inner_text()
    assert firing.locator("a", has_text="https://runbooks.example/checkout").count() == 1
    when = firing.locator("time").first
    assert (when.get_attribute("title") or "").endswith("UTC") and "UTC" not in when.inner_text()  # local time shown
    shot(page, "alerts")
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_silence_made_from_an_alert_mutes_it_on_the_page_and_in_the_api(page: Any, am: Running) -> None:
    page.goto(am.url + "/alerts")
    _li(page, am, "DiskFull").get_by_role("link", name="Silence DiskFull").click()
    page.wait_for_url("**/silences/new?filter=*")
    assert page.get_by_label("Matchers").input_value() == DISK_MATCHERS
    assert page.locator(".preview li").all_inner_texts() == [DISK_MATCHERS]  # what the silence will mute
    assert page.get_by_label("Duration").input_value() == "2h" and page.get_by_label("Ends").input_value().endswith("Z")
    page.get_by_label("Created by").fill("alice")
    page.get_by_label("Comment").fill("replacing the disk, OPS-77")
    page.get_by_label("Comment").press("Tab")
    page.keyboard.press("Enter")  # the submit button, by keyboard
    page.wait_for_url("**/silences?created=*")
    sid = page.url.split("created=")[1].split("#")[0]
    listed = {s["id"]: s for s in _api(am, "/api/v2/silences")}
    assert listed[sid]["createdBy"] == "alice" and listed[sid]["status"]["state"] == "active"
    assert sorted(m["name"] for m in listed[sid]["matchers"]) == ["alertname", "instance", "service", "severity"]
    assert page.locator(f"#silence-{sid}").is_visible()
    assert _alert(am, "DiskFull")["status"] == {"inhibitedBy": [], "silencedBy": [sid], "state": "suppressed"}
    page.goto(am.url + "/alerts")
    disk = _li(page, am, "DiskFull")
    assert "state-suppressed" in (disk.get_attribute("class") or "") and disk.locator("a.silence-id").inner_text() == sid
    page.goto(am.url + "/silences")
    shot(page, "silences")
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.goto(am.url + "/silences/new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_bad_matcher_or_an_end_before_the_start_shows_the_error_beside_its_field(
        page: Any, am: Running, browser_log: Recorder) -> None:
    browser_log.allow(422, r"/silences/new$")
    before = len(_api(am, "/api/v2/silences"))
    page.goto(am.url + "/silences/new")
    page.get_by_label("Matchers").fill('service=~"db-("')
    page.get_by_label("Created by").fill("bob")
    page.get_by_label("Comment").fill("oops")
    page.get_by_role("button", name="Create silence").click()
    error = page.locator("#f-matchers-error")
    assert "missing closing )" in error.inner_text()
    field = page.get_by_label("Matchers")
    assert field.get_attribute("aria-invalid") == "true" and "f-matchers-error" in (field.get_attribute("aria-describedby") or "")
    assert field.input_value() == 'service=~"db-("' and page.evaluate("document.activeElement.id") == "f-matchers"
    field.fill('service="db"')
    page.get_by_label("Starts").fill("2030-01-02T10:00:00Z")
    page.get_by_label("Ends").fill("2030-01-02T09:00:00Z")
    page.get_by_role("button", name="Create silence").click()
    assert page.locator("#f-matchers-error").count() == 0
    assert "start time must be before end time" in page.locator("#f-endsAt-error").inner_text()
    assert page.get_by_label("Comment").input_value() == "oops"  # the form comes back as typed
    shot(page, "silence-form")
    assert len(_api(am, "/api/v2/silences")) == before


def test_expire_ends_a_silence_and_unmutes_its_alert(page: Any, am: Running) -> None:
    sid = _silence(am.url, "alertname", "HighErrorRate", "to be expired")
    assert _alert(am, "HighErrorRate")["status"]["silencedBy"] == [sid]
    page.goto(am.url + "/silences")
    row = page.locator(f"#silence-{sid}")
    assert row.locator("xpath=ancestor::table").get_attribute("data-state") == "active"
    row.get_by_role("button", name=f"Expire silence {sid}").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/silences?expired={sid}*")
    assert page.locator(f"table[data-state=expired] #silence-{sid}").count() == 1
    assert {s["id"]: s["status"]["state"] for s in _api(am, "/api/v2/silences")}[sid] == "expired"
    assert _alert(am, "HighErrorRate")["status"]["silencedBy"] == []
    page.goto(am.url + f"/silences/{sid}/edit")  # an expired silence can still be opened
    assert page.get_by_label("Matchers").input_value() == '{alertname="HighErrorRate"}'


def test_a_deep_link_reopens_the_same_filtered_view(page: Any, am: Running) -> None:
    page.goto(am.url + "/alerts", wait_until="networkidle")
    page.get_by_label("Filter").fill('{severity="page"}')
    page.get_by_label("Filter").press("Enter")
    page.wait_for_url("**filter=*", wait_until="networkidle")  # (navigating away aborts the favicon)
    link = page.url
    expected = _api_groups(am, filter='severity="page"')
    assert _shown(page) == expected and len(expected) == 2
    page.goto(am.url + "/alerts", wait_until="networkidle")
    assert len(_shown(page)) == 4
    page.goto(link, wait_until="networkidle")
    assert _shown(page) == expected and page.get_by_label("Filter").input_value() == '{severity="page"}'
    page.goto(am.url + "/alerts?filter=" + quote('{service="checkout"}') + "&inhibited=false", wait_until="networkidle")
    assert _shown(page) == _api_groups(am, filter='service="checkout"', inhibited="false")
    assert not page.get_by_label("Inhibited").is_checked() and page.get_by_label("Silenced").is_checked()
    page.goto(am.url + "/alerts?filter=" + quote("{severity~page}"), wait_until="networkidle")
    assert "is not matcher text" in page.locator("#alert-filter-error").inner_text()


def test_the_groups_refresh_in_place(page: Any, am: Running) -> None:
    page.goto(am.url + "/alerts")
    page.evaluate("window.__sameDocument = true")
    button = _li(page, am, "HighErrorRate").get_by_role("link", name="Silence HighErrorRate")
    button.focus()
    focused = page.evaluate("document.activeElement.id")
    alert = {"labels": {"alertname": "QueueBacklog", "service": "mail", "severity": "page"}}
    httpx.post(f"{am.url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()
    _li(page, am, "QueueBacklog").wait_for(timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True
    assert focused and page.evaluate("document.activeElement.id") == focused  # a keyboard user keeps their place


def test_pages_need_no_script_to_read(am: Running) -> None:
    for path in ("/alerts", "/silences", "/silences/new?filter=" + quote(DISK_MATCHERS)):
        r = httpx.get(am.url + path, timeout=10)
        assert r.status_code == 200 and "<main" in r.text, path
    html = httpx.get(am.url + "/alerts", timeout=10).text
    assert html.count('class="group"') == len(_api(am, "/api/v2/alerts/groups"))


def test_an_unchanged_region_is_left_alone(page: Any, am: Running) -> None:
    page.goto(am.url + "/silences")
    page.evaluate("document.querySelector('#silence-lists table').__mark = 1")  # lost if the region is swapped
    page.wait_for_function("document.querySelector('[data-refresh-status]').textContent.startsWith('updated')",
                           timeout=15_000)
    assert page.evaluate("document.querySelector('#silence-lists table').__mark") == 1
