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

#: The kernel's queue of connections not yet accepted.
LISTEN_BACKLOG = 2048
#: Connections accepted in one pass of asyncio's accept loop (asyncio uses the ``backlog``
#: given to ``create_server`` for both; the kernel's queue is set back afterwards). Small, so
#: a flood of new connections cannot evict a client whose request is already on its way.
ACCEPT_BATCH = 64


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
        if self.config.ssl is not None and self._handshake_timeout_s > 0:
            # uvicorn does not pass ssl_handshake_timeout on; give it for this call only.
            loop.create_server = functools.partial(loop.create_server, ssl_handshake_timeout=self._handshake_timeout_s)
        try:
            await super().startup(sockets)
        finally:
            loop.__dict__.pop("create_server", None)
        for sock in sockets or ():
            sock.listen(LISTEN_BACKLOG)  # asyncio set it to the accept batch


def edge_server(
    app: Any, host: str, port: int, limits: EdgeLimits, stats: EdgeStats, tls: ssl.SSLContext | None = None,
) -> EdgeUvicorn:
    """A uvicorn server for ``app`` enforcing ``limits``, serving TLS when ``tls`` is given."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
        timeout_graceful_shutdown=5, server_header=False,
        http=limited_protocol(limits, stats),
        backlog=ACCEPT_BATCH,
        ssl_context_factory=(lambda _config, _default: tls) if tls is not None else None,
    )
    return EdgeUvicorn(config, handshake_timeout_s=limits.header_timeout_s or limits.read_timeout_s)
