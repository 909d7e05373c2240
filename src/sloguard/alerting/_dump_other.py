"""``config show`` for the receiver kinds sloguard does not send to (OpsGenie, WeChat,
Pushover, VictorOps, SNS, Telegram, Webex, Discord): their entries as written, with
Alertmanager 0.25's defaults, ``global`` fallbacks and field order, secrets as ``<secret>``.

Each kind is a table of fields in Alertmanager's order; only the fields in the table are
ever shown, so a key the table does not know (and any secret in it) never is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sloguard.alerting._global import GlobalConfig
from sloguard.alerting._goyaml import GoMap
from sloguard.alerting._http import parse_http_config, with_directory
from sloguard.alerting._secret import SECRET_TOKEN
from sloguard.alerting._yaml import Node
from sloguard.durations import format_go_duration

__all__ = ["dump_other", "slash_path"]

_T = '{{{{ template "{}" . }}}}'.format
#: (key, how, default or global key). how: text (omitempty), text! (always), secret, url
#: (omitempty, global fallback), url/ (and a trailing slash on the path), url! (always),
#: bool, bool!, map, int, dur (Go duration), secret_url, responders, sigv4.
_Spec = tuple[tuple[str, str, Any], ...]
_KINDS: dict[str, tuple[bool, _Spec]] = {
    "discord_configs": (True, (("webhook_url", "secret_url", None), ("title", "text", _T("discord.default.title")),
                               ("message", "text", _T("discord.default.message")))),
    "opsgenie_configs": (True, (
        ("api_key", "secret", "opsgenie_api_key"), ("api_key_file", "keyfile", "opsgenie_api_key_file"),
        ("api_url", "url/", "opsgenie_api_url"), ("message", "text", _T("opsgenie.default.message")),
        ("description", "text", _T("opsgenie.default.description")),
        ("source", "text", _T("opsgenie.default.source")), ("details", "map", None), ("entity", "text", ""),
        ("responders", "responders", None), ("actions", "text", ""), ("tags", "text", ""), ("note", "text", ""),
        ("priority", "text", ""), ("update_alerts", "bool", False))),
    "wechat_configs": (False, (
        ("api_secret", "secret", "wechat_api_secret"), ("corp_id", "text", "@wechat_api_corp_id"),
        ("message", "text", _T("wechat.default.message")), ("api_url", "url/", "wechat_api_url"),
        ("to_user", "text", _T("wechat.default.to_user")), ("to_party", "text", _T("wechat.default.to_party")),
        ("to_tag", "text", _T("wechat.default.to_tag")), ("agent_id", "text", _T("wechat.default.agent_id")),
        ("message_type", "text", "text"))),
    "pushover_configs": (True, (
        ("user_key", "secret", None), ("token", "secret", None), ("title", "text", _T("pushover.default.title")),
        ("message", "text", _T("pushover.default.message")), ("url", "text", _T("pushover.default.url")),
        ("url_title", "text", ""), ("sound", "text", ""),
        ("priority", "text", '{{ if eq .Status "firing" }}2{{ else }}0{{ end }}'),
        ("retry", "dur", 60 * 10**9), ("expire", "dur", 3600 * 10**9), ("html", "bool!", False))),
    "victorops_configs": (True, (
        ("api_key", "secret", "victorops_api_key"), ("api_key_file", "keyfile", "victorops_api_key_file"),
        ("api_url", "url!/", "victorops_api_url"), ("routing_key", "text!", ""), ("message_type", "text!", "CRITICAL"),
        ("state_message", "text!", _T("victorops.default.state_message")),
        ("entity_display_name", "text!", _T("victorops.default.entity_display_name")),
        ("monitoring_tool", "text!", _T("victorops.default.monitoring_tool")), ("custom_fields", "map", None))),
    "sns_configs": (True, (
        ("api_url", "text", ""), ("sigv4", "sigv4", None), ("topic_arn", "text", ""), ("phone_number", "text", ""),
        ("target_arn", "text", ""), ("subject", "text", _T("sns.default.subject")),
        ("message", "text", _T("sns.default.message")), ("attributes", "map", None))),
    "telegram_configs": (True, (
        ("api_url", "url!", "telegram_api_url"), ("bot_token", "secret", None), ("chat_id", "int", 0),
        ("message", "text", _T("telegram.default.message")), ("disable_notifications", "bool", False),
        ("parse_mode", "text", "HTML"))),
    "webex_configs": (True, (("api_url", "url", "webex_api_url"), ("message", "text", _T("webex.default.message")),
                             ("room_id", "text!", ""))),
}
_GO_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def dump_other(kind: str, entry: Mapping[str, Any], g: GlobalConfig, base_dir: str,
               http: Callable[[Any], dict[str, Any]], file: str = "", path: str = "") -> dict[str, Any]:
    """One entry of ``kind`` as Alertmanager 0.25 shows it; ``http`` dumps an HTTPConfig.
    A value of the wrong type raises AlertingConfigError naming ``file`` and ``path`` (the
    config reader calls this once at load, so a loaded config always dumps)."""
    resolved, spec = _KINDS[kind]
    node = Node(file, path, entry)
    own = with_directory(parse_http_config(node.child("http_config")), base_dir) if node.has("http_config") else None
    out: dict[str, Any] = {"send_resolved": node.flag("send_resolved", resolved),
                           "http_config": http(own or g.http_config)}
    inherit_key = not node.text("api_key") and not node.text("api_key_file")
    for key, how, default in spec:
        value = _field(node, g, key, how, default, inherit_key)
        if value is not None:
            out[key] = value
    return out


def _global(g: GlobalConfig, key: str) -> str:
    values = dict(g.other_urls) | {k: v.reveal() for k, v in g.other_secrets} | dict(g.other_texts)
    return values.get(key, "")


def slash_path(url: str) -> str:
    """The URL with a ``/`` at the end of its path, as Alertmanager gives API base URLs."""
    parts = urlsplit(url)
    return url if parts.path.endswith("/") else urlunsplit(parts._replace(path=parts.path + "/"))


def _field(node: Node, g: GlobalConfig, key: str, how: str, default: Any, inherit_key: bool) -> Any:
    if how in ("secret", "keyfile"):
        value = node.text(key) or (_global(g, default) if default and inherit_key else "")
        return (SECRET_TOKEN if how == "secret" else value) if value else None
    if how.startswith("url"):
        value = node.text(key) or _global(g, default)
        value = slash_path(value) if how.endswith("/") and value else value
        return value or ("" if "!" in how else None)
    if how == "text" and isinstance(default, str) and default.startswith("@"):  # a global fallback
        return node.text(key) or _global(g, default[1:]) or None
    if how == "secret_url":
        return SECRET_TOKEN if node.text(key) else None
    return _SIMPLE[how](node, key, default)


def _go_duration(node: Node, key: str, default: int) -> str | None:
    text = node.text(key)
    if not text:
        return format_go_duration(default) if default else None
    total = sum(float(n) * _GO_UNITS[u] for n, u in re.findall(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", text))
    return format_go_duration(int(total)) if total else None


def _responders(node: Node, key: str, _default: Any) -> list[dict[str, str]] | None:
    out = []
    for p, raw in node.items(key):
        r = Node.of(node.file, p, raw)
        # Alertmanager lower-cases the type only in a copy, so it shows as written
        out.append({k: v for k, v in (("id", r.text("id")), ("name", r.text("name")), ("username", r.text("username")),
                                       ("type", r.text("type"))) if v})
    return out or None


def _sigv4(node: Node, key: str, _default: Any) -> dict[str, str]:
    s = node.child(key)
    fields = {"region": s.text("region"), "access_key": s.text("access_key"),
              "secret_key": SECRET_TOKEN if s.text("secret_key") else "", "profile": s.text("profile"),
              "role_arn": s.text("role_arn")}
    return {k: v for k, v in fields.items() if v}


def _text(node: Node, key: str, default: str) -> str:
    """The written text (a written "" or null overrides the default, as in yaml.v2), else the default."""
    return node.text(key) if key in node.data else default


_SIMPLE: dict[str, Callable[[Node, str, Any], Any]] = {
    "text": lambda n, k, d: _text(n, k, d) or None,
    "text!": _text,
    "bool": lambda n, k, d: n.flag(k, d) or None,
    "bool!": lambda n, k, d: n.flag(k, d),
    "int": lambda n, k, d: n.integer(k, d) or None,
    "map": lambda n, k, d: GoMap(n.str_map(k)) if n.has(k) and n.str_map(k) else None,
    "dur": _go_duration,
    "responders": _responders,
    "sigv4": _sigv4,
}

