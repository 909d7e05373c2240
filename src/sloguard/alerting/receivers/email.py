"""Email receiver: one message per notification over SMTP, as Alertmanager 0.25 sends it.

Port 465 is TLS from the start; otherwise STARTTLS is required unless ``require_tls`` is
false. Authentication runs only when the server offers ``AUTH`` and a username is set.
Headers default to ``Subject`` (``email.default.subject``), ``To`` and ``From``; the body
is the HTML template (``email.default.html``) and, when set, the text one. The SMTP
dialogue runs in a thread (``smtplib``). Connection failures and 4xx replies are
retryable; 5xx replies, bad addresses and template errors are not.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path

from sloguard.alerting._email import DEFAULT_SUBJECT, EmailConfig
from sloguard.alerting._global import GlobalConfig
from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import NotificationTemplate, TemplateError
from sloguard.alerting.receivers._base import DEFAULT_TIMEOUT_S, NotifyContext, NotifyResult
from sloguard.alerting.receivers._mime import build_email, canonical_header
from sloguard.alerting.template_data import build_data

__all__ = ["EmailConfig", "EmailNotifier", "email_message"]

TYPE = "email"


#: What an unresolved config (not read through ``load_config``) falls back to: global's defaults.
_GLOBAL = GlobalConfig()


def all_headers(config: EmailConfig) -> dict[str, str]:
    """The config's headers (canonical names; Subject included) plus the default To and From."""
    h = {canonical_header(k): v for k, v in config.headers}
    h.setdefault("Subject", DEFAULT_SUBJECT)
    h.setdefault("To", config.to)
    h.setdefault("From", config.from_)
    return h


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """An expanded message: envelope sender, recipients and the DATA bytes."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes


class AddressError(ValueError):
    pass


def _addresses(text: str, what: str) -> list[str]:
    addrs = [a for _, a in getaddresses([text]) if a]
    if not addrs:
        raise AddressError(f"cannot parse the {what!r} addresses {text!r}")
    return addrs


def email_message(config: EmailConfig, tmpl: NotificationTemplate, ctx: NotifyContext,
                  alerts: Sequence[Alert], hostname: str | None = None) -> EmailMessage:
    """Expand the templates and build the message; raises ``TemplateError``/``AddressError``."""
    data = build_data(ctx.receiver, ctx.group_labels, alerts, ctx.now_ms, ctx.external_url)
    senders = _addresses(tmpl.execute_text(config.from_, data), "from")
    if len(senders) != 1:
        raise AddressError(f"must be exactly one 'from' address (got: {len(senders)})")
    recipients = _addresses(tmpl.execute_text(config.to, data), "to")
    headers = tmpl.expand_all(all_headers(config), data)
    text = tmpl.execute_text(config.text, data)
    html = tmpl.execute_html(config.html, data)
    return EmailMessage(senders[0], tuple(recipients), build_email(headers, text, html, ctx.now_ms, hostname))


def _tls_context(c: EmailConfig) -> ssl.SSLContext:
    tls = c.tls_config or _GLOBAL.smtp_tls_config
    ctx = ssl.create_default_context(cafile=tls.ca_file or None)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _split_host(smarthost: str) -> tuple[str, int]:
    host, _, port = smarthost.rpartition(":")
    return host.strip("[]"), int(port)


def _require_tls(c: EmailConfig) -> bool:
    return _GLOBAL.smtp_require_tls if c.require_tls is None else c.require_tls


def _password(c: EmailConfig) -> str:
    """The secret for PLAIN/LOGIN: ``auth_password``, or ``auth_password_file`` read now."""
    if c.auth_password is not None:
        return c.auth_password.reveal()
    return Path(c.auth_password_file).read_text().strip() if c.auth_password_file else ""


def _connect(c: EmailConfig, timeout_s: float) -> smtplib.SMTP:
    host, port = _split_host(c.smarthost)
    hello = c.hello or _GLOBAL.smtp_hello
    if port == 465:
        return smtplib.SMTP_SSL(host, port, local_hostname=hello, timeout=timeout_s, context=_tls_context(c))
    return smtplib.SMTP(host, port, local_hostname=hello, timeout=timeout_s)


def _login(smtp: smtplib.SMTP, c: EmailConfig) -> None:
    """Alertmanager's choice: the first mechanism the server lists for which a credential
    is configured (CRAM-MD5 uses ``auth_secret``; PLAIN and LOGIN ``auth_password``)."""
    password = _password(c)
    smtp.user, smtp.password = c.auth_username, password
    for mech in smtp.esmtp_features.get("auth", "").upper().split():
        if mech == "CRAM-MD5" and c.auth_secret:
            smtp.password = c.auth_secret.reveal()
            smtp.auth(mech, smtp.auth_cram_md5)
            return
        if mech in ("PLAIN", "LOGIN") and password:
            smtp.auth(mech, smtp.auth_plain if mech == "PLAIN" else smtp.auth_login)
            return
    raise smtplib.SMTPException(f"no usable auth mechanism among {smtp.esmtp_features.get('auth', '')!r}")


def _send_sync(c: EmailConfig, msg: EmailMessage, timeout_s: float) -> None:
    with _connect(c, timeout_s) as smtp:
        smtp.ehlo()
        if _require_tls(c) and _split_host(c.smarthost)[1] != 465:
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    f"'require_tls' is true (default) but {c.smarthost!r} does not advertise the STARTTLS extension")
            smtp.starttls(context=_tls_context(c))
            smtp.ehlo()
        if smtp.has_extn("auth") and c.auth_username:
            _login(smtp, c)
        smtp.sendmail(msg.sender, list(msg.recipients), msg.data)


def _smtp_failure(what: str, e: Exception) -> NotifyResult:
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in e.recipients.values()]
        return NotifyResult.failure(f"{what}: every recipient was refused (codes {codes})", all(c < 500 for c in codes))
    if isinstance(e, smtplib.SMTPResponseException):
        text = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return NotifyResult.failure(f"{what}: the server replied {e.smtp_code} {text}", e.smtp_code < 500)
    return NotifyResult.failure(f"{what}: {type(e).__name__}: {e}", True)


class EmailNotifier:
    """Sends :func:`email_message` (the config is the one :func:`load_config` reads)."""

    def __init__(self, config: EmailConfig, tmpl: NotificationTemplate | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.config = config
        self.tmpl = tmpl or NotificationTemplate()
        self.timeout_s = timeout_s

    def send_resolved(self) -> bool:
        return self.config.send_resolved

    async def notify(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> NotifyResult:
        what = f"email receiver {ctx.receiver!r}"
        try:
            msg = email_message(self.config, self.tmpl, ctx, alerts)
        except (TemplateError, AddressError) as e:
            return NotifyResult.failure(f"{what}: {e}", False)
        try:
            await asyncio.to_thread(_send_sync, self.config, msg, self.timeout_s)
        except (OSError, smtplib.SMTPException) as e:
            return _smtp_failure(what, e)
        return NotifyResult.success()
