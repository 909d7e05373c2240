"""The ``global`` section: defaults that receivers and alerts fall back to."""

from __future__ import annotations

from dataclasses import dataclass

from sloguard.alerting._http import HTTPConfig, TLSConfig, check_url, parse_http_config
from sloguard.alerting._secret import Secret
from sloguard.alerting._yaml import Node

DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_RESOLVE_TIMEOUT_MS = 5 * 60_000
#: The URLs of the receiver kinds sloguard does not send to, with Alertmanager 0.25's defaults
#: (kept for ``config show``).
OTHER_URL_DEFAULTS = (
    ("opsgenie_api_url", "https://api.opsgenie.com/"), ("wechat_api_url", "https://qyapi.weixin.qq.com/cgi-bin/"),
    ("victorops_api_url", "https://alert.victorops.com/integrations/generic/20131114/alert/"),
    ("telegram_api_url", "https://api.telegram.org"), ("webex_api_url", "https://webexapis.com/v1/messages"),
)
_OTHER_SECRETS = ("opsgenie_api_key", "wechat_api_secret", "victorops_api_key")
_OTHER_TEXT = ("opsgenie_api_key_file", "wechat_api_corp_id", "victorops_api_key_file")

_KEYS = (
    "resolve_timeout", "http_config", "smtp_from", "smtp_hello", "smtp_smarthost", "smtp_auth_username",
    "smtp_auth_password", "smtp_auth_password_file", "smtp_auth_secret", "smtp_auth_identity",
    "smtp_require_tls", "slack_api_url", "slack_api_url_file", "pagerduty_url",
    "opsgenie_api_url", "opsgenie_api_key", "opsgenie_api_key_file", "wechat_api_url", "wechat_api_secret",
    "wechat_api_corp_id", "victorops_api_url", "victorops_api_key", "victorops_api_key_file",
    "telegram_api_url", "webex_api_url",
)


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    """Alertmanager's ``global`` block with its defaults (resolve_timeout 5m, smtp_hello
    ``localhost``, smtp_require_tls true, PagerDuty's v2 events URL)."""

    resolve_timeout_ms: int = DEFAULT_RESOLVE_TIMEOUT_MS
    http_config: HTTPConfig = HTTPConfig()
    smtp_from: str = ""
    smtp_hello: str = "localhost"
    smtp_smarthost: str = ""
    smtp_auth_username: str = ""
    smtp_auth_password: Secret | None = None
    smtp_auth_password_file: str = ""
    smtp_auth_secret: Secret | None = None
    smtp_auth_identity: str = ""
    smtp_require_tls: bool = True
    smtp_tls_config: TLSConfig = TLSConfig()  #: not a key in 0.25; email_configs' tls_config default
    slack_api_url: Secret | None = None
    slack_api_url_file: str = ""
    pagerduty_url: str = DEFAULT_PAGERDUTY_URL
    #: The other kinds' settings, for ``config show``: URLs (with defaults), secrets, texts.
    other_urls: tuple[tuple[str, str], ...] = OTHER_URL_DEFAULTS
    other_secrets: tuple[tuple[str, Secret], ...] = ()
    other_texts: tuple[tuple[str, str], ...] = ()


def _secret(node: Node, key: str) -> Secret | None:
    value = node.opt_text(key)
    return Secret(value) if value is not None else None


def parse_global(node: Node) -> GlobalConfig:
    node.check_keys(_KEYS)
    resolve = node.duration_ms("resolve_timeout")
    slack = _secret(node, "slack_api_url")
    if slack is not None and slack.reveal() != "<secret>":
        check_url(node, "slack_api_url")
    return GlobalConfig(
        resolve_timeout_ms=DEFAULT_RESOLVE_TIMEOUT_MS if resolve is None else resolve,
        http_config=parse_http_config(node.child("http_config")),
        smtp_from=node.text("smtp_from"),
        smtp_hello=node.text("smtp_hello", "localhost"),
        smtp_smarthost=check_hostport(node, "smtp_smarthost"),
        smtp_auth_username=node.text("smtp_auth_username"),
        smtp_auth_password=_secret(node, "smtp_auth_password"),
        smtp_auth_password_file=node.text("smtp_auth_password_file"),
        smtp_auth_secret=_secret(node, "smtp_auth_secret"),
        smtp_auth_identity=node.text("smtp_auth_identity"),
        smtp_require_tls=node.flag("smtp_require_tls", True),
        slack_api_url=slack,
        slack_api_url_file=node.text("slack_api_url_file"),
        pagerduty_url=check_url(node, "pagerduty_url") if node.has("pagerduty_url") else DEFAULT_PAGERDUTY_URL,
        other_urls=tuple((k, check_url(node, k) if node.has(k) else v) for k, v in OTHER_URL_DEFAULTS),
        other_secrets=tuple((k, Secret(node.text(k))) for k in _OTHER_SECRETS if node.text(k)),
        other_texts=tuple((k, node.text(k)) for k in _OTHER_TEXT if node.text(k)),
    )


def check_global(node: Node, cfg: GlobalConfig) -> None:
    """Alertmanager's global checks: a setting given both inline and in a file."""
    if cfg.slack_api_url is not None and cfg.slack_api_url_file:
        raise node.fail("slack_api_url", "at most one of slack_api_url & slack_api_url_file must be configured")
    other = dict(cfg.other_secrets).keys() | dict(cfg.other_texts).keys()
    for kind in ("opsgenie", "victorops"):
        if f"{kind}_api_key" in other and f"{kind}_api_key_file" in other:
            raise node.fail(f"{kind}_api_key", f"at most one of {kind}_api_key & {kind}_api_key_file must be configured")
    if cfg.smtp_auth_password is not None and cfg.smtp_auth_password_file:
        raise node.fail("smtp_auth_password",
                        "at most one of smtp_auth_password & smtp_auth_password_file must be configured")


def check_hostport(node: Node, key: str) -> str:
    """A ``host:port`` address (``smtp_smarthost``), refused with Go's words otherwise."""
    text = node.text(key)
    if not text:
        return ""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise node.fail(key, f"address {text}: missing port in address")
    if not port:
        raise node.fail(key, f'address "{text}": port cannot be empty')
    if host.startswith("[") != host.endswith("]"):
        raise node.fail(key, f"address {text}: missing ']' in address")
    return text
