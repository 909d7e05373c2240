"""Authentication and security headers for every request (the web config's ``basic_auth_users``,
``sloguard_bearer_tokens_file`` and ``http_server_config.headers``).

As in Prometheus (exporter-toolkit wraps the whole handler), every path is protected,
``/-/healthy`` and ``/-/ready`` included. A request without valid credentials gets
``401 Unauthorized`` with ``WWW-Authenticate: Basic``. bcrypt is slow on purpose, so a
successful check is cached (keyed by a SHA-256 of user, hash and password, as
exporter-toolkit does) and checks run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict

import bcrypt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sloguard.api._webconfig import WebConfig

CACHE_SIZE = 1024
# Checked when the user is unknown, so a wrong user name costs as much as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"sloguard-dummy", bcrypt.gensalt(rounds=10))


class BasicAuthChecker:
    """``await check(user, password) -> bool`` against bcrypt hashes, caching successes."""

    def __init__(self, users: dict[str, str], cache_size: int = CACHE_SIZE) -> None:
        self._users = {u: h.encode() for u, h in users.items()}
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self._cache_size = cache_size
        self.bcrypt_checks = 0

    async def check(self, user: str, password: str) -> bool:
        hashed = self._users.get(user)
        key = hashlib.sha256(b"\0".join((user.encode(), hashed or b"", password.encode()))).digest()
        if hashed is not None and key in self._ok:
            self._ok.move_to_end(key)
            return True
        self.bcrypt_checks += 1
        ok = await asyncio.to_thread(_checkpw, password.encode(), hashed or _DUMMY_HASH)
        if ok and hashed is not None:
            self._ok[key] = None
            if len(self._ok) > self._cache_size:
                self._ok.popitem(last=False)
        return ok and hashed is not None


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # a malformed hash never matches
        return False


def _authorization(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return ""


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, data = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(data.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class WebAuth:
    """ASGI middleware: refuses unauthenticated requests, adds the configured headers to every response."""

    def __init__(self, app: ASGIApp, web: WebConfig) -> None:
        self.app = app
        self.web = web
        self.basic = BasicAuthChecker(web.basic_auth_users)
        self._headers = [(k.lower().encode(), v.encode()) for k, v in web.headers.items()]
        self._tokens = [t.encode() for t in web.bearer_tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        if self.web.requires_auth and not await self._authenticated(scope):
            await _unauthorized(send, basic=bool(self.web.basic_auth_users))
            return
        await self.app(scope, receive, send)

    def _with_headers(self, send: Send) -> Send:
        if not self._headers:
            return send

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *self._headers]}
            await send(message)

        return wrapped

    async def _authenticated(self, scope: Scope) -> bool:
        header = _authorization(scope)
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and self._tokens:
            given = token.strip().encode()
            return any(hmac.compare_digest(given, t) for t in self._tokens)
        creds = _basic(header)
        return creds is not None and bool(self.web.basic_auth_users) and await self.basic.check(*creds)


async def _unauthorized(send: Send, basic: bool) -> None:
    body = b"Unauthorized\n"
    await send({
        "type": "http.response.start", "status": 401,
        "headers": [
            (b"www-authenticate", b"Basic" if basic else b"Bearer"),
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ],
    })
    await send({"type": "http.response.body", "body": body})
