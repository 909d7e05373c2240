"""``slack_configs``: a Slack incoming webhook as written in YAML, with Alertmanager 0.25's
defaults (every text field is a Go template) and its checks of ``fields`` and ``actions``.
``api_url`` is None until ``resolve_slack`` fills it from ``global``."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sloguard.alerting._errors import AlertingConfigError
from sloguard.alerting._global import GlobalConfig
from sloguard.alerting._http import HTTPConfig, check_url, parse_http_config
from sloguard.alerting._secret import Secret
from sloguard.alerting._yaml import Node

__all__ = ["SlackAction", "SlackConfig", "SlackConfirm", "SlackField", "parse_slack", "resolve_slack"]


def _tmpl(name: str) -> str:
    return '{{ template "' + name + '" . }}'


@dataclass(frozen=True, slots=True)
class SlackField:
    """One attachment field; ``short`` None takes the config's ``short_fields``."""

    title: str
    value: str
    short: bool | None = None


@dataclass(frozen=True, slots=True)
class SlackConfirm:
    """An action's ``confirm`` dialog; every text is a template, ``text`` is required."""

    text: str
    title: str = ""
    ok_text: str = ""
    dismiss_text: str = ""


@dataclass(frozen=True, slots=True)
class SlackAction:
    """One attachment action (a button); every text is a template. As in Alertmanager, an
    action with a ``url`` keeps no ``name``, ``value`` or ``confirm``."""

    type: str
    text: str
    url: str = ""
    style: str = ""
    name: str = ""
    value: str = ""
    confirm: SlackConfirm | None = None


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """A Slack integration (``api_url`` is a secret)."""

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
    image_url: str = ""
    thumb_url: str = ""
    link_names: bool = False
    short_fields: bool = False
    mrkdwn_in: tuple[str, ...] = ()
    fields: tuple[SlackField, ...] = ()
    actions: tuple[SlackAction, ...] = ()
    http_config: HTTPConfig | None = None


_TEXT = ("channel", "username", "color", "title", "title_link", "pretext", "text", "fallback",
         "footer", "icon_emoji", "icon_url", "callback_id", "image_url", "thumb_url")
_ACTION_KEYS = ("type", "text", "url", "style", "name", "value", "confirm")


def parse_slack(node: Node) -> SlackConfig:
    node.check_keys(("send_resolved", "http_config", "api_url", "api_url_file", "link_names",
                     "short_fields", "fields", "actions", "mrkdwn_in", *_TEXT))
    if node.has("api_url") and node.has("api_url_file"):
        raise node.fail("api_url", "at most one of api_url & api_url_file must be configured")
    if node.has("api_url") and node.text("api_url") != "<secret>":
        check_url(node, "api_url")
    value = node.opt_text("api_url")
    return SlackConfig(
        api_url=Secret(value) if value is not None else None, api_url_file=node.text("api_url_file"),
        send_resolved=node.flag("send_resolved", False), link_names=node.flag("link_names", False),
        short_fields=node.flag("short_fields", False), mrkdwn_in=_strings(node, "mrkdwn_in"),
        fields=_fields(node), actions=_actions(node),
        http_config=parse_http_config(node.child("http_config")) if node.has("http_config") else None,
        **{k: node.text(k) for k in _TEXT if node.has(k)},
    )


def _strings(node: Node, key: str) -> tuple[str, ...]:
    out = []
    for path, value in node.items(key):
        if not isinstance(value, str):
            raise AlertingConfigError(node.file, path, f"cannot unmarshal {value!r} into a string")
        out.append(value)
    return tuple(out)


def _fields(node: Node) -> tuple[SlackField, ...]:
    """Alertmanager's check: every field has a title and a value."""
    fields = []
    for path, value in node.items("fields"):
        f = Node.of(node.file, path, value, ("title", "value", "short"))
        for key in ("title", "value"):
            if not f.text(key):
                raise AlertingConfigError(node.file, path, f"missing {key} in Slack field configuration")
        short = f.flag("short", False) if f.has("short") else None
        fields.append(SlackField(f.text("title"), f.text("value"), short))
    return tuple(fields)


def _actions(node: Node) -> tuple[SlackAction, ...]:
    """Alertmanager's checks: a type, a text, and a name or a url."""
    actions = []
    for path, value in node.items("actions"):
        a = Node.of(node.file, path, value, _ACTION_KEYS)
        for key in ("type", "text"):
            if not a.text(key):
                raise AlertingConfigError(node.file, path, f"missing {key} in Slack action configuration")
        if not a.text("url") and not a.text("name"):
            raise AlertingConfigError(node.file, path, "missing name or url in Slack action configuration")
        texts = {k: a.text(k) for k in _ACTION_KEYS[:-1]}
        if texts["url"]:
            texts.update(name="", value="")
        confirm = _confirm(a) if a.has("confirm") and not texts["url"] else None
        actions.append(SlackAction(**texts, confirm=confirm))
    return tuple(actions)


def _confirm(action: Node) -> SlackConfirm:
    c = action.child("confirm", ("text", "title", "ok_text", "dismiss_text"))
    if not c.text("text"):
        raise AlertingConfigError(c.file, c.path, "missing text in Slack confirmation configuration")
    return SlackConfirm(c.text("text"), c.text("title"), c.text("ok_text"), c.text("dismiss_text"))


def resolve_slack(s: SlackConfig, g: GlobalConfig, node: Node) -> SlackConfig:
    """The API URL and http_config from ``global`` when the integration has none."""
    if s.api_url is None and not s.api_url_file:
        if g.slack_api_url is None and not g.slack_api_url_file:
            raise AlertingConfigError(node.file, node.path, "no global Slack API URL set either inline or in a file")
        s = replace(s, api_url=g.slack_api_url, api_url_file=g.slack_api_url_file)
    return replace(s, http_config=s.http_config or g.http_config)
