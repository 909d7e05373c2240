"""Receivers and their integrations (webhook, Slack, PagerDuty, email) as written in YAML.

Fields that Alertmanager fills from ``global`` (an http_config, Slack's API URL, PagerDuty's
URL, the SMTP settings) are None here until ``resolve_receiver`` fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sloguard.alerting._email import EmailConfig, parse_email, resolve_email
from sloguard.alerting._errors import AlertingConfigError
from sloguard.alerting._global import GlobalConfig
from sloguard.alerting._http import HTTPConfig, check_url, parse_http_config
from sloguard.alerting._secret import Secret
from sloguard.alerting._yaml import Node

#: Receiver kinds Alertmanager 0.25 knows and sloguard does not send to (yet).
UNSUPPORTED_KINDS = (
    "opsgenie_configs", "wechat_configs", "pushover_configs", "victorops_configs", "sns_configs",
    "telegram_configs", "webex_configs", "discord_configs",
)
_SUPPORTED = ("webhook_configs", "slack_configs", "pagerduty_configs", "email_configs")


def _tmpl(name: str) -> str:
    return '{{ template "' + name + '" . }}'


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Alertmanager's webhook (JSON version 4); ``max_alerts`` 0 sends every alert."""

    url: Secret
    send_resolved: bool = True
    max_alerts: int = 0
    http_config: HTTPConfig | None = None


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """A Slack incoming webhook; text fields are Go templates (Alertmanager's defaults)."""

    api_url: Secret | None = None
    api_url_file: str = ""
    send_resolved: bool = False
    channel: str = ""
    username: str = _tmpl("slack.default.username")
    color: str = '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
    title: str = _tmpl("slack.default.title")
    title_link: str = _tmpl("slack.default.titlelink")
    pretext: str = _tmpl("slack.default.pretext")
    text: str = _tmpl("slack.default.text")
    fallback: str = _tmpl("slack.default.fallback")
    footer: str = _tmpl("slack.default.footer")
    icon_emoji: str = _tmpl("slack.default.iconemoji")
    icon_url: str = _tmpl("slack.default.iconurl")
    callback_id: str = _tmpl("slack.default.callbackid")
    link_names: bool = False
    short_fields: bool = False
    extra: tuple[tuple[str, Any], ...] = ()  #: fields, actions, mrkdwn_in... as written
    http_config: HTTPConfig | None = None


_PD_CLIENT = _tmpl("pagerduty.default.client")


@dataclass(frozen=True, slots=True)
class PagerdutyConfig:
    """PagerDuty: Events API v2 with ``routing_key``, v1 with ``service_key``."""

    routing_key: Secret | None = None
    service_key: Secret | None = None
    url: str | None = None
    send_resolved: bool = True
    client: str = _PD_CLIENT
    client_url: str = _tmpl("pagerduty.default.clientURL")
    description: str = '{{ template "pagerduty.default.description" .}}'  # sic: Alertmanager's default
    severity: str = ""
    class_: str = ""
    component: str = ""
    group: str = ""
    source: str = _PD_CLIENT  #: defaults to ``client``
    details: tuple[tuple[str, str], ...] = ()  #: the defaults below, then the user's (sorted by key)
    http_config: HTTPConfig | None = None


#: Details every PagerDuty event carries unless the config sets the same key.
DEFAULT_PAGERDUTY_DETAILS = {
    "firing": '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
    "resolved": '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
    "num_firing": "{{ .Alerts.Firing | len }}",
    "num_resolved": "{{ .Alerts.Resolved | len }}",
}


@dataclass(frozen=True, slots=True)
class Receiver:
    """A named receiver: its integrations, and the kinds sloguard cannot send to."""

    name: str
    webhook_configs: tuple[WebhookConfig, ...] = ()
    slack_configs: tuple[SlackConfig, ...] = ()
    pagerduty_configs: tuple[PagerdutyConfig, ...] = ()
    email_configs: tuple[EmailConfig, ...] = ()
    unsupported: tuple[str, ...] = ()
    path: str = ""


def _secret(node: Node, key: str) -> Secret | None:
    value = node.opt_text(key)
    return Secret(value) if value is not None else None


def parse_webhook(node: Node) -> WebhookConfig:
    node.check_keys(("send_resolved", "http_config", "url", "max_alerts"))
    if not node.has("url"):
        raise AlertingConfigError(node.file, node.path, "missing URL in webhook config")
    check_url(node, "url")
    if node.integer("max_alerts") < 0:
        raise node.fail("max_alerts", f"cannot unmarshal !!int `{node.integer('max_alerts')}` into uint64")
    return WebhookConfig(
        url=Secret(node.text("url")), send_resolved=node.flag("send_resolved", True),
        max_alerts=node.integer("max_alerts"), http_config=_http(node),
    )


def _http(node: Node) -> HTTPConfig | None:
    return parse_http_config(node.child("http_config")) if node.has("http_config") else None


_SLACK_TEXT = ("channel", "username", "color", "title", "title_link", "pretext", "text", "fallback",
               "footer", "icon_emoji", "icon_url", "callback_id")
_SLACK_EXTRA = ("fields", "actions", "mrkdwn_in", "image_url", "thumb_url")


