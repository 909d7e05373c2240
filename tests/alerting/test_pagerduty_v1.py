"""PagerDuty Events API v1 (``service_key``) and the key files read at send time; HTTP goes
through ``httpx.MockTransport`` (the byte comparison with Alertmanager is in
test_pagerduty_peer.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx

from sloguard.alerting.config import parse_config
from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import NotificationTemplate
from sloguard.alerting.receivers._base import NotifyContext, NotifyResult
from sloguard.alerting.receivers.pagerduty import (
    API_V1_URL,
    PagerdutyConfig,
    PagerdutyNotifier,
    encode_event,
    pagerduty_v1_message,
)
from sloguard.labels import Labels

CTX = NotifyContext('{}:{alertname="Down"}', "team-x", Labels.of(alertname="Down"), 10_000, "http://am")
TMPL = NotificationTemplate()


def _alerts(resolved: int = 0, n: int = 2) -> list[Alert]:
    return [Alert.of({"alertname": "Down", "instance": f"i{k}"}, {"summary": "s"}, 1_000,
                     5_000 if k < resolved else None) for k in range(n)]


def _pd(fields: str) -> PagerdutyConfig:
    cfg = parse_config("route: {receiver: a}\nreceivers: [{name: a, pagerduty_configs: [{" + fields + "}]}]")
    return cfg.receivers[0].pagerduty_configs[0]


def _send(config: PagerdutyConfig, status: int = 200, alerts: list[Alert] | None = None
          ) -> tuple[NotifyResult, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(status)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    result = asyncio.run(PagerdutyNotifier(config, TMPL, client).notify(CTX, _alerts() if alerts is None else alerts))
    return result, seen


def test_a_service_key_sends_a_v1_event_to_pagerdutys_v1_endpoint_whatever_url_says() -> None:
    result, seen = _send(_pd("service_key: sk-1, url: 'http://elsewhere/x', details: {team: core}"))
    assert result.ok and [str(r.url) for r in seen] == [API_V1_URL]
    body = json.loads(seen[0].content)
    assert list(body) == ["service_key", "incident_key", "event_type", "description", "event_action", "payload",
                          "client", "client_url", "details"]
    assert body["service_key"] == "sk-1" and body["event_type"] == "trigger"
    assert body["incident_key"] == hashlib.sha256(CTX.group_key.encode()).hexdigest()
    assert (body["event_action"], body["payload"], body["client"]) == ("", None, "Alertmanager")
    assert body["details"]["team"] == "core" and body["details"]["num_firing"] == "2"


def test_a_v1_resolve_has_no_client_fields() -> None:
    msg = pagerduty_v1_message(_pd("service_key: sk"), TMPL, CTX, _alerts(resolved=2), "sk")
    assert msg["event_type"] == "resolve" and "client" not in msg and "client_url" not in msg
    assert msg["description"].startswith("[RESOLVED]")


def test_key_files_are_read_at_every_send(tmp_path: Path) -> None:
    (tmp_path / "rk").write_text("rk-one\n")
    config = _pd(f"routing_key_file: '{tmp_path / 'rk'}'")
    first = json.loads(_send(config)[1][0].content)
    (tmp_path / "rk").write_text("  rk-two  ")
    second = json.loads(_send(config)[1][0].content)
    assert (first["routing_key"], second["routing_key"]) == ("rk-one", "rk-two")
    (tmp_path / "sk").write_text("sk-file\n")
    v1 = json.loads(_send(_pd(f"service_key_file: '{tmp_path / 'sk'}'"))[1][0].content)
    assert v1["service_key"] == "sk-file"


def test_a_missing_key_file_fails_without_sending_or_retrying(tmp_path: Path) -> None:
    for key, what in (("routing_key_file", "routing key"), ("service_key_file", "service key")):
        result, seen = _send(_pd(f"{key}: '{tmp_path / 'none'}'"))
        assert not result.ok and not result.retryable and not seen
        assert f"failed to read {what} from file: open {tmp_path / 'none'}: no such file or directory" in result.error


def test_v1_retries_403_and_v2_does_not() -> None:
    assert _send(_pd("service_key: sk"), status=403)[0].retryable
    assert not _send(_pd("routing_key: rk"), status=403)[0].retryable
    assert _send(_pd("routing_key: rk"), status=429)[0].retryable
    assert not _send(_pd("service_key: sk"), status=429)[0].retryable


def test_an_oversized_v1_event_loses_its_details() -> None:
    big = _pd("service_key: sk, details: {blob: '" + "x" * 600_000 + "'}")
    body = json.loads(encode_event(pagerduty_v1_message(big, TMPL, CTX, _alerts(), "sk")))
    assert body["details"] == {"error": "Custom details have been removed because the original event exceeds "
                                        "the maximum size of 512KB"}
    assert body["payload"] is None


def test_an_unreadable_slack_api_url_file_names_the_file(tmp_path: Path) -> None:
    from sloguard.alerting.receivers import SlackConfig, SlackNotifier
    notifier = SlackNotifier(SlackConfig(api_url_file=str(tmp_path / "gone")), TMPL)
    result = asyncio.run(notifier.notify(CTX, _alerts()))
    assert not result.ok and not result.retryable
    assert f"cannot read api_url_file {tmp_path / 'gone'}: No such file or directory" in result.error
