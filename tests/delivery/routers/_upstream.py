"""A tiny HTTP/1.1 upstream for router tests: answers every request with its own name
(header ``x-upstream`` and the body), keeps connections alive, records what it received,
and can hold a request until the test releases it (no sleeping)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TinyUpstream:
    name: str
    seen: list[Seen] = field(default_factory=list)
    hold: asyncio.Event | None = None  # requests to /hold wait for it
    held: asyncio.Event = field(default_factory=asyncio.Event)  # set when a /hold request arrived
    received: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None
    conns: set[asyncio.Task[object]] = field(default_factory=set)
    connections: int = 0

    async def start(self) -> TinyUpstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for t in list(self.conns):
            t.cancel()
        if self.conns:
            await asyncio.wait(list(self.conns))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.conns.add(task)
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ")
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.seen.append(Seen(method, path, headers, body))
                self.received.set()
                if path.startswith("/hold") and self.hold is not None:
                    self.held.set()
                    await self.hold.wait()
                status = 500 if path.startswith("/fail") else 200
                out = self.name.encode() * (50000 if path.startswith("/big") else 1)
                if path.startswith("/chunked"):
                    parts = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (b"part-", out, b"x" * 70000))
                    writer.write(f"HTTP/1.1 200 OK\r\nx-upstream: {self.name}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + parts + b"0\r\n\r\n")
                else:
                    body = b"" if method == "HEAD" else out
                    writer.write(f"HTTP/1.1 {status} X\r\nx-upstream: {self.name}\r\nContent-Length: {len(out)}\r\n\r\n".encode() + body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.conns.discard(task)
            writer.close()
