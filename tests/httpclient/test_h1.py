"""The lean HTTP/1.1 client: response framing (Content-Length, chunked, until the close,
interim 1xx), keep-alive reuse and its limit, a stale kept-alive connection, timeouts,
cancellation, TLS; and the shared alerting client following a redirect on aiohttp."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from sloguard.alerting._aioclient import SharedClient
from sloguard.httpclient import H1Client
from sloguard.httpclient._h1parse import ResponseParser
from tests._certs import make_pki
from tests._net import free_port

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # (request, writer) -> keep the connection


class Server:
    """A raw HTTP server: ``handler`` writes each response; counts connections and requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self, ssl_ctx: ssl.SSLContext | None = None) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_ctx)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if ssl_ctx else 'http'}://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if not await self.handler(request, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        assert self.server is not None
        self.server.close()


def answer(raw: bytes, keep: bool = True) -> Handler:
    async def handle(_: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        await writer.drain()
        return keep
    return handle


def run_with(handler: Handler, go: Callable[[str, Server], Awaitable[object]]) -> object:
    async def main() -> object:
        server = Server(handler)
        url = await server.start()
        try:
            return await go(url, server)
        finally:
            server.close()
    return asyncio.run(main())


async def post_once(url: str, client: H1Client | None = None, timeout_s: float = 5.0) -> tuple[int, bytes]:
    own = client or H1Client()
    try:
        r = await own.post(url + "/hook?x=1", b'{"a":1}', {"Content-Type": "application/json"}, timeout_s)
    finally:
        if client is None:
            await own.aclose()
    return r.status, r.body


@pytest.mark.parametrize(("raw", "status", "body"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, b"hello"),
    (b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nbus\r\n1\r\ny\r\n0\r\nT: 1\r\n\r\n", 503, b"busy"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204, b""),
    (b"HTTP/1.0 400 Bad\r\n\r\nno length, until the close", 400, b"no length, until the close"),
])
def test_response_framings(raw: bytes, status: int, body: bytes) -> None:
    got = run_with(answer(raw, keep=raw.startswith(b"HTTP/1.1")), lambda url, _: post_once(url))
    assert got == (status, body)


def test_the_request_is_one_post_with_host_and_length() -> None:
    async def go(url: str, server: Server) -> bytes:
        await post_once(url)
        return server.requests[0]

    request = run_with(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), go)
    assert isinstance(request, bytes)
    head, body = request.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /hook?x=1 HTTP/1.1" and body == b'{"a":1}'
    assert b"Content-Type: application/json" in lines and b"Content-Length: 7" in lines
    assert any(line.startswith(b"Host: 127.0.0.1:") for line in lines)


def test_connections_are_kept_alive_and_limited_per_host() -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.01)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True

    async def go(url: str, server: Server) -> tuple[list[object], int, int]:
        client = H1Client(max_per_host=3)
        try:
            got = await asyncio.gather(*(post_once(url, client) for _ in range(30)))
            again = await post_once(url, client)
        finally:
            await client.aclose()
        return [*got, again], server.connections, len(server.requests)

    got, connections, requests = run_with(slow, go)  # type: ignore[misc]
    assert got == [(200, b"ok")] * 31 and requests == 31
    assert connections == 3  # 31 requests over three connections, the last one on a kept one


def test_connection_close_is_not_reused() -> None:
    async def go(url: str, server: Server) -> int:
        client = H1Client()
        try:
            for _ in range(3):
                assert await post_once(url, client) == (200, b"")
        finally:
            await client.aclose()
        return server.connections

    closing = answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", keep=False)
    assert run_with(closing, go) == 3


def test_a_kept_connection_the_server_closed_is_replaced_once() -> None:
    """The server answers the first request of each connection and closes it on the
    second without an answer (as a server does whose keep-alive ran out just then): the
    request goes out once more on a new connection."""
    served: list[asyncio.StreamWriter] = []  # the writers themselves: an id could be reused

    async def first_only(_: bytes, writer: asyncio.StreamWriter) -> bool:
        if any(w is writer for w in served):
            return False
        served.append(writer)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        return True

    async def go(url: str, server: Server) -> tuple[object, object, int, int]:
        client = H1Client()
        try:
            first = await post_once(url, client)
            second = await post_once(url, client)
        finally:
            await client.aclose()
        return first, second, server.connections, len(server.requests)

    first, second, connections, requests = run_with(first_only, go)  # type: ignore[misc]
    assert first == second == (200, b"") and connections == 2 and requests == 3


