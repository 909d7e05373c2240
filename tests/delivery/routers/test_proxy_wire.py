"""The built-in proxy on the wire: bytes split anywhere, pipelined requests, interim and
until-close responses, upstreams that close pooled connections, send garbage or go away
mid-body, clients that leave early or read slowly."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from sloguard.delivery.routers.proxy import ProxyConfig, ProxyRouter, Version

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return head + await reader.readexactly(int(line.split(b":")[1]))
    return head


async def answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        await read_request(reader)
        writer.write(OK)


@asynccontextmanager
async def proxied(script: Script) -> AsyncIterator[tuple[ProxyRouter, list[bytes]]]:
    """A proxy in front of an upstream running ``script`` per connection; yields the
    proxy and the list of requests the upstream's ``read_request`` calls saw."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    proxy = ProxyRouter(ProxyConfig("s", Version("v1", (f"127.0.0.1:{server.sockets[0].getsockname()[1]}",))))
    await proxy.start()
    try:
        yield proxy, []
    finally:
        await proxy.stop()
        server.close()


async def exchange(port: int, data: bytes, pieces: int = 1) -> bytes:
    """Send ``data`` in ``pieces`` writes and read until the proxy closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        writer.write(data[i:i + step])
        await writer.drain()
        await asyncio.sleep(0.001)
    out = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return out


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 30))


def test_requests_split_into_many_writes_and_pipelined_requests_are_answered_in_order() -> None:
    seen: list[bytes] = []

    async def echo_path(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            req = await read_request(reader)
            seen.append(req)
            path = req.split(b" ")[1]
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))

    async def body() -> None:
        async with proxied(echo_path) as (proxy, _):
            post = b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            chunked = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
            last = b"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            data = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n" + post + chunked + last
            for pieces in (1, len(data)):  # all at once (pipelined), then byte by byte
                seen.clear()
                out = await exchange(proxy.port, data, pieces)
                assert [p.split(b"\r\n\r\n", 1)[1] for p in out.split(b"HTTP/1.1 200 OK\r\n")[1:]] == \
                    [b"/a", b"/b", b"/c", b"/d"], out
                assert seen[1].endswith(b"\r\n\r\nhello") and seen[2].endswith(b"Content-Length: 2\r\n\r\nhi")

    run(body())


def test_responses_split_into_single_bytes_with_an_interim_1xx_arrive_whole() -> None:
    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            data = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"3\r\nabc\r\n0\r\n\r\n")
            for i in range(len(data)):
                writer.write(data[i:i + 1])
                await writer.drain()

    async def body() -> None:
        async with proxied(dribble) as (proxy, _):
            out = await exchange(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2
                                 + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert out.count(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n") == 3
            assert b"100 Continue" not in out and out.endswith(b"3\r\nabc\r\n0\r\n\r\n")
            assert proxy.metrics.requests("v1", 200) == 3

    run(body())


def test_a_body_that_runs_to_the_upstreams_close_is_passed_on_and_the_client_closed() -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + b"z" * 200000)

    async def body() -> None:
        async with proxied(until_close) as (proxy, _):
            out = await exchange(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head, _, rest = out.partition(b"\r\n\r\n")
            assert b"Connection: close" in head and rest == b"z" * 200000

    run(body())


def test_a_pooled_connection_the_upstream_drops_is_replaced_for_get_but_not_for_post() -> None:
    async def one_answer_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)  # keep-alive framing, so the proxy pools the connection ...
        await read_request(reader)  # ... and the next request on it finds it dropped unanswered

    async def body() -> None:
        async with proxied(one_answer_per_connection) as (proxy, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            statuses = []
            for method in (b"GET", b"GET", b"POST"):
                writer.write(method + b" / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                head = await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]))
                statuses.append(int(head.split(b" ")[1]))
            writer.close()
            assert statuses == [200, 200, 502]  # the second GET went out again on a fresh connection
            assert proxy.metrics.requests("v1", 502) == 1 and proxy.in_flight("v1") == 0

    run(body())


@pytest.mark.parametrize("answer", [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", b""],
                         ids=["not-http", "bad-length", "closed"])
def test_an_upstream_that_answers_garbage_or_nothing_gives_502(answer: bytes) -> None:
    async def bad(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)

    async def body() -> None:
        async with proxied(bad) as (proxy, _):
            out = await exchange(proxy.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")
            assert out.startswith(b"HTTP/1.1 502 Bad Gateway") and b"version 'v1'" in out, out
            assert proxy.metrics.requests("v1", 502) == 1 and proxy.in_flight("v1") == 0

    run(body())


def test_an_upstream_going_away_mid_body_closes_the_client_and_the_proxy_keeps_serving() -> None:
    calls = 0

    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        await read_request(reader)
        calls += 1
        writer.write(OK if calls > 1 else b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")

    async def body() -> None:
        async with proxied(cut) as (proxy, _):
            out = await exchange(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert out.endswith(b"only part") and b"Content-Length: 100" in out  # cut short, then closed
            again = await exchange(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert again.endswith(b"\r\n\r\nok") and proxy.in_flight("v1") == 0

    run(body())


def test_a_client_leaving_early_or_reading_slowly_does_not_disturb_the_proxy() -> None:
    big = b"b" * 40_000_000  # more than the kernel buffers on the way hold

    async def serve_big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            req = await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(big) + big if b"/big" in req else OK)
            await writer.drain()

    async def body() -> None:
        async with proxied(serve_big) as (proxy, _):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # so the proxy's writes back up
            sock.connect(("127.0.0.1", proxy.port))
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.sleep(0.3)  # not reading: the proxy must hold back (pause), then go on
            head = await reader.readuntil(b"\r\n\r\n")
            assert await asyncio.wait_for(reader.readexactly(len(big)), 10) == big and head.startswith(b"HTTP/1.1 200")
            writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readexactly(1000)
            writer.transport.abort()  # gone mid-body
            out = await exchange(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert out.endswith(b"ok")

    run(body())


def test_a_client_that_half_closes_after_its_request_still_gets_the_answer() -> None:
    async def body() -> None:
        async with proxied(answer_ok) as (proxy, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
            writer.write_eof()
            out = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            assert out.count(b"HTTP/1.1 200 OK") == 2 and out.endswith(b"ok")

    run(body())


def test_a_client_leaving_a_streamed_answer_closes_the_upstream_connection() -> None:
    upstream_done = asyncio.Event()

    async def stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n")  # no length: runs until closed
        try:
            while True:
                writer.write(b"tick\n" * 100)
                await writer.drain()
                await asyncio.sleep(0.01)
        finally:
            upstream_done.set()

    async def body() -> None:
        async with proxied(stream) as (proxy, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"tick\n")
            writer.transport.abort()
            await asyncio.wait_for(upstream_done.wait(), 10)  # the proxy let go of the upstream
            assert proxy.in_flight("v1") == 0 and proxy.metrics.requests("v1", 200) == 1

    run(body())
