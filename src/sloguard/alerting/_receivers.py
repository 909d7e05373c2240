"""Receivers and their integrations (webhook, Slack, PagerDuty, email) as written in YAML.

Fields that Alertmanager fills from ``global`` (an http_config, Slack's API URL, PagerDuty's
URL, the SMTP settings) are None here until ``resolve_receiver`` fills them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from sloguard.alerting._dump_other import dump_other
from sloguard.alerting._email import EmailConfig, parse_email, resolve_email
from sloguard.alerting._errors import AlertingConfigError
from sloguard.alerting._global import GlobalConfig
from sloguard.alerting._http import HTTPConfig, check_url, parse_http_config
from sloguard.alerting._other_checks import check_other_entry, check_other_fallbacks
from sloguard.alerting._secret import Secret
from sloguard.alerting._slack import SlackConfig, parse_slack, resolve_slack
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


_PD_CLIENT = _tmpl("pagerduty.default.client")

#: Details every PagerDuty event carries unless the config sets the same key.
DEFAULT_PAGERDUTY_DETAILS = {
    "firing": '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
    "resolved": '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
    "num_firing": "{{ .Alerts.Firing | len }}",
    "num_resolved": "{{ .Alerts.Resolved | len }}",
}


@dataclass(frozen=True, slots=True)
class PagerdutyImage:
    src: str
    alt: str = ""
    href: str = ""


@dataclass(frozen=True, slots=True)
class PagerdutyLink:
    href: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class PagerdutyConfig:
    """PagerDuty: Events API v2 with ``routing_key``, v1 with ``service_key``."""

    routing_key: Secret | None = None
    service_key: Secret | None = None
    url: str | None = None
    routing_key_file: str = ""  #: read at send time, trimmed
    service_key_file: str = ""
    send_resolved: bool = True
    client: str = _PD_CLIENT
    client_url: str = _tmpl("pagerduty.default.clientURL")
    description: str = '{{ template "pagerduty.default.description" .}}'  # sic: Alertmanager's default
    severity: str = ""
    class_: str = ""
    component: str = ""
    group: str = ""
    source: str = _PD_CLIENT  #: defaults to ``client``
    details: tuple[tuple[str, str], ...] = tuple(sorted(DEFAULT_PAGERDUTY_DETAILS.items()))  #: defaults + user's
    images: tuple[PagerdutyImage, ...] = ()
    links: tuple[PagerdutyLink, ...] = ()
    http_config: HTTPConfig | None = None




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
    #: The unsupported kinds' entries as written (raw YAML mappings), for ``config show``.
    other_configs: tuple[tuple[str, tuple[Mapping[str, Any], ...]], ...] = ()


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
        routing_key_file=node.text("routing_key_file"), service_key_file=node.text("service_key_file"),
        url=check_url(node, "url") if node.has("url") else None,
        send_resolved=node.flag("send_resolved", True), class_=node.text("class"),
        details=tuple(sorted(details.items())), http_config=_http(node), **texts,
        images=tuple(PagerdutyImage(**_texts(node, p, v, ("src", "alt", "href"))) for p, v in node.items("images")),
        links=tuple(PagerdutyLink(**_texts(node, p, v, ("href", "text"))) for p, v in node.items("links")),
    )


def _texts(node: Node, path: str, value: object, keys: tuple[str, ...]) -> dict[str, str]:
    entry = Node.of(node.file, path, value, keys)
    return {k: entry.text(k) for k in keys}


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
    other = tuple((k, tuple(_other_entry(file, p, v, k) for p, v in node.items(k))) for k in unsupported)
    return Receiver(name=node.text("name"), unsupported=unsupported, path=path, other_configs=other, **lists)


def _other_entry(file: str, path: str, value: object, kind: str) -> Mapping[str, Any]:
    """An entry of a kind sloguard does not send to, kept as written for ``config show``;
    its ``http_config`` and the types of the fields shown are checked now."""
    entry = Node.of(file, path, value)
    check_other_entry(kind, entry)
    dump_other(kind, entry.data, GlobalConfig(), ".", lambda _h: {}, file, path)
    return MappingProxyType(dict(entry.data))


def resolve_receiver(rcv: Receiver, g: GlobalConfig, node: Node) -> Receiver:
    """Fill what each integration takes from ``global``, refusing as Alertmanager does when
    neither gives it (``no global SMTP smarthost set``)."""
    http = g.http_config
    hooks = tuple(replace(w, http_config=w.http_config or http) for w in rcv.webhook_configs)
    emails = tuple(resolve_email(e, g, node) for e in rcv.email_configs)
    slacks = tuple(resolve_slack(s, g, node) for s in rcv.slack_configs)
    for kind, entries in rcv.other_configs:
        for i, entry in enumerate(entries):
            check_other_fallbacks(kind, entry, g, node.file, f"{rcv.path}.{kind}[{i}]")
    pds = tuple(replace(p, http_config=p.http_config or http, url=p.url or g.pagerduty_url)
                for p in rcv.pagerduty_configs)
    return replace(rcv, webhook_configs=hooks, email_configs=emails, slack_configs=slacks, pagerduty_configs=pds)