def test_no_answer_in_time_is_a_read_timeout_and_the_connection_is_dropped() -> None:
    async def never(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(3600)
        return False

    async def go(url: str, _: Server) -> None:
        client = H1Client()
        try:
            with pytest.raises(httpx.ReadTimeout):
                await post_once(url, client, timeout_s=0.1)
            assert client._hosts and all(h.open == 0 and not h.idle for h in client._hosts.values())
        finally:
            await client.aclose()

    run_with(never, go)


def test_a_cancelled_request_gives_its_connection_up() -> None:
    async def never(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(3600)
        return False

    async def go(url: str, _: Server) -> None:
        client = H1Client(max_per_host=1)
        try:
            first = asyncio.create_task(post_once(url, client))
            waiting = asyncio.create_task(post_once(url, client))
            await asyncio.sleep(0.05)
            first.cancel()
            waiting.cancel()
            await asyncio.gather(first, waiting, return_exceptions=True)
            assert all(h.open == 0 and not h.waiters and not h.idle for h in client._hosts.values())
        finally:
            await client.aclose()

    run_with(never, go)


def test_refused_connection_is_a_connect_error() -> None:
    async def go() -> None:
        with pytest.raises(httpx.ConnectError):
            await post_once(f"http://127.0.0.1:{free_port()}")

    asyncio.run(go())


def test_malformed_answer_is_a_protocol_error() -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="bad status line"):
        run_with(answer(b"SMTP ready\r\n\r\n"), lambda url, _: post_once(url))


def test_https_is_verified_with_the_given_context(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(pki.server_cert, pki.server_key)

    async def main() -> tuple[object, type[BaseException] | None]:
        server = Server(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        url = await server.start(server_ctx)
        try:
            trusted = await post_once(url, H1Client(ssl.create_default_context(cafile=str(pki.ca))))
            try:
                await post_once(url, H1Client(ssl.create_default_context()))
                refused = None
            except httpx.ConnectError as e:
                refused = type(e)
            return trusted, refused
        finally:
            server.close()

    assert asyncio.run(main()) == ((200, b"ok"), httpx.ConnectError)


def test_shared_client_follows_a_redirect() -> None:
    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if request.startswith(b"POST /hook"):
            writer.write(b"HTTP/1.1 307 Moved\r\nLocation: /moved\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Type: text/plain; charset=latin-1\r\n"
                         b"Content-Length: 2\r\n\r\n\xe9!")
        return True

    async def go(url: str, server: Server) -> tuple[tuple[int, str], list[bytes]]:
        client = SharedClient()
        try:
            got = await client.post_bytes(url + "/hook", b"{}", {"Content-Type": "application/json"}, 5.0)
        finally:
            await client.aclose()
        return got, [r.split(b"\r\n", 1)[0] for r in server.requests]

    got, lines = run_with(handler, go)  # type: ignore[misc]
    assert got == (202, "é!")
    assert lines == [b"POST /hook HTTP/1.1", b"POST /moved HTTP/1.1"]  # 307 keeps the method and body


def test_parser_keeps_only_the_start_of_a_long_body() -> None:
    parser = ResponseParser()
    big = b"x" * 100_000
    assert parser.feed(b"HTTP/1.1 500 E\r\nContent-Length: %d\r\n\r\n" % len(big) + big[:10]) is False
    assert parser.feed(big[10:]) is True
    assert parser.status == 500 and len(parser.body()) == 64 * 1024


def test_waiting_for_a_free_connection_times_out() -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.3)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        return True

    async def go(url: str, _: Server) -> list[object]:
        client = H1Client(max_per_host=1)
        try:
            got = await asyncio.gather(post_once(url, client, timeout_s=1.0), post_once(url, client, timeout_s=0.05),
                                       return_exceptions=True)
            host = next(iter(client._hosts.values()))
            assert host.open == 1 and len(host.idle) == 1 and not host.waiters
        finally:
            await client.aclose()
        return [type(g) if isinstance(g, BaseException) else g for g in got]

    assert run_with(slow, go) == [(200, b""), httpx.PoolTimeout]