def parse_slack(node: Node) -> SlackConfig:
    node.check_keys(("send_resolved", "http_config", "api_url", "api_url_file", "link_names",
                     "short_fields", *_SLACK_TEXT, *_SLACK_EXTRA))
    if node.has("api_url") and node.has("api_url_file"):
        raise node.fail("api_url", "at most one of api_url & api_url_file must be configured")
    if node.has("api_url") and node.text("api_url") != "<secret>":
        check_url(node, "api_url")
    _check_slack_lists(node)
    texts = {k: node.text(k) for k in _SLACK_TEXT if node.has(k)}
    return SlackConfig(
        api_url=_secret(node, "api_url"), api_url_file=node.text("api_url_file"),
        send_resolved=node.flag("send_resolved", False), link_names=node.flag("link_names", False),
        short_fields=node.flag("short_fields", False), http_config=_http(node),
        extra=tuple((k, node.data[k]) for k in _SLACK_EXTRA if node.has(k)), **texts,
    )


def _check_slack_lists(node: Node) -> None:
    """Alertmanager's checks of Slack ``fields`` and ``actions`` entries."""
    for path, value in node.items("fields"):
        field = Node.of(node.file, path, value)
        for key in ("title", "value"):
            if not field.text(key):
                raise AlertingConfigError(node.file, path, f"missing {key} in Slack field configuration")
    for path, value in node.items("actions"):
        action = Node.of(node.file, path, value)
        for key in ("type", "text"):
            if not action.text(key):
                raise AlertingConfigError(node.file, path, f"missing {key} in Slack action configuration")
        if not action.text("url") and not action.text("name"):
            raise AlertingConfigError(node.file, path, "missing name or url in Slack action configuration")


_PD_TEXT = ("client", "client_url", "description", "severity", "component", "group", "source")


def parse_pagerduty(node: Node) -> PagerdutyConfig:
    node.check_keys(("send_resolved", "http_config", "routing_key", "routing_key_file", "service_key",
                     "service_key_file", "url", "details", "images", "links", "class", *_PD_TEXT))
    keys = ("routing_key", "routing_key_file", "service_key", "service_key_file")
    if not any(node.has(k) for k in keys):
        raise AlertingConfigError(node.file, node.path, "missing service or routing key in PagerDuty config")
    for key in ("routing_key", "service_key"):
        if node.has(key) and node.has(f"{key}_file"):
            raise node.fail(key, f"at most one of {key} & {key}_file must be configured")
    texts = {k: node.text(k) for k in _PD_TEXT if node.has(k)}
    texts.setdefault("source", texts.get("client", _PD_CLIENT))  # Alertmanager: source defaults to client
    details = DEFAULT_PAGERDUTY_DETAILS | node.str_map("details")
    return PagerdutyConfig(
        routing_key=_secret(node, "routing_key"), service_key=_secret(node, "service_key"),
        url=check_url(node, "url") if node.has("url") else None,
        send_resolved=node.flag("send_resolved", True), class_=node.text("class"),
        details=tuple(sorted(details.items())), http_config=_http(node), **texts,
    )


_PARSERS: dict[str, Any] = {
    "webhook_configs": parse_webhook, "slack_configs": parse_slack,
    "pagerduty_configs": parse_pagerduty, "email_configs": parse_email,
}


def parse_receiver(file: str, path: str, value: object) -> Receiver:
    node = Node.of(file, path, value, ("name", *_SUPPORTED, *UNSUPPORTED_KINDS))
    lists: dict[str, tuple[Any, ...]] = {}
    for kind in _SUPPORTED:
        lists[kind] = tuple(_PARSERS[kind](Node.of(file, p, v)) for p, v in node.items(kind))
    unsupported = tuple(k for k in UNSUPPORTED_KINDS if list(node.items(k)))
    if not node.text("name"):
        raise AlertingConfigError(file, path, "missing name in receiver")
    return Receiver(name=node.text("name"), unsupported=unsupported, path=path, **lists)


def resolve_receiver(rcv: Receiver, g: GlobalConfig, node: Node) -> Receiver:
    """Fill what each integration takes from ``global``, refusing as Alertmanager does when
    neither gives it (``no global SMTP smarthost set``)."""
    http = g.http_config
    hooks = tuple(replace(w, http_config=w.http_config or http) for w in rcv.webhook_configs)
    emails = tuple(resolve_email(e, g, node) for e in rcv.email_configs)
    slacks = tuple(_resolve_slack(s, g, node) for s in rcv.slack_configs)
    pds = tuple(replace(p, http_config=p.http_config or http, url=p.url or g.pagerduty_url)
                for p in rcv.pagerduty_configs)
    return replace(rcv, webhook_configs=hooks, email_configs=emails, slack_configs=slacks, pagerduty_configs=pds)


def _resolve_slack(s: SlackConfig, g: GlobalConfig, node: Node) -> SlackConfig:
    if s.api_url is None and not s.api_url_file:
        if g.slack_api_url is None and not g.slack_api_url_file:
            raise AlertingConfigError(node.file, node.path, "no global Slack API URL set either inline or in a file")
        s = replace(s, api_url=g.slack_api_url, api_url_file=g.slack_api_url_file)
    return replace(s, http_config=s.http_config or g.http_config)
