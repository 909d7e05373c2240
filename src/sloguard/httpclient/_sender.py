"""The worker process of :class:`~sloguard.httpclient._offload.SenderProcess`: it runs an
:class:`~sloguard.httpclient.H1Client` on its own event loop (its own core) and answers
the parent's requests.

The parent writes frames to this process' stdin and reads frames from its stdout; each
frame is a 4-byte big-endian length and a pickled tuple:

- request ``(id, url, body, headers, timeout_s)``; cancel ``(id,)``;
- response ``(id, status, headers, body)``; failure ``(id, exception class name, message)``.

Frames of one round of the loop leave in one write. The process ends when stdin closes.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
import sys
from typing import Any

import httpx

from sloguard.httpclient._h1 import H1Client

__all__ = ["FrameReader", "frame", "main"]

_LEN = struct.Struct(">I")


def frame(obj: tuple[Any, ...]) -> bytes:
    """One frame: the pickled tuple after its length."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(data)) + data


class FrameReader:
    """Splits a byte stream into the tuples of its frames."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[Any, ...]]:
        buf = self._buf
        buf += data
        out: list[tuple[Any, ...]] = []
        at = 0
        while len(buf) - at >= 4:
            (n,) = _LEN.unpack_from(buf, at)
            if len(buf) - at - 4 < n:
                break
            out.append(pickle.loads(buf[at + 4:at + 4 + n]))  # noqa: S301 - frames of our own parent
            at += 4 + n
        del buf[:at]
        return out


class _Worker(asyncio.Protocol):
    """Reads requests from stdin, sends them, writes the answers to stdout."""

    def __init__(self, loop: asyncio.AbstractEventLoop, out: asyncio.WriteTransport, done: asyncio.Future[None]) -> None:
        self._loop = loop
        self._out = out
        self._done = done
        self._reader = FrameReader()
        self._client = H1Client(httpx.create_ssl_context(verify=True, trust_env=True))
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._pending: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        for msg in self._reader.feed(data):
            if len(msg) == 1:  # cancel
                task = self._tasks.pop(msg[0], None)
                if task is not None:
                    task.cancel()
                continue
            rid, url, body, headers, timeout_s = msg
            self._tasks[rid] = self._loop.create_task(self._send(rid, url, body, dict(headers), timeout_s))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(None)

    async def _send(self, rid: int, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> None:
        try:
            r = await self._client.post(url, body, headers, timeout_s)
            answer: tuple[Any, ...] = (rid, r.status, r.headers, r.body)
        except asyncio.CancelledError:
            return
        except httpx.HTTPError as e:
            answer = (rid, type(e).__name__, str(e))
        except Exception as e:  # noqa: BLE001 - reported to the parent as a transport error
            answer = (rid, "TransportError", f"{type(e).__name__}: {e}")
        finally:
            self._tasks.pop(rid, None)
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(frame(answer))

    def _flush(self) -> None:
        data, self._pending = b"".join(self._pending), []
        self._out.write(data)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await self._client.aclose()


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout.buffer)
    worker = _Worker(loop, out, done)
    await loop.connect_read_pipe(lambda: worker, sys.stdin.buffer)
    await done
    await worker.close()


def main() -> None:
    try:
        import uvloop
    except ImportError:  # asyncio's own loop then
        asyncio.run(_serve())
    else:
        uvloop.run(_serve())


if __name__ == "__main__":
    main()
