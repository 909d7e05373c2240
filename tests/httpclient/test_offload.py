"""H1Client's POST in a worker process (SenderProcess): the same answers and the same
httpx errors as in-process, a cancelled request cancelled in the worker, a killed worker
failing its requests in flight and restarted for the next one, and a clean close."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator

import httpx
import pytest

from sloguard.alerting._aioclient import SharedClient
from sloguard.httpclient._offload import SenderProcess
from sloguard.httpclient._sender import FrameReader, frame
from tests._net import free_port
from tests.httpclient._procs import sender_children
from tests.httpclient.test_h1 import Server, answer

OK = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Seen: yes\r\n\r\nok"


async def _hang_or_ok(request: bytes, writer: asyncio.StreamWriter) -> bool:
    if request.endswith(b"hang"):
        await asyncio.sleep(30)
    writer.write(OK)
    await writer.drain()
    return True


@contextlib.asynccontextmanager
async def _served() -> AsyncIterator[tuple[str, Server, SenderProcess]]:
    """A test server answering 201 (or hanging on a body ending in ``hang``) and a sender."""
    server = Server(_hang_or_ok)
    url = await server.start()
    sender = SenderProcess()
    try:
        yield url, server, sender
    finally:
        await sender.aclose()
        server.close()


async def _arrived(server: Server, body: bytes) -> None:
    """Wait (up to 20 s) until ``server`` has read a request whose body is ``body``."""
    for _ in range(400):
        if any(r.endswith(b"\r\n\r\n" + body) for r in server.requests):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no request with the body {body!r} reached the server within 20 s")


def test_frames_split_and_join_across_any_chunking() -> None:
    data = frame((1, "http://x/", b"\x00body", (("a", "b"),), 2.5)) + frame((2,)) + frame((3, 200, {}, b""))
    for size in (1, 3, 7, len(data)):
        reader = FrameReader()
        got = [m for i in range(0, len(data), size) for m in reader.feed(data[i:i + size])]
        assert got == [(1, "http://x/", b"\x00body", (("a", "b"),), 2.5), (2,), (3, 200, {}, b"")]


def test_answers_and_errors_are_those_of_the_in_process_client() -> None:
    async def main() -> None:
        async with _served() as (url, server, sender):
            r = await sender.post(url + "/hook", b"hello", {"Content-Type": "text/plain"}, 5)
            assert (r.status, r.headers["x-seen"], r.body) == (201, "yes", b"ok")
            assert server.requests[0].startswith(b"POST /hook HTTP/1.1\r\n")
            assert b"Content-Type: text/plain" in server.requests[0]
            many = await asyncio.gather(*(sender.post(url, b"n%d" % i, {}, 5) for i in range(500)))
            assert {m.status for m in many} == {201} and len(server.requests) == 501
            with pytest.raises(httpx.ConnectError, match="cannot connect"):
                await sender.post(f"http://127.0.0.1:{free_port()}/", b"x", {}, 2)
            with pytest.raises(httpx.ReadTimeout):
                await sender.post(url, b"hang", {}, 0.3)
            with pytest.raises(httpx.UnsupportedProtocol):
                await sender.post("ftp://127.0.0.1/", b"x", {}, 2)

    asyncio.run(main())


def test_a_cancelled_request_is_cancelled_in_the_worker_and_others_go_on() -> None:
    async def main() -> None:
        async with _served() as (url, server, sender):
            hung = asyncio.ensure_future(sender.post(url, b"hang", {}, 20))
            await _arrived(server, b"hang")  # the worker may take a while to start on a loaded machine
            hung.cancel()
            with pytest.raises(asyncio.CancelledError):
                await hung
            assert (await sender.post(url, b"next", {}, 5)).status == 201
            await asyncio.sleep(0.2)
            assert server.connections == 2  # the cancelled request's connection was not reused

    asyncio.run(main())


def test_a_killed_worker_fails_its_requests_and_the_next_request_starts_another() -> None:
    async def main() -> None:
        async with _served() as (url, _, sender):
            assert (await sender.post(url, b"first", {}, 5)).status == 201
            pid = sender.pid
            assert pid is not None
            hung = asyncio.ensure_future(sender.post(url, b"hang", {}, 20))
            await asyncio.sleep(0.3)
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(httpx.ReadError, match=r"the HTTP sender process exited \(code -9\)"):
                await hung
            assert (await sender.post(url, b"again", {}, 5)).status == 201
            assert sender.pid not in (None, pid)
        assert sender.pid is None
        with pytest.raises(httpx.ReadError, match="was closed"):
            await sender.post(url, b"late", {}, 5)

    asyncio.run(main())


def test_a_prestarted_worker_serves_the_first_request_and_a_close_during_its_start_leaves_none() -> None:
    async def main() -> None:
        async with _served() as (url, _, sender):
            sender.prestart()
            for _ in range(200):  # up to 10 s
                if sender.pid is not None:
                    break
                await asyncio.sleep(0.05)
            pid = sender.pid
            assert pid is not None  # started with no request
            assert (await sender.post(url, b"first", {}, 5)).status == 201
            assert sender.pid == pid
        closing = SenderProcess()
        closing.prestart()
        await closing.aclose()  # while the process starts
        await asyncio.sleep(1.0)  # time for a start that close did not wait for to finish
        assert closing.pid is None and sender_children(os.getpid()) == []
        closing.prestart()  # closed: nothing starts
        assert closing.pid is None

    asyncio.run(main())


def test_the_shared_client_posts_through_the_worker() -> None:
    async def main() -> None:
        server = Server(answer(b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy"))
        url = await server.start()
        client = SharedClient(sender=True)
        try:
            assert await client.post_bytes(url, b"{}", {"Content-Type": "application/json"}, 5) == (503, "busy")
        finally:
            await client.aclose()
            server.close()

    asyncio.run(main())
