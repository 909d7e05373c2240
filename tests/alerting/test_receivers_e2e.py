"""End to end: an alertmanager.yml with one receiver of each kind is read by ``load_config``,
the notifiers are built from the configs it returns (``build_notifier``), and one
notification each goes to a local capture server (webhook, Slack, PagerDuty) or a local SMTP
server (email). The captured payloads show that the YAML settings, Alertmanager's defaults
and the ``global`` fallbacks (Slack's URL file, PagerDuty's URL, the SMTP settings) all
reach the wire, and that no secret shows in the loaded config's repr."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the [test] extra) is needed for the email receiver")

from sloguard.alerting._errors import AlertingConfigError  # noqa: E402
from sloguard.alerting._receivers import Receiver  # noqa: E402
from sloguard.alerting._slack import SlackAction, SlackConfig, SlackField  # noqa: E402
from sloguard.alerting.config import AlertmanagerConfig, load_config, parse_config  # noqa: E402
from sloguard.alerting.model import Alert  # noqa: E402
from sloguard.alerting.notify_template import NotificationTemplate  # noqa: E402
from sloguard.alerting.receivers import NotifyContext, NotifyResult, ReceiverConfig, build_notifier  # noqa: E402
from sloguard.labels import Labels  # noqa: E402
from tests.alerting._capture import Captured, CaptureServer  # noqa: E402
from tests.alerting.test_email import Inbox, _server  # noqa: E402

CONFIG = """
global:
  smtp_smarthost: '{smtp}'
  smtp_from: 'am@example.org'
  smtp_require_tls: false
  smtp_auth_username: alice
  smtp_auth_password_file: '{password_file}'
  slack_api_url_file: '{slack_url_file}'
  pagerduty_url: '{base}/pd'
route:
  receiver: hook
receivers:
  - name: hook
    webhook_configs:
      - url: '{base}/hook/s3cr3t-token'
        max_alerts: 1
  - name: chat
    slack_configs:
      - channel: '#ops'
        title: '{{{{ .CommonLabels.alertname }}}} is {{{{ .Status }}}}'
        image_url: 'http://img/{{{{ .GroupLabels.alertname }}}}.png'
        mrkdwn_in: [text]
        short_fields: true
        fields:
          - title: Severity
            value: '{{{{ .CommonLabels.severity }}}}'
          - {{title: Team, value: core, short: false}}
        actions:
          - {{type: button, text: Runbook, url: 'http://runbook/{{{{ .GroupLabels.alertname }}}}'}}
  - name: pager
    pagerduty_configs:
      - routing_key: 'rk-{{{{ .CommonLabels.severity }}}}-s3cr3t'
        details: {{team: core}}
        images: [{{src: 'http://img/a.png', alt: graph}}]
        links: [{{href: 'http://runbook', text: Runbook}}]
  - name: mail
    email_configs:
      - to: 'ops@example.org'
        headers: {{x-team: '{{{{ .CommonLabels.alertname }}}}'}}
