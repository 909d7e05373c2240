"""PagerDuty receiver: Events API v2 ``trigger``/``resolve`` (``routing_key``), or the
v1 generic events API (``service_key``), as Alertmanager 0.25 sends them.

``dedup_key`` (v1: ``incident_key``) is the SHA-256 (hex) of the group key, so one group is
one incident; the event is ``resolve`` when every alert of the flush is resolved. The
summary (v1: description) is cut to 1024 characters; an event over 512,000 bytes loses its
custom details. v2 posts to ``url``; v1 always to PagerDuty's v1 endpoint, as Alertmanager
does. 2xx succeeds; 5xx is retryable, and 429 (v2) or 403 (v1) too. ``routing_key_file`` /
``service_key_file`` are read at every send; a file that cannot be read fails the send
(not retried) with Alertmanager's words.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sloguard.alerting._global import DEFAULT_PAGERDUTY_URL
from sloguard.alerting._receivers import PagerdutyConfig
from sloguard.alerting._secret import Secret
from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import NotificationTemplate, TemplateError
from sloguard.alerting.receivers._base import (
    HTTPNotifier,
    NotifyContext,
    NotifyResult,
    go_json,
    post_json,
    truncate_in_runes,
)
from sloguard.alerting.template_data import Data, build_data, go_map

__all__ = ["API_V1_URL", "KeyFileError", "PagerdutyConfig", "PagerdutyNotifier", "dedup_key", "is_v1",
           "pagerduty_message", "pagerduty_v1_message", "read_key"]

TYPE = "pagerduty"
MAX_SUMMARY_RUNES = 1024
MAX_EVENT_BYTES = 512_000
TOO_BIG = "Custom details have been removed because the original event exceeds the maximum size of 512KB"
#: Where Alertmanager 0.25 sends v1 events, whatever ``url`` says.
API_V1_URL = "https://events.pagerduty.com/generic/2010-04-15/create_event.json"
log = logging.getLogger("sloguard.alerting.receivers.pagerduty")


class KeyFileError(OSError):
    """A ``routing_key_file`` / ``service_key_file`` that cannot be read at send time."""


def is_v1(config: PagerdutyConfig) -> bool:
    """Alertmanager's choice: a service key (inline or in a file) means Events API v1."""
    return bool(config.service_key) or bool(config.service_key_file)


