"""Email receiver against a local SMTP server (aiosmtpd): the message that arrives, with
STARTTLS and authentication where configured, and the verdicts on failures."""

from __future__ import annotations

import asyncio
import email
import email.header
import email.policy
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the [test] extra) is needed for the SMTP tests")

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

from sloguard.alerting._email import EmailConfig  # noqa: E402
from sloguard.alerting._http import TLSConfig  # noqa: E402
from sloguard.alerting._secret import Secret  # noqa: E402
from sloguard.alerting.model import Alert  # noqa: E402
from sloguard.alerting.receivers._base import NotifyContext, NotifyResult  # noqa: E402
from sloguard.alerting.receivers.email import EmailNotifier  # noqa: E402
from sloguard.labels import Labels  # noqa: E402
from tests._certs import make_pki  # noqa: E402
from tests._net import free_port  # noqa: E402

CTX = NotifyContext('{}:{alertname="Down"}', "mail", Labels.of(alertname="Down"), 10_000, "http://am")
ALERTS = [Alert.of({"alertname": "Down", "instance": f"i{k}"}, {"summary": "gone <now>"}, 1_000) for k in range(2)]


@dataclass
class Inbox:
    messages: list[Any] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alice", b"pa55")
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)


def _server(inbox: Inbox, **kw: Any) -> tuple[Controller, str]:
    port = free_port()
    c = Controller(inbox, hostname="127.0.0.1", port=port, **kw)
    c.start()
    return c, f"127.0.0.1:{port}"


@pytest.fixture
def plain() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    c, addr = _server(inbox)
    yield inbox, addr
    c.stop()


def _send(cfg: EmailConfig) -> NotifyResult:
    return asyncio.run(EmailNotifier(cfg).notify(CTX, ALERTS))


def test_message_has_alertmanagers_subject_headers_and_html_part(plain: tuple[Inbox, str]) -> None:
    inbox, addr = plain
    cfg = EmailConfig("ops@example.org, dev@example.org", from_="am@example.org", smarthost=addr, require_tls=False,
                      headers=(("x-team", "{{ .CommonLabels.alertname }}"),), text="{{ .Alerts | len }} alerts")
    assert _send(cfg).ok
    env = inbox.messages[0]
    assert env.mail_from == "am@example.org" and env.rcpt_tos == ["ops@example.org", "dev@example.org"]
    msg = email.message_from_bytes(env.original_content, policy=email.policy.default)
    assert msg["Subject"] == "[FIRING:2] Down " and msg["To"] == "ops@example.org, dev@example.org"
    assert msg["From"] == "am@example.org" and msg["X-Team"] == "Down" and msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "multipart/alternative" and msg["Message-Id"].startswith("<")
    text, html = (p.get_content() for p in msg.iter_parts())
    assert text == "2 alerts"
    assert "<title>[FIRING:2] Down </title>" in html and "summary = gone &lt;now&gt;" in html


def test_non_ascii_subject_is_q_encoded_and_decodes_back(plain: tuple[Inbox, str]) -> None:
    inbox, addr = plain
    cfg = EmailConfig("ops@example.org", from_="am@example.org", smarthost=addr, require_tls=False,
                      headers=(("Subject", "Störung: {{ .CommonLabels.alertname }} " + "é" * 40),))
    assert _send(cfg).ok
    raw = inbox.messages[0].original_content.decode()
    assert "=?utf-8?q?St=C3=B6rung:_Down_" in raw
    msg = email.message_from_bytes(inbox.messages[0].original_content, policy=email.policy.default)
    assert str(msg["Subject"]) == "Störung: Down " + "é" * 40


def test_starttls_and_auth_when_the_server_requires_them(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki.server_cert, pki.server_key)
    inbox = Inbox()
    c, addr = _server(inbox, tls_context=tls, require_starttls=True, authenticator=inbox.authenticate,
                      auth_required=True)
    try:
        good = EmailConfig("ops@example.org", from_="am@example.org", smarthost=addr, auth_username="alice", auth_password=Secret("pa55"),
                           tls_config=TLSConfig(ca_file=str(pki.ca)))
        assert _send(good).ok and inbox.logins and len(inbox.messages) == 1
        bad = EmailConfig("ops@example.org", from_="am@example.org", smarthost=addr, auth_username="alice",
                          auth_password=Secret("wrong-pa55"), tls_config=TLSConfig(ca_file=str(pki.ca)))
        r = _send(bad)
        assert not r.ok and not r.retryable and "535" in r.error and "wrong-pa55" not in r.error
        untrusted = EmailConfig("ops@example.org", from_="am@example.org", smarthost=addr, auth_username="alice", auth_password=Secret("pa55"))
        r = _send(untrusted)
        assert not r.ok and r.retryable and "CERTIFICATE_VERIFY_FAILED" in r.error
    finally:
        c.stop()
    assert len(inbox.messages) == 1


def test_require_tls_refuses_a_server_without_starttls(plain: tuple[Inbox, str]) -> None:
    inbox, addr = plain
    r = _send(EmailConfig("ops@example.org", from_="am@example.org", smarthost=addr))
    assert not r.ok and r.retryable and "does not advertise the STARTTLS extension" in r.error
    assert not inbox.messages


def test_unreachable_server_is_retryable_and_bad_addresses_are_not(plain: tuple[Inbox, str]) -> None:
    r = _send(EmailConfig("ops@example.org", from_="am@example.org", smarthost=f"127.0.0.1:{free_port()}", require_tls=False))
    assert not r.ok and r.retryable
    inbox, addr = plain
    r = _send(EmailConfig("ops@example.org", from_="a@x.org, b@x.org", smarthost=addr, require_tls=False))
    assert not r.ok and not r.retryable and "exactly one 'from' address (got: 2)" in r.error
    r = _send(EmailConfig("ops@example.org", from_="am@example.org", smarthost=addr, require_tls=False, html="{{ .Nope.x }}"))
    assert not r.ok and not r.retryable and not inbox.messages
