"""The email Alertmanager writes: headers (Q-encoded when needed), then a
``multipart/alternative`` body with a quoted-printable text and/or HTML part."""

from __future__ import annotations

import quopri
import secrets
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime

__all__ = ["build_email", "canonical_header", "q_encode"]


def canonical_header(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``message-id`` -> ``Message-Id``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _needs_encoding(s: str) -> bool:
    return any((c < " " or c > "~") and c != "\t" for c in s)


def q_encode(value: str) -> str:
    """``mime.QEncoding.Encode("utf-8", value)``: unchanged when printable ASCII, else
    ``=?utf-8?q?...?=`` words of at most 75 characters."""
    if not _needs_encoding(value):
        return value
    words: list[str] = []
    current = ""
    for ch in value:
        enc = "".join(_q_byte(b) for b in ch.encode())
        if len(current) + len(enc) > 75 - len("=?utf-8?q??="):
            words.append(current)
            current = ""
        current += enc
    words.append(current)
    return " ".join(f"=?utf-8?q?{w}?=" for w in words)


def _q_byte(b: int) -> str:
    if b == 0x20:
        return "_"
    if 0x21 <= b <= 0x7E and chr(b) not in "=?_":
        return chr(b)
    return f"={b:02X}"


def _part(content_type: str, body: str, boundary: str) -> bytes:
    encoded = quopri.encodestring(body.encode()).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head = (f"--{boundary}\r\nContent-Transfer-Encoding: quoted-printable\r\n"
            f"Content-Type: {content_type}; charset=UTF-8\r\n\r\n")
    return head.encode() + encoded + b"\r\n"


def build_email(headers: Mapping[str, str], text: str, html: str, now_ms: int,
                hostname: str | None = None) -> bytes:
    """The DATA of the message: ``headers`` (already expanded) sorted by name, then
    Message-Id (unless given), Date, Content-Type and MIME-Version, then the parts."""
    boundary = secrets.token_hex(30)
    lines = [f"{name}: {q_encode(value)}" for name, value in sorted(headers.items())]
    if "Message-Id" not in headers:
        host = hostname or socket.gethostname() or "localhost.localdomain"
        lines.append(f"Message-Id: <{now_ms * 1_000_000}.{secrets.randbits(64)}@{host}>")
    date = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    lines += [f"Date: {format_datetime(date)}",
              f"Content-Type: multipart/alternative;  boundary={boundary}",
              "MIME-Version: 1.0"]
    out = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if text:
        out += _part("text/plain", text, boundary)
    if html:
        out += _part("text/html", html, boundary)
    return out + f"--{boundary}--\r\n".encode()