def read_key(secret: Secret | None, file: str, what: str) -> str:
    """The key inline, or the trimmed content of its file (read now); raises KeyFileError."""
    if secret:
        return secret.reveal()
    try:
        return Path(file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise KeyFileError(f"failed to read {what} from file: open {file}: {reason[:1].lower()}{reason[1:]}") from None


def dedup_key(group_key: str) -> str:
    """Alertmanager's ``notify.Key.Hash``: SHA-256 of the group key, lower-case hex."""
    return hashlib.sha256(group_key.encode()).hexdigest()


def _payload(c: PagerdutyConfig, tmpl: NotificationTemplate, data: Data, details: dict[str, str]) -> dict[str, Any]:
    t = tmpl.expander(data)
    summary, truncated = truncate_in_runes(t(c.description), MAX_SUMMARY_RUNES)
    if truncated:
        log.warning("Truncated summary", extra={"max_runes": MAX_SUMMARY_RUNES})
    p = {"summary": summary, "source": t(c.source or c.client), "severity": t(c.severity or "error"),
         "class": t(c.class_), "component": t(c.component), "group": t(c.group), "custom_details": details}
    return {k: v for k, v in p.items() if v or k in ("summary", "source", "severity")}


def pagerduty_message(config: PagerdutyConfig, tmpl: NotificationTemplate, ctx: NotifyContext,
                      alerts: Sequence[Alert], routing_key: str | None = None) -> dict[str, Any]:
    """The v2 event body; raises :class:`TemplateError` (naming the field) when a template
    fails. ``routing_key`` is the key read from ``routing_key_file``, if that is how it is set."""
    data = build_data(ctx.receiver, ctx.group_labels, alerts, ctx.now_ms, ctx.external_url)
    t = tmpl.expander(data)
    details = go_map(tmpl.expand_all(dict(config.details), data))
    images = [{"src": t(i.src), "alt": t(i.alt), "href": t(i.href)} for i in config.images]
    links = [{"href": t(link.href), "text": t(link.text)} for link in config.links]
    key = routing_key if routing_key is not None else config.routing_key.reveal() if config.routing_key else ""
    msg = {
        "routing_key": t(key),
        "dedup_key": dedup_key(ctx.group_key),
        "event_action": "trigger" if data.Status == "firing" else "resolve",
        "payload": _payload(config, tmpl, data, details),
        "client": t(config.client),
        "client_url": t(config.client_url),
        "images": [i for i in images if i["src"]],
        "links": [link for link in links if link["href"]],
    }
    return {k: v for k, v in msg.items() if v or k in ("event_action", "payload")}


def pagerduty_v1_message(config: PagerdutyConfig, tmpl: NotificationTemplate, ctx: NotifyContext,
                         alerts: Sequence[Alert], service_key: str) -> dict[str, Any]:
    """The v1 event body (keys in Alertmanager's order, ``event_action`` and ``payload``
    always there, ``client``/``client_url`` only on a trigger); raises TemplateError."""
    data = build_data(ctx.receiver, ctx.group_labels, alerts, ctx.now_ms, ctx.external_url)
    t = tmpl.expander(data)
    details = go_map(tmpl.expand_all(dict(config.details), data))
    description, truncated = truncate_in_runes(t(config.description), MAX_SUMMARY_RUNES)
    if truncated:
        log.warning("Truncated description", extra={"max_runes": MAX_SUMMARY_RUNES})
    trigger = data.Status == "firing"
    msg = {
        "service_key": t(service_key), "incident_key": dedup_key(ctx.group_key),
        "event_type": "trigger" if trigger else "resolve", "description": description,
        "event_action": "", "payload": None,
        "client": t(config.client) if trigger else "", "client_url": t(config.client_url) if trigger else "",
        "details": details,
    }
    return {k: v for k, v in msg.items() if v or k in ("event_action", "payload")}


def encode_event(msg: dict[str, Any]) -> bytes:
    """Go's JSON; over 512,000 bytes the custom details (v1: details) are replaced by an error note."""
    body = go_json(msg)
    if len(body) > MAX_EVENT_BYTES:
        log.warning("Truncated Details because the message exceeds the size limit", extra={"bytes": len(body)})
        if msg.get("payload") is None:
            msg = {**msg, "details": {"error": TOO_BIG}}
        else:
            msg = {**msg, "payload": {**msg["payload"], "custom_details": {"error": TOO_BIG}}}
        body = go_json(msg)
    return body


class PagerdutyNotifier(HTTPNotifier[PagerdutyConfig]):
    """Posts v2 events to ``url``, or v1 events to :data:`API_V1_URL` when the config has a
    service key (the config is the one :func:`load_config` reads)."""

    api_v1_url = API_V1_URL  #: tests point it at a local server, as Alertmanager's own tests do

    async def notify(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> NotifyResult:
        what = f"pagerduty receiver {ctx.receiver!r}"
        c, v1 = self.config, is_v1(self.config)
        try:
            key = (read_key(c.service_key, c.service_key_file, "service key") if v1
                   else read_key(c.routing_key, c.routing_key_file, "routing key"))
        except KeyFileError as e:
            return NotifyResult.failure(f"{what}: {e}", False)
        version = "v1" if v1 else "v2"
        try:
            msg = (pagerduty_v1_message(c, self.tmpl, ctx, alerts, key) if v1
                   else pagerduty_message(c, self.tmpl, ctx, alerts, routing_key=key))
        except TemplateError as e:
            return NotifyResult.failure(f"{what}: failed to template the PagerDuty {version} message: {e}", False)
        if not msg.get("service_key" if v1 else "routing_key"):
            return NotifyResult.failure(f"{what}: {'service' if v1 else 'routing'} key cannot be empty", False)
        url = self.api_v1_url if v1 else c.url or DEFAULT_PAGERDUTY_URL
        return await post_json(self.client, url, encode_event(msg), what,
                               retry_codes=(403,) if v1 else (429,), timeout_s=self.timeout_s)
