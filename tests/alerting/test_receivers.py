"""Receivers: payloads, retry verdicts (5xx/429 retryable, 4xx not), truncation, secrets
kept out of errors and logs. HTTP goes through ``httpx.MockTransport``; the comparison
with the bodies a real Alertmanager sends is in test_receivers_peer.py."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable

import httpx
import pytest

from sloguard.alerting._secret import Secret
from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import NotificationTemplate
from sloguard.alerting.receivers._base import (
    Backoff,
    NotifyContext,
    NotifyResult,
    go_json,
    notify_with_retry,
)
from sloguard.alerting.receivers.pagerduty import (
    PagerdutyConfig,
    PagerdutyNotifier,
    encode_event,
    pagerduty_message,
)
from sloguard.alerting.receivers.slack import SlackConfig, SlackField, SlackNotifier, slack_message
from sloguard.alerting.receivers.webhook import WebhookConfig, WebhookNotifier, webhook_message
from sloguard.labels import Labels

SECRET_URL = "http://hooks.example/T000/B000/s3cr3tt0ken"
URL = Secret(SECRET_URL)
CTX = NotifyContext('{}:{alertname="Down"}', "team-x", Labels.of(alertname="Down"), 10_000, "http://am")
TMPL = NotificationTemplate()


def _alerts(n: int = 2, resolved: int = 0) -> list[Alert]:
    return [Alert.of({"alertname": "Down", "instance": f"i{k}"}, {"summary": "a <b> & c"}, 1_000,
                     5_000 if k < resolved else None) for k in range(n)]


def _client(status: int, seen: list[httpx.Request] | None = None,
            fail: Callable[[httpx.Request], None] | None = None) -> httpx.AsyncClient:
    def handle(req: httpx.Request) -> httpx.Response:
        if fail is not None:
            fail(req)
        if seen is not None:
            seen.append(req)
        return httpx.Response(status, text="nope" if status >= 300 else "")

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def _send(notifier: WebhookNotifier | SlackNotifier | PagerdutyNotifier, alerts: list[Alert] | None = None) -> NotifyResult:
    return asyncio.run(notifier.notify(CTX, _alerts() if alerts is None else alerts))


def test_go_json_escapes_html_characters_like_go_and_ends_with_newline() -> None:
    assert go_json({"a": "<&>\u2028é"}) == b'{"a":"\\u003c\\u0026\\u003e\\u2028\xc3\xa9"}\n'


def test_webhook_body_is_version_4_with_zero_end_time_for_firing_alerts() -> None:
    seen: list[httpx.Request] = []
    assert _send(WebhookNotifier(WebhookConfig(URL), _client(200, seen))).ok
    body = json.loads(seen[0].content)
    assert list(body) == ["receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations",
                          "externalURL", "version", "groupKey", "truncatedAlerts"]
    assert body["version"] == "4" and body["groupKey"] == CTX.group_key and body["truncatedAlerts"] == 0
    assert body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert body["alerts"][0]["startsAt"] == "1970-01-01T00:00:01Z"
    assert body["alerts"][0]["fingerprint"] == _alerts()[0].fingerprint_hex
    assert seen[0].headers["content-type"] == "application/json"


def test_webhook_max_alerts_truncates_before_computing_status() -> None:
    msg = webhook_message(CTX, _alerts(3, resolved=1), max_alerts=1)
    assert msg["truncatedAlerts"] == 2 and len(msg["alerts"]) == 1
    assert msg["status"] == "resolved"  # only the kept (resolved) alert counts
    assert webhook_message(CTX, _alerts(3, resolved=1))["status"] == "firing"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False), (404, False), (429, False)])
def test_webhook_retries_only_5xx(status: int, retryable: bool) -> None:
    r = _send(WebhookNotifier(WebhookConfig(URL), _client(status)))
    assert not r.ok and r.retryable is retryable and r.status_code == status
    assert f"unexpected status code {status}: nope" in r.error and "s3cr3t" not in r.error


def test_timeouts_and_connection_errors_are_retryable_and_name_no_url(caplog: pytest.LogCaptureFixture) -> None:
    def timeout(req: httpx.Request) -> None:
        raise httpx.ReadTimeout("timed out", request=req)

    def refused(req: httpx.Request) -> None:
        raise httpx.ConnectError(f"cannot connect to {req.url}", request=req)

    caplog.set_level(logging.DEBUG)
    for fail in (timeout, refused):
        r = _send(WebhookNotifier(WebhookConfig(URL), _client(200, fail=fail), timeout_s=0.5))
        assert not r.ok and r.retryable and "s3cr3t" not in r.error and "team-x" in r.error
    assert "s3cr3t" not in caplog.text
    assert "s3cr3t" not in repr(WebhookConfig(URL)) and "s3cr3t" not in repr(SlackConfig(URL))


def test_notify_with_retry_backs_off_on_retryable_failures_and_stops_on_others() -> None:
    calls: list[int] = []

    def handle(req: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) < 3 else 200)

    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    n = WebhookNotifier(WebhookConfig(URL), httpx.AsyncClient(transport=httpx.MockTransport(handle)))
    result, attempts = asyncio.run(notify_with_retry(n, CTX, _alerts(), sleep, Backoff(1.0, 2.0, 3.0, 5)))
    assert result.ok and attempts == 3 and slept == [1.0, 2.0]
    n4 = WebhookNotifier(WebhookConfig(URL), _client(400))
    result, attempts = asyncio.run(notify_with_retry(n4, CTX, _alerts(), sleep, Backoff(1.0, 2.0, 3.0, 5)))
    assert not result.ok and attempts == 1
    n5 = WebhookNotifier(WebhookConfig(URL), _client(502))
    result, attempts = asyncio.run(notify_with_retry(n5, CTX, _alerts(), sleep, Backoff(1.0, 2.0, 3.0, 3)))
    assert not result.ok and result.retryable and attempts == 3 and slept[-2:] == [1.0, 2.0]


def test_slack_message_has_alertmanagers_default_attachment() -> None:
    msg = slack_message(SlackConfig(URL, channel="#ops"), TMPL, CTX, _alerts())
    assert msg["channel"] == "#ops" and msg["username"] == "Alertmanager" and "icon_emoji" not in msg
    att = msg["attachments"][0]
    assert att["title"] == "[FIRING:2] Down " and att["color"] == "danger"
    assert att["title_link"] == "http://am/#/alerts?receiver=team-x"
    assert att["fallback"] == "[FIRING:2] Down  | http://am/#/alerts?receiver=team-x"
    assert att["text"] == "" and att["footer"] == "" and att["callback_id"] == ""
    assert att["mrkdwn_in"] == ["fallback", "pretext", "text"] and "pretext" not in att
    resolved = slack_message(SlackConfig(URL), TMPL, CTX, _alerts(1, resolved=1))
    assert resolved["attachments"][0]["color"] == "good" and "channel" not in resolved


def test_slack_fields_short_default_and_long_titles_are_cut() -> None:
    cfg = SlackConfig(URL, title="{{ range $i := stringSlice " + " ".join(['"xxxxxxxxxx"'] * 110) + " }}{{ $i }}{{ end }}",
                      short_fields=True, fields=(SlackField("Sev", "{{ .Status }}"), SlackField("B", "v", False)))
    att = slack_message(cfg, TMPL, CTX, _alerts())["attachments"][0]
    assert len(att["title"]) == 1024 and att["title"].endswith("…")
    assert att["fields"] == [{"title": "Sev", "value": "firing", "short": True}, {"title": "B", "value": "v", "short": False}]


def test_slack_template_error_is_not_retryable_and_nothing_is_sent() -> None:
    seen: list[httpx.Request] = []
    r = _send(SlackNotifier(SlackConfig(URL, title="{{ template \"missing\" . }}"), TMPL, _client(200, seen)))
    assert not r.ok and not r.retryable and 'template "missing" not defined' in r.error and not seen


def test_pagerduty_trigger_and_resolve_share_the_group_keys_sha256() -> None:
    cfg = PagerdutyConfig(Secret("rk-secret"))
    trig = pagerduty_message(cfg, TMPL, CTX, _alerts(2, resolved=1))
    res = pagerduty_message(cfg, TMPL, CTX, _alerts(2, resolved=2))
    assert trig["dedup_key"] == res["dedup_key"] == hashlib.sha256(CTX.group_key.encode()).hexdigest()
    assert (trig["event_action"], res["event_action"]) == ("trigger", "resolve")
    assert trig["payload"]["summary"] == "[FIRING:1] Down " and trig["payload"]["source"] == "Alertmanager"
    assert trig["payload"]["severity"] == "error"
    assert list(trig["payload"]["custom_details"]) == ["firing", "num_firing", "num_resolved", "resolved"]
    assert trig["payload"]["custom_details"]["num_resolved"] == "1"
    assert "images" not in trig and trig["client_url"] == "http://am/#/alerts?receiver=team-x"


def test_pagerduty_summary_is_cut_and_oversized_details_are_replaced() -> None:
    cfg = PagerdutyConfig(Secret("rk"), description="{{ range $i := stringSlice " + " ".join(['"yyyyyyyyyy"'] * 200) + " }}{{ $i }}{{ end }}",
                          details=(("big", '{{ range $i := stringSlice "a" "b" }}{{ $i }}{{ end }}' + "z" * 600_000),))
    msg = pagerduty_message(cfg, TMPL, CTX, _alerts())
    assert len(msg["payload"]["summary"]) == 1024 and msg["payload"]["summary"].endswith("…")
    body = json.loads(encode_event(msg))
    assert body["payload"]["custom_details"] == {"error": "Custom details have been removed because the "
                                                "original event exceeds the maximum size of 512KB"}


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (500, True), (400, False)])
def test_pagerduty_retries_429_and_5xx(status: int, retryable: bool) -> None:
    r = _send(PagerdutyNotifier(PagerdutyConfig(Secret("rk-secret"), url=SECRET_URL), TMPL, _client(status)))
    assert not r.ok and r.retryable is retryable and "rk-secret" not in r.error and "s3cr3t" not in r.error


def test_pagerduty_empty_routing_key_after_templating_is_refused() -> None:
    seen: list[httpx.Request] = []
    r = _send(PagerdutyNotifier(PagerdutyConfig(Secret("{{ .CommonLabels.nokey }}")), TMPL, _client(200, seen)))
    assert not r.ok and not r.retryable and "routing key cannot be empty" in r.error and not seen


def test_build_notifier_picks_the_integration_for_each_config_type() -> None:
    from sloguard.alerting.receivers import TYPES, EmailConfig, EmailNotifier, build_notifier

    assert set(TYPES) == {"webhook", "slack", "pagerduty", "email"}
    client = _client(200)
    assert isinstance(build_notifier(WebhookConfig(Secret("http://x")), TMPL, client), WebhookNotifier)
    assert isinstance(build_notifier(SlackConfig(Secret("http://x")), TMPL, client), SlackNotifier)
    assert isinstance(build_notifier(PagerdutyConfig(Secret("k")), TMPL, client), PagerdutyNotifier)
    mail = build_notifier(EmailConfig("a@x", from_="b@x", smarthost="h:25"), TMPL)
    assert isinstance(mail, EmailNotifier) and not mail.send_resolved()
    assert build_notifier(WebhookConfig(Secret("http://x")), TMPL).send_resolved()