"""


def _alerts() -> list[Alert]:
    return [Alert.of({"alertname": "Down", "severity": "critical", "instance": f"i{k}"},
                     {"summary": "gone"}, 1_000) for k in range(2)]


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[AlertmanagerConfig, CaptureServer, Inbox]]:
    capture, inbox = CaptureServer(), Inbox()
    base = capture.start()
    smtp, smtp_addr = _server(inbox, authenticator=inbox.authenticate, auth_required=True, auth_require_tls=False)
    (tmp_path / "smtp_pass").write_text("pa55\n")
    (tmp_path / "slack_url").write_text(f"{base}/slack/s3cr3t-hook\n")
    (tmp_path / "am.yml").write_text(CONFIG.format(
        base=base, smtp=smtp_addr, password_file=tmp_path / "smtp_pass", slack_url_file=tmp_path / "slack_url"))
    try:
        yield load_config(tmp_path / "am.yml"), capture, inbox
    finally:
        smtp.stop()
        capture.stop()


async def _notify_all(cfg: AlertmanagerConfig) -> dict[str, NotifyResult]:
    results: dict[str, NotifyResult] = {}
    async with httpx.AsyncClient() as client:
        for rcv in cfg.receivers:
            ctx = NotifyContext('{}:{alertname="Down"}', rcv.name, Labels.of(alertname="Down"), 10_000, "http://am")
            integrations: tuple[ReceiverConfig, ...] = (
                *rcv.webhook_configs, *rcv.slack_configs, *rcv.pagerduty_configs, *rcv.email_configs)
            for integration in integrations:
                notifier = build_notifier(integration, NotificationTemplate(), client)
                results[rcv.name] = await notifier.notify(ctx, _alerts())
    return results


def _only(capture: CaptureServer, path: str) -> Captured:
    got = capture.wait_for(path, 1)
    assert got[0].headers["Content-Type"] == "application/json"
    return got[0]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_each_receiver_kind_sends_what_the_loaded_config_says(loaded: tuple[AlertmanagerConfig, CaptureServer, Inbox]) -> None:
    cfg, capture, inbox = loaded
    assert "s3cr3t" not in repr(cfg) and "pa55" not in repr(cfg)
    results = asyncio.run(_notify_all(cfg))
    assert {name: r.ok for name, r in results.items()} == {"hook": True, "chat": True, "pager": True, "mail": True}

    hook = json.loads(_only(capture, "/hook/s3cr3t-token").body)
    assert hook["receiver"] == "hook" and hook["version"] == "4" and hook["groupKey"] == '{}:{alertname="Down"}'
    assert len(hook["alerts"]) == 1 and hook["truncatedAlerts"] == 1  # max_alerts: 1

    slack = json.loads(_only(capture, "/slack/s3cr3t-hook").body)  # URL read from global's file
    att = slack["attachments"][0]
    assert slack["channel"] == "#ops" and slack["username"] == "Alertmanager"  # default username template
    assert att["title"] == "Down is firing" and att["image_url"] == "http://img/Down.png"
    assert att["mrkdwn_in"] == ["text"] and att["color"] == "danger"
    assert att["fields"] == [{"title": "Severity", "value": "critical", "short": True},
                             {"title": "Team", "value": "core", "short": False}]
    assert att["actions"] == [{"type": "button", "text": "Runbook", "url": "http://runbook/Down"}]

    pd = json.loads(_only(capture, "/pd").body)  # URL from global pagerduty_url
    assert pd["routing_key"] == "rk-critical-s3cr3t" and pd["event_action"] == "trigger"
    assert pd["payload"]["severity"] == "error" and pd["payload"]["source"] == "Alertmanager"
    assert pd["payload"]["custom_details"]["team"] == "core"
    assert pd["payload"]["custom_details"]["num_firing"] == "2"  # a default detail kept beside the user's
    assert pd["images"] == [{"src": "http://img/a.png", "alt": "graph", "href": ""}]  # as Alertmanager 0.25 (peer test)
    assert pd["links"] == [{"href": "http://runbook", "text": "Runbook"}]

    _assert_mail(inbox)


def _assert_mail(inbox: Inbox) -> None:
    assert inbox.logins, "the SMTP login with global's username and password file did not happen"
    env: Any = inbox.messages[0]
    assert env.mail_from == "am@example.org" and env.rcpt_tos == ["ops@example.org"]
    msg = email.message_from_bytes(env.original_content, policy=email.policy.default)
    assert msg["Subject"] == "[FIRING:2] Down (critical)" and msg["X-Team"] == "Down"
    assert msg["To"] == "ops@example.org" and msg["From"] == "am@example.org"


def _receiver(yaml_receiver: str) -> Receiver:
    return parse_config("route: {receiver: a}\nreceivers: [{name: a, " + yaml_receiver + "}]").receiver("a")


def test_slack_fields_actions_and_mrkdwn_in_are_read_typed() -> None:
    s = _receiver("slack_configs: [{api_url: 'http://h/x', mrkdwn_in: [text, title], fields: [{title: t, value: v, "
                  "short: true}, {title: u, value: w}], actions: [{type: button, text: go, name: n, style: danger}]}]"
                  ).slack_configs[0]
    assert s.mrkdwn_in == ("text", "title")
    assert s.fields == (SlackField("t", "v", True), SlackField("u", "w", None))
    assert s.actions == (SlackAction("button", "go", name="n", style="danger"),)
    with pytest.raises(AlertingConfigError) as info:
        _receiver("slack_configs: [{api_url: 'http://h/x', fields: [{title: t, value: v, colour: red}]}]")
    assert info.value.path == "receivers[0].slack_configs[0].fields[0].colour"


def test_unreadable_slack_url_file_fails_without_sending_and_service_key_pagerduty_sends_v1(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handle(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    slack = SlackConfig(api_url_file=str(tmp_path / "missing"))
    pd = _receiver("pagerduty_configs: [{service_key: sk-s3cr3t}]").pagerduty_configs[0]
    ctx = NotifyContext("{}:{}", "a", Labels.of(), 10_000)
    r1 = asyncio.run(build_notifier(slack, NotificationTemplate(), client).notify(ctx, _alerts()))
    r2 = asyncio.run(build_notifier(pd, NotificationTemplate(), client).notify(ctx, _alerts()))
    assert not r1.ok and not r1.retryable and "cannot read api_url_file" in r1.error
    assert r2.ok, r2.error  # a service key means Events API v1, at PagerDuty's v1 endpoint
    assert [str(r.url) for r in seen] == ["https://events.pagerduty.com/generic/2010-04-15/create_event.json"]
