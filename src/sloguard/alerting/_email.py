"""``email_configs``: SMTP delivery settings, completed from ``global``'s smtp_* keys."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sloguard.alerting._errors import AlertingConfigError
from sloguard.alerting._global import GlobalConfig, check_hostport
from sloguard.alerting._http import TLSConfig, parse_tls
from sloguard.alerting._secret import Secret
from sloguard.alerting._yaml import Node

_KEYS = ("send_resolved", "to", "from", "hello", "smarthost", "auth_username", "auth_password",
         "auth_password_file", "auth_secret", "auth_identity", "headers", "html", "text", "require_tls",
         "tls_config")
DEFAULT_SUBJECT = '{{ template "email.default.subject" . }}'
DEFAULT_HTML = '{{ template "email.default.html" . }}'


@dataclass(frozen=True, slots=True)
class EmailConfig:
    """One email integration. Headers are title-cased (``Subject``), with Alertmanager's
    default subject; empty strings / None mean "take it from global" until resolved."""

    to: str
    from_: str = ""
    hello: str = ""
    smarthost: str = ""
    auth_username: str = ""
    auth_password: Secret | None = None
    auth_password_file: str = ""
    auth_secret: Secret | None = None
    auth_identity: str = ""
    headers: tuple[tuple[str, str], ...] = (("Subject", DEFAULT_SUBJECT),)
    html: str = DEFAULT_HTML
    text: str = ""
    require_tls: bool | None = None
    tls_config: TLSConfig | None = None
    send_resolved: bool = False


def _title(key: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in key.split("-"))


def _headers(node: Node) -> tuple[tuple[str, str], ...]:
    headers: dict[str, str] = {}
    for key, value in node.str_map("headers").items():
        name = _title(key)
        if name in headers:
            raise node.fail("headers", f'duplicate header "{name}" in email config')
        headers[name] = value
    headers.setdefault("Subject", DEFAULT_SUBJECT)
    return tuple(headers.items())


def _secret(node: Node, key: str) -> Secret | None:
    value = node.opt_text(key)
    return Secret(value) if value is not None else None


def parse_email(node: Node) -> EmailConfig:
    node.check_keys(_KEYS)
    if not node.text("to"):
        raise AlertingConfigError(node.file, node.path, "missing to address in email config")
    return EmailConfig(
        to=node.text("to"), from_=node.text("from"), hello=node.text("hello"),
        smarthost=check_hostport(node, "smarthost"), auth_username=node.text("auth_username"),
        auth_password=_secret(node, "auth_password"), auth_password_file=node.text("auth_password_file"),
        auth_secret=_secret(node, "auth_secret"), auth_identity=node.text("auth_identity"),
        headers=_headers(node), html=node.text("html", DEFAULT_HTML), text=node.text("text"),
        require_tls=node.flag("require_tls", False) if node.has("require_tls") else None,
        tls_config=parse_tls(node.child("tls_config")) if node.has("tls_config") else None,
        send_resolved=node.flag("send_resolved", False),
    )


def resolve_email(e: EmailConfig, g: GlobalConfig, node: Node) -> EmailConfig:
    if not e.smarthost and not g.smtp_smarthost:
        raise AlertingConfigError(node.file, node.path, "no global SMTP smarthost set")
    if not e.from_ and not g.smtp_from:
        raise AlertingConfigError(node.file, node.path, "no global SMTP from set")
    inherit_password = e.auth_password is None and not e.auth_password_file
    return replace(
        e, smarthost=e.smarthost or g.smtp_smarthost, from_=e.from_ or g.smtp_from, hello=e.hello or g.smtp_hello,
        auth_username=e.auth_username or g.smtp_auth_username,
        auth_password=g.smtp_auth_password if inherit_password else e.auth_password,
        auth_password_file=g.smtp_auth_password_file if inherit_password else e.auth_password_file,
        auth_secret=e.auth_secret if e.auth_secret is not None else g.smtp_auth_secret,
        auth_identity=e.auth_identity or g.smtp_auth_identity,
        require_tls=g.smtp_require_tls if e.require_tls is None else e.require_tls,
        tls_config=e.tls_config or g.smtp_tls_config,
    )
