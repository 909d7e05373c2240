"""Slack receiver: an incoming-webhook message with one attachment, as Alertmanager 0.25
sends it (every text field is a template; empty optional fields are left out)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sloguard.alerting._slack import SlackAction, SlackConfig, SlackField
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
from sloguard.alerting.template_data import Data, build_data

__all__ = ["SlackAction", "SlackConfig", "SlackField", "SlackNotifier", "slack_message"]

TYPE = "slack"
MAX_TITLE_RUNES = 1024
log = logging.getLogger("sloguard.alerting.receivers.slack")


def _omit_empty(d: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys or v}


def _action(a: SlackAction, t: Callable[[str], str]) -> dict[str, Any]:
    out = _omit_empty({"type": t(a.type), "text": t(a.text), "url": t(a.url), "style": t(a.style),
                       "name": t(a.name), "value": t(a.value)}, ("type", "text", "url", "style", "name", "value"))
    if a.confirm is not None:
        c = a.confirm
        out["confirm"] = _omit_empty({"text": t(c.text), "title": t(c.title), "ok_text": t(c.ok_text),
                                      "dismiss_text": t(c.dismiss_text)}, ("text", "title", "ok_text", "dismiss_text"))
    return out


def _attachment(c: SlackConfig, tmpl: NotificationTemplate, data: Data) -> dict[str, Any]:
    t = tmpl.expander(data)
    title, truncated = truncate_in_runes(t(c.title), MAX_TITLE_RUNES)
    if truncated:
        log.warning("Truncated title", extra={"max_runes": MAX_TITLE_RUNES})
    att: dict[str, Any] = {
        "title": title, "title_link": t(c.title_link), "pretext": t(c.pretext), "text": t(c.text),
        "fallback": t(c.fallback), "callback_id": t(c.callback_id),
        "fields": [{"title": t(f.title), "value": t(f.value),
                    "short": c.short_fields if f.short is None else f.short} for f in c.fields],
        "actions": [_action(a, t) for a in c.actions],
        "image_url": t(c.image_url), "thumb_url": t(c.thumb_url), "footer": t(c.footer), "color": t(c.color),
        "mrkdwn_in": list(c.mrkdwn_in) or ["fallback", "pretext", "text"],
    }
    return _omit_empty(att, ("title", "title_link", "pretext", "fields", "actions", "image_url",
                             "thumb_url", "color", "mrkdwn_in"))


def slack_message(config: SlackConfig, tmpl: NotificationTemplate, ctx: NotifyContext,
                  alerts: Sequence[Alert]) -> dict[str, Any]:
    """The request body; raises :class:`TemplateError` when a field's template fails."""
    data = build_data(ctx.receiver, ctx.group_labels, alerts, ctx.now_ms, ctx.external_url)
    t = tmpl.expander(data)
    req = {"channel": t(config.channel), "username": t(config.username), "icon_emoji": t(config.icon_emoji),
           "icon_url": t(config.icon_url), "link_names": config.link_names,
           "attachments": [_attachment(config, tmpl, data)]}
    return _omit_empty(req, ("channel", "username", "icon_emoji", "icon_url", "link_names"))


def api_url(config: SlackConfig) -> str:
    """The secret URL to post to: ``api_url``, or ``api_url_file``'s content read at send
    time (trimmed), as Alertmanager does. Raises ``OSError`` when the file cannot be read."""
    if config.api_url is not None:
        return config.api_url.reveal()
    if config.api_url_file:
        return Path(config.api_url_file).read_text().strip()
    return ""


class SlackNotifier(HTTPNotifier[SlackConfig]):
    """Posts :func:`slack_message` (the config is the one :func:`load_config` reads)."""

    async def notify(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> NotifyResult:
        try:
            msg = slack_message(self.config, self.tmpl, ctx, alerts)
        except TemplateError as e:
            return NotifyResult.failure(f"slack receiver {ctx.receiver!r}: {e}", False)
        what = f"slack receiver {ctx.receiver!r} channel {msg.get('channel', '')!r}"
        try:
            url = api_url(self.config)
        except OSError as e:
            return NotifyResult.failure(f"{what}: cannot read api_url_file {self.config.api_url_file}: {e.strerror}",
                                        False)
        if not url:
            return NotifyResult.failure(f"{what}: no API URL is set (resolve the config against global)", False)
        return await post_json(self.client, url, go_json(msg), what, timeout_s=self.timeout_s)
