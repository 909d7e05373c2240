"""Differential: the real Alertmanager 0.25 and sloguard's receivers, same alerts, same group.

Alertmanager runs with webhook (plain and ``max_alerts: 1``), Slack and PagerDuty receivers
pointed at a local capture server and an email receiver pointed at a local SMTP server
(aiosmtpd). Three flushes are captured (all firing; one resolved; all resolved) and, for
each, sloguard builds its payloads for the same group and alerts. Webhook, Slack and
PagerDuty bodies must be byte-identical (``--web.external-url`` makes the URLs
deterministic; every timestamp is given explicitly, so none is taken from a clock; the
group key is computed as Alertmanager's dispatcher writes it, root route ``{}``). For email
the Subject, To and From headers and the HTML ``<title>`` must be equal (sloguard's HTML
body is a simplified page, documented).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sloguard.alerting._receivers import Receiver
from sloguard.alerting.config import load_config
from sloguard.alerting.model import Alert, go_time_rfc3339, label_set_string, sort_alerts
from sloguard.alerting.notify_template import NotificationTemplate
from sloguard.alerting.receivers._base import NotifyContext, go_json
from sloguard.alerting.receivers.email import email_message
from sloguard.alerting.receivers.pagerduty import encode_event, pagerduty_message
from sloguard.alerting.receivers.slack import slack_message
from sloguard.alerting.receivers.webhook import webhook_message
from sloguard.labels import Labels
from tests._net import free_port
from tests.alerting._capture import CaptureServer

pytestmark = [pytest.mark.peer, pytest.mark.slow]

AM = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
EXTERNAL = "http://am.example:9093"
T0 = 1_780_000_000_123  # a fixed start, in the past
SLACK_TEXT = ('{{ range .Alerts }}{{ .StartsAt.Format "Mon Jan _2 15:04:05.000 2006 -07:00 MST" }} '
              '{{ .StartsAt }} {{ .EndsAt }} {{ .EndsAt.IsZero }};{{ end }}')
CONFIG = """
global:
  smtp_smarthost: '{smtp}'
  smtp_from: 'am@example.org'
  smtp_require_tls: false
route:
  receiver: 'web.hook'
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: 'web.hook'
    webhook_configs:
      - url: '{base}/hook'
      - url: '{base}/trunc'
        max_alerts: 1
    slack_configs:
      - api_url: '{base}/slack'
        channel: '#ops'
        send_resolved: true
        text: '{slack_text}'

    pagerduty_configs:
      - url: '{base}/pd'
        routing_key: 'rk-1'
        images: [{{src: 'http://img/a.png', alt: graph}}]
        links: [{{href: 'http://runbook', text: Runbook}}, {{href: 'http://docs'}}]
        details: {{team: core}}
    email_configs:
      - to: 'ops@example.org'
        send_resolved: true
