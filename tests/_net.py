"""Network helpers for tests: servers and peers listen on 127.0.0.1 only."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_low() -> int:
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    It is drawn at random from below the kernel's ephemeral range: a port from
    ``bind(0)`` comes out of that range, where every outgoing connection of every
    process also takes its local port, so between this check and the server's own bind
    a client could take it ("Address already in use"). Below the range only another
    test's server can collide, and random draws make that unlikely."""
    high = max(_ephemeral_low(), 12000)
    for _ in range(200):
        port = random.randrange(10000, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
