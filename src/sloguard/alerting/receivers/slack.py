"""Slack receiver: an incoming-webhook message with one attachment, as Alertmanager 0.25
sends it (every text field is a template; empty optional fields are left out)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import NotificationTemplate, TemplateError
from sloguard.alerting.receivers._base import (
    DEFAULT_TIMEOUT_S,
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


@dataclass(frozen=True, slots=True)
class SlackField:
    title: str
    value: str
    short: bool | None = None


@dataclass(frozen=True, slots=True)
class SlackAction:
    type: str
    text: str
    url: str = ""
    style: str = ""
    name: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """``slack_configs`` entry with Alertmanager's defaults (``api_url`` is a secret)."""

    api_url: str
    send_resolved: bool = False
    channel: str = ""
    username: str = '{{ template "slack.default.username" . }}'
    color: str = '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
    title: str = '{{ template "slack.default.title" . }}'
    title_link: str = '{{ template "slack.default.titlelink" . }}'
    pretext: str = '{{ template "slack.default.pretext" . }}'
    text: str = '{{ template "slack.default.text" . }}'
    fallback: str = '{{ template "slack.default.fallback" . }}'
    callback_id: str = '{{ template "slack.default.callbackid" . }}'
    icon_emoji: str = '{{ template "slack.default.iconemoji" . }}'
    icon_url: str = '{{ template "slack.default.iconurl" . }}'
    image_url: str = ""
    thumb_url: str = ""
    footer: str = '{{ template "slack.default.footer" . }}'
    link_names: bool = False
    short_fields: bool = False
    mrkdwn_in: tuple[str, ...] = ()
    fields: tuple[SlackField, ...] = field(default_factory=tuple)
    actions: tuple[SlackAction, ...] = field(default_factory=tuple)
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __repr__(self) -> str:
        return f"SlackConfig(api_url=<secret>, channel={self.channel!r})"


def _omit_empty(d: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys or v}


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
        "actions": [_omit_empty({"type": t(a.type), "text": t(a.text), "url": t(a.url), "style": t(a.style),
                                 "name": t(a.name), "value": t(a.value)}, ("type", "text", "url", "style", "name", "value"))
                    for a in c.actions],
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


class SlackNotifier:
    def __init__(self, config: SlackConfig, tmpl: NotificationTemplate | None = None,
                 client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.tmpl = tmpl or NotificationTemplate()
        self.client = client or httpx.AsyncClient()

    def send_resolved(self) -> bool:
        return self.config.send_resolved

    async def notify(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> NotifyResult:
        try:
            msg = slack_message(self.config, self.tmpl, ctx, alerts)
        except TemplateError as e:
            return NotifyResult.failure(f"slack receiver {ctx.receiver!r}: {e}", False)
        return await post_json(self.client, self.config.api_url, go_json(msg),
                               f"slack receiver {ctx.receiver!r} channel {msg.get('channel', '')!r}",
                               timeout_s=self.config.timeout_s)