"""


def _alerts(resolved: int, t0: int = T0, ends_after: int = 60_000) -> list[Alert]:
    """Three alerts of one group starting at ``t0``; the first ``resolved`` end ``ends_after``
    ms later (in the past by the time they are posted)."""
    return [
        Alert.of({"alertname": "DiskFull", "job": "node", "instance": f"{name}:9100", "team": "s", "dev": dev},
                 {"summary": "disk < 5% & falling", "runbook": "ß"}, t0 + k,
                 t0 + ends_after + k if k < resolved else None, f"http://prom/graph?g0.expr=x{k}")
        for k, (name, dev) in enumerate((("a", "sda"), ("b", "sdb"), ("c", "sda")))
    ]


def _postable(a: Alert) -> dict[str, Any]:
    out = {"labels": dict(a.labels), "annotations": dict(a.annotations),
           "startsAt": go_time_rfc3339(a.starts_at), "generatorURL": a.generator_url}
    if a.ends_at is not None:
        out["endsAt"] = go_time_rfc3339(a.ends_at)
    return out


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[tuple[str, CaptureServer, Any, Receiver]]:
    if AM is None:
        pytest.skip("prometheus-alertmanager is not installed")
    pytest.importorskip("aiosmtpd", reason="aiosmtpd (the [test] extra) is needed for the email comparison")
    from tests.alerting.test_email import Inbox, _server

    capture, inbox = CaptureServer(), Inbox()
    base = capture.start()
    smtp, smtp_addr = _server(inbox)
    port = free_port()
    (tmp_path / "am.yml").write_text(CONFIG.format(base=base, smtp=smtp_addr, slack_text=SLACK_TEXT))
    proc = subprocess.Popen(
        [AM, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={EXTERNAL}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url)
        yield url, capture, inbox, load_config(tmp_path / "am.yml").receivers[0]
    finally:
        proc.terminate()
        proc.wait(10)
        smtp.stop()
        capture.stop()


def _wait_ready(url: str) -> None:
    for _ in range(100):
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("Alertmanager did not become ready")


def _title(html: str) -> str:
    m = re.search(r"<title>(.*?)</title>", html, re.S)
    assert m is not None, html[:200]
    return m.group(1)


def _compare_flush(n: int, alerts: list[Alert], capture: CaptureServer, inbox: Any, rcv: Receiver) -> None:
    """Our payloads, built from the configs ``load_config`` reads from the peer's own file."""
    ctx = NotifyContext("{}:" + label_set_string([("alertname", "DiskFull")]), "web.hook",
                        Labels.of(alertname="DiskFull"), int(time.time() * 1000), EXTERNAL)
    ordered, tmpl = sort_alerts(alerts), NotificationTemplate()
    expected = {
        "/hook": go_json(webhook_message(ctx, ordered)),
        "/trunc": go_json(webhook_message(ctx, ordered, max_alerts=rcv.webhook_configs[1].max_alerts)),
        "/slack": go_json(slack_message(rcv.slack_configs[0], tmpl, ctx, ordered)),
        "/pd": encode_event(pagerduty_message(rcv.pagerduty_configs[0], tmpl, ctx, ordered)),
    }
    for path, ours in expected.items():
        theirs = capture.wait_for(path, n)[n - 1].body
        assert ours == theirs, f"flush {n} {path}:\nsloguard:     {ours!r}\nalertmanager: {theirs!r}"
    mine = email.message_from_bytes(
        email_message(rcv.email_configs[0], tmpl, ctx, ordered).data,
        policy=email.policy.default)
    deadline = time.monotonic() + 15
    while len(inbox.messages) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    theirs_mail = email.message_from_bytes(inbox.messages[n - 1].original_content, policy=email.policy.default)
    for header in ("Subject", "To", "From"):
        assert str(mine[header]) == str(theirs_mail[header]), header
    assert _title(_html(mine)) == _title(_html(theirs_mail))


def _html(msg: Any) -> str:
    part = msg.get_body(("html",))
    assert part is not None, "the message has no HTML part"
    return str(part.get_content())


def test_payloads_equal_alertmanagers_over_fire_partial_resolve_and_resolve(peer: tuple[str, CaptureServer, Any, Receiver]) -> None:
    url, capture, inbox, rcv = peer
    # The third post leaves out the alert resolved in the second flush: Alertmanager dropped
    # it from the group once that flush succeeded, so the last flush has two alerts.
    # Alerts start now: Alertmanager flushes a new group at once, without its group_wait,
    # when the first alert's start is older than group_wait, racing the rest of the post.
    t0 = int(time.time() * 1000)
    steps = [(_alerts(n, t0, 300), _alerts(n, t0, 300)) for n in (0, 1)]
    steps.append((_alerts(3, t0, 300)[1:], _alerts(3, t0, 300)[1:]))
    for step, (posted, expected_alerts) in enumerate(steps, 1):
        r = httpx.post(f"{url}/api/v2/alerts", json=[_postable(a) for a in posted], timeout=5)
        assert r.status_code == 200, r.text
        _compare_flush(step, expected_alerts, capture, inbox, rcv)
    pd = [json.loads(c.body)["event_action"] for c in capture.wait_for("/pd", 3)]
    assert pd == ["trigger", "trigger", "resolve"]
