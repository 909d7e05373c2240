"""The uvicorn server sloguard runs: its own signal handling, TLS from the web config,
and the edge limits of ``_edge`` (deadlines, connection cap, TLS handshake timeout)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import uvicorn

from sloguard.api._edge import EdgeLimits, EdgeStats, limited_protocol

#: Connections accepted in one pass of asyncio's accept loop (and the kernel's listen backlog).
MAX_BACKLOG = 2048


class EdgeUvicorn(uvicorn.Server):
    """uvicorn without its own signal handling (the sloguard server owns the signals), with a
    TLS handshake deadline so a client that connects and stays silent is closed."""

    def __init__(self, config: uvicorn.Config, handshake_timeout_s: float) -> None:
        super().__init__(config)
        self._handshake_timeout_s = handshake_timeout_s

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        loop: Any = asyncio.get_running_loop()
        if self.config.ssl is None or self._handshake_timeout_s <= 0:
            await super().startup(sockets)
            return
        # uvicorn does not pass ssl_handshake_timeout on; give it for this call only.
        loop.create_server = functools.partial(loop.create_server, ssl_handshake_timeout=self._handshake_timeout_s)
        try:
            await super().startup(sockets)
        finally:
            del loop.create_server


def edge_server(
    app: Any, host: str, port: int, limits: EdgeLimits, stats: EdgeStats, tls: ssl.SSLContext | None = None,
) -> EdgeUvicorn:
    """A uvicorn server for ``app`` enforcing ``limits``, serving TLS when ``tls`` is given."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
        timeout_graceful_shutdown=5, server_header=False,
        http=limited_protocol(limits, stats),
        backlog=min(MAX_BACKLOG, limits.max_connections or MAX_BACKLOG),
        ssl_context_factory=(lambda _config, _default: tls) if tls is not None else None,
    )
    return EdgeUvicorn(config, handshake_timeout_s=limits.header_timeout_s or limits.read_timeout_s)
