""":class:`SenderProcess`: :class:`~sloguard.httpclient.H1Client`'s ``post`` run in a
worker process (``sloguard.httpclient._sender``), so the sockets, the response parsing and
the connection pool of many concurrent POSTs use a second core instead of the caller's
event loop.

The process starts at the first request (or earlier: :meth:`~SenderProcess.prestart`), and
again after it died. Requests of one round of the loop leave in one pipe write; the answers
come back the same way and resolve the callers' futures from the pipe's ``data_received``
(no task per answer here). Failures are the ``httpx`` exceptions the worker's client raised
(``ConnectError``, ``ReadTimeout``, ...); a request in flight when the process exits fails
with ``ReadError``. A cancelled request is cancelled in the worker too (which closes its
connection, as ``H1Client`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from sloguard.httpclient._h1 import H1Response
from sloguard.httpclient._sender import FrameReader, frame

__all__ = ["SenderProcess"]


def _env() -> dict[str, str]:
    """This environment, with the directory this ``sloguard`` was imported from first on
    the path (the worker runs the same code, however the parent found it)."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
    return env


class _Pipes(asyncio.SubprocessProtocol):
    """The worker's pipes: answers from its stdout resolve the waiting futures."""

    def __init__(self, owner: SenderProcess) -> None:
        self._owner = owner
        self._reader = FrameReader()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            for msg in self._reader.feed(data):
                self._owner._answer(msg)

    def process_exited(self) -> None:
        self._owner._exited(self)


class SenderProcess:
    """``post(url, body, headers, timeout_s) -> H1Response`` in a worker process."""

    def __init__(self) -> None:
        self._transport: asyncio.SubprocessTransport | None = None
        self._pipes: _Pipes | None = None
        self._starting: asyncio.Future[None] | None = None
        self._waiting: dict[int, asyncio.Future[H1Response]] = {}
        self._next_id = 0
        self._out: list[bytes] = []
        self._closed = False

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> H1Response:
        """POST ``body`` to ``url`` (see ``H1Client.post``), sent by the worker process."""
        if self._transport is None:
            await self._start()
        loop = asyncio.get_running_loop()
        rid = self._next_id = self._next_id + 1
        fut: asyncio.Future[H1Response] = loop.create_future()
        self._waiting[rid] = fut
        self._write(frame((rid, url, body, tuple(headers.items()), timeout_s)), loop)
        try:
            return await fut
        except asyncio.CancelledError:
            if self._waiting.pop(rid, None) is not None and self._transport is not None:
                self._write(frame((rid,)), loop)
            raise

    def _write(self, data: bytes, loop: asyncio.AbstractEventLoop) -> None:
        if not self._out:
            loop.call_soon(self._flush)
        self._out.append(data)

    def _flush(self) -> None:
        data, self._out = b"".join(self._out), []
        stdin = self._transport.get_pipe_transport(0) if self._transport is not None else None
        if stdin is not None and not stdin.is_closing():
            stdin.write(data)  # type: ignore[attr-defined]  # the stdin pipe's write transport

    def prestart(self) -> None:
        """Start the worker now, in the background, so the first request need not wait for
        it; a worker that cannot start is left for that request to meet (and report)."""
        if self._transport is None and self._starting is None and not self._closed:
            self._starting = starting = asyncio.ensure_future(self._spawn())
            starting.add_done_callback(self._started)

    def _started(self, starting: asyncio.Future[None]) -> None:
        if self._starting is starting:
            self._starting = None
        if not starting.cancelled():
            starting.exception()  # retrieved here; a request waiting for it gets it too

    async def _start(self) -> None:
        """Start the worker (or join the start in flight) and wait for it."""
        if self._closed:
            raise httpx.ReadError("the HTTP sender process was closed")
        self.prestart()
        if self._starting is not None:
            await asyncio.shield(self._starting)

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, pipes = await loop.subprocess_exec(
                lambda: _Pipes(self), sys.executable, "-m", "sloguard.httpclient._sender", stderr=None, env=_env())
        except OSError as e:
            raise httpx.ConnectError(f"cannot start the HTTP sender process: {e}") from None
        self._transport, self._pipes = transport, pipes

    def _answer(self, msg: tuple[Any, ...]) -> None:
        fut = self._waiting.pop(msg[0], None)
        if fut is None or fut.done():
            return
        if len(msg) == 4:
            _, status, headers, body = msg
            fut.set_result(H1Response(status, headers, body))
        else:
            _, kind, message = msg
            cls = getattr(httpx, kind, None)
            if not (isinstance(cls, type) and issubclass(cls, httpx.HTTPError)):
                cls = httpx.TransportError
            fut.set_exception(cls(message))

    def _exited(self, pipes: _Pipes) -> None:
        if pipes is not self._pipes:
            return
        transport = self._transport
        code = transport.get_returncode() if transport is not None else None
        self._transport, self._pipes = None, None
        if transport is not None:
            transport.close()
        waiting, self._waiting = self._waiting, {}
        for fut in waiting.values():
            if not fut.done():
                fut.set_exception(httpx.ReadError(f"the HTTP sender process exited (code {code})"))

    @property
    def pid(self) -> int | None:
        """The worker's process id (None: not running)."""
        return self._transport.get_pid() if self._transport is not None else None

    async def aclose(self) -> None:
        """End the worker (requests in flight fail with ``ReadError``)."""
        self._closed = True
        if self._starting is not None:  # let a start in flight end, so no worker outlives this
            with contextlib.suppress(Exception):
                await asyncio.shield(self._starting)
        transport = self._transport
        if transport is None:
            return
        stdin = transport.get_pipe_transport(0)
        if stdin is not None:
            stdin.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while self._transport is transport:
                    await asyncio.sleep(0.01)
        if self._transport is transport:
            transport.kill()
            transport.close()
