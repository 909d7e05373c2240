"""Alertmanager 0.25's checks of the receiver kinds sloguard does not send to, so that
``sloguard alerting check`` refuses what ``amtool check-config`` refuses even there:
required fields when an entry is read, and the ``global`` fallbacks when receivers are
resolved (``no global OpsGenie API Key set either inline or in a file``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sloguard.alerting._errors import AlertingConfigError
from sloguard.alerting._global import GlobalConfig
from sloguard.alerting._yaml import Node

__all__ = ["check_other_entry", "check_other_fallbacks"]

_REQUIRED = {
    "victorops_configs": (("routing_key", "missing Routing key in VictorOps config"),),
    "pushover_configs": (("user_key", "missing user key in Pushover config"), ("token", "missing token in Pushover config")),
    "telegram_configs": (("bot_token", "missing bot_token on telegram_config"),
                         ("chat_id", "missing chat_id on telegram_config")),
    "webex_configs": (("room_id", "missing room_id on webex_config"),),
}
_VICTOROPS_RESERVED = ("routing_key", "message_type", "state_message", "entity_display_name", "monitoring_tool",
                       "entity_id", "entity_state")


def check_other_entry(kind: str, node: Node) -> None:
    """The checks Alertmanager makes when it reads one entry of ``kind``."""
    for key, message in _REQUIRED.get(kind, ()):
        if not node.data.get(key):
            raise AlertingConfigError(node.file, node.path, message)
    if kind in ("opsgenie_configs", "victorops_configs") and node.text("api_key") and node.text("api_key_file"):
        raise node.fail("api_key", "at most one of api_key & api_key_file must be configured")
    _KIND_CHECKS.get(kind, lambda _n: None)(node)


def _victorops(node: Node) -> None:
    for key in _VICTOROPS_RESERVED:
        if key in node.str_map("custom_fields"):
            raise node.fail("custom_fields", f"victorOps config contains custom field {key} which cannot be used "
                                             "as it conflicts with the fixed/static fields")


def _sns(node: Node) -> None:
    given = [bool(node.text(k)) for k in ("target_arn", "topic_arn", "phone_number")]
    if ((not given[0]) != (not given[1])) != (not given[2]):  # Go's left-to-right != of the three "is empty"s
        raise AlertingConfigError(node.file, node.path,
                                  "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config")


def _telegram(node: Node) -> None:
    if node.text("parse_mode") not in ("", "Markdown", "MarkdownV2", "HTML"):
        raise node.fail("parse_mode", "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML "
                                      "or empty string")


def _wechat(node: Node) -> None:
    kind = node.text("message_type") or "text"
    if not re.fullmatch(r"text|markdown", kind):
        raise node.fail("message_type", f'weChat message type "{kind}" does not match valid options ^(text|markdown)$')


def _webex(node: Node) -> None:
    if not Node.of(node.file, node.sub("http_config"), node.data.get("http_config")).has("authorization"):
        raise AlertingConfigError(node.file, node.path, "missing webex_configs.http_config.authorization")


_KIND_CHECKS = {"victorops_configs": _victorops, "sns_configs": _sns, "telegram_configs": _telegram,
                "wechat_configs": _wechat, "webex_configs": _webex}


def check_other_fallbacks(kind: str, entry: Mapping[str, Any], g: GlobalConfig, file: str, path: str) -> None:
    """What Alertmanager refuses when an entry has no value and ``global`` has none either."""
    secrets, texts = dict(g.other_secrets), dict(g.other_texts)
    no_key = not entry.get("api_key") and not entry.get("api_key_file")
    if kind == "opsgenie_configs" and no_key and "opsgenie_api_key" not in secrets \
            and "opsgenie_api_key_file" not in texts:
        raise AlertingConfigError(file, path, "no global OpsGenie API Key set either inline or in a file")
    if kind == "wechat_configs" and not entry.get("api_secret") and "wechat_api_secret" not in secrets:
        raise AlertingConfigError(file, path, "no global Wechat ApiSecret set")
    if kind == "wechat_configs" and not entry.get("corp_id") and "wechat_api_corp_id" not in texts:
        raise AlertingConfigError(file, path, "no global Wechat CorpID set")
    if kind == "victorops_configs" and no_key and "victorops_api_key" not in secrets \
            and "victorops_api_key_file" not in texts:
        raise AlertingConfigError(file, path, "no global VictorOps API Key set")
    if kind == "discord_configs" and not entry.get("webhook_url"):
        raise AlertingConfigError(file, path, "no discord webhook URL provided")
