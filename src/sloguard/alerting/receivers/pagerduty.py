"""PagerDuty receiver: Events API v2 ``trigger``/``resolve``, as Alertmanager 0.25 sends it.

``dedup_key`` is the SHA-256 (hex) of the group key, so one group is one incident; the
event is ``resolve`` when every alert of the flush is resolved. The summary is cut to
1024 characters; an event over 512,000 bytes loses its custom details. 2xx succeeds,
5xx and 429 are retryable.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from sloguard.alerting._global import DEFAULT_PAGERDUTY_URL
from sloguard.alerting._receivers import PagerdutyConfig
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

__all__ = ["PagerdutyConfig", "PagerdutyNotifier", "dedup_key", "pagerduty_message"]

TYPE = "pagerduty"
MAX_SUMMARY_RUNES = 1024
MAX_EVENT_BYTES = 512_000
TOO_BIG = "Custom details have been removed because the original event exceeds the maximum size of 512KB"
log = logging.getLogger("sloguard.alerting.receivers.pagerduty")

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
                      alerts: Sequence[Alert]) -> dict[str, Any]:
    """The event body; raises :class:`TemplateError` (naming the field) when a template fails."""
    data = build_data(ctx.receiver, ctx.group_labels, alerts, ctx.now_ms, ctx.external_url)
    t = tmpl.expander(data)
    details = go_map(tmpl.expand_all(dict(config.details), data))
    images = [{"src": t(i.src), "alt": t(i.alt), "href": t(i.href)} for i in config.images]
    links = [{"href": t(link.href), "text": t(link.text)} for link in config.links]
    key = config.routing_key.reveal() if config.routing_key is not None else ""
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


def encode_event(msg: dict[str, Any]) -> bytes:
    """Go's JSON; over 512,000 bytes the custom details are replaced by an error note."""
    body = go_json(msg)
    if len(body) > MAX_EVENT_BYTES:
        log.warning("Truncated Details because the message exceeds the size limit", extra={"bytes": len(body)})
        msg = {**msg, "payload": {**msg["payload"], "custom_details": {"error": TOO_BIG}}}
        body = go_json(msg)
    return body


class PagerdutyNotifier(HTTPNotifier[PagerdutyConfig]):
    """Posts Events API v2 messages (the config is the one :func:`load_config` reads; a
    config with only a ``service_key`` (API v1) is refused at send time)."""

    async def notify(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> NotifyResult:
        what = f"pagerduty receiver {ctx.receiver!r}"
        if self.config.routing_key is None:
            return NotifyResult.failure(f"{what}: only routing_key (Events API v2) is supported, not service_key", False)
        try:
            msg = pagerduty_message(self.config, self.tmpl, ctx, alerts)
        except TemplateError as e:
            return NotifyResult.failure(f"{what}: failed to template the PagerDuty v2 message: {e}", False)
        if not msg.get("routing_key"):
            return NotifyResult.failure(f"{what}: routing key cannot be empty", False)
        return await post_json(self.client, self.config.url or DEFAULT_PAGERDUTY_URL, encode_event(msg), what,
                               retry_codes=(429,), timeout_s=self.timeout_s)
