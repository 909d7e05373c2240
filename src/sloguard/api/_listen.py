"""The listening socket of ``sloguard serve`` and the URLs it prints at start."""

from __future__ import annotations

import socket


class ServeError(Exception):
    """The server cannot start (e.g. its address is taken); the message says why."""


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; ``ServeError`` naming the address if not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


def urls(host: str, port: int, scheme: str = "http") -> dict[str, str]:
    """The URLs printed at start, by what they are."""
    h = f"[{host}]" if ":" in host else host
    root = f"{scheme}://{h}:{port}"
    return {
        "UI and API": f"{root}/",
        "own metrics": f"{root}/metrics",
        "remote write": f"{root}/api/v1/write",
        "demo target": f"{root}/demo/metrics",
    }
