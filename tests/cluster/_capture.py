"""A webhook receiver that records every notification, and a TCP proxy that can be
blocked (a network split between one replica and PostgreSQL)."""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests._net import free_port


class Capture:
    """``POST /`` bodies (Alertmanager's webhook JSON), in arrival order."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        lock = threading.Lock()
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                n = int(self.headers.get("content-length", 0))
                with lock:
                    bodies.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def firing(self) -> dict[str, int]:
        """How many notifications said each alert was firing, by alertname."""
        out: dict[str, int] = {}
        for b in self.bodies:
            for a in b["alerts"]:
                if a["status"] == "firing":
                    out[a["labels"]["alertname"]] = out.get(a["labels"]["alertname"], 0) + 1
        return out

    def resolved(self) -> int:
        return sum(1 for b in self.bodies for a in b["alerts"] if a["status"] == "resolved")

    def close(self) -> None:
        self.server.shutdown()


class BlockableProxy:
    """Forwards 127.0.0.1:<port> to ``target_port``. ``block()`` stops forwarding in both
    directions and holds new connections without forwarding them (packets dropped, as in a
    partition: nothing is refused or reset); ``unblock()`` drops every connection held and
    forwards again."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.blocked = threading.Event()
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._held: list[socket.socket] = []
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.listener, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def block(self) -> None:
        self.blocked.set()

    def unblock(self) -> None:
        with self._lock:
            for s in [*self._pairs, *self._held]:
                s.close()
            self._pairs.clear()
            self._held.clear()
            self._sel.close()
            self._sel = selectors.DefaultSelector()
            self._sel.register(self.listener, selectors.EVENT_READ)
        self.blocked.clear()

    def close(self) -> None:
        self._stop = True
        self.listener.close()

    def _run(self) -> None:
        while not self._stop:
            with self._lock:
                sel = self._sel
            try:
                events = sel.select(timeout=0.05)
            except (OSError, ValueError):
                continue
            for key, _ in events:
                with self._lock:
                    if sel is not self._sel:
                        break
                    try:
                        self._on_ready(key.fileobj)  # type: ignore[arg-type]
                    except OSError:  # one connection's failure (the server went away) ends only it
                        self._drop(key.fileobj)  # type: ignore[arg-type]

    def _on_ready(self, s: socket.socket) -> None:
        if s is self.listener:
            conn, _ = self.listener.accept()
            if self.blocked.is_set():
                self._held.append(conn)
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:  # the server is down: so is this connection
                conn.close()
                return
            self._pairs[conn], self._pairs[upstream] = upstream, conn
            for x in (conn, upstream):
                self._sel.register(x, selectors.EVENT_READ)
            return
        if self.blocked.is_set():
            time.sleep(0.01)  # leave the bytes unread (nothing goes through), without spinning
            return
        other = self._pairs.get(s)
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data or other is None:
            self._drop(s)
            return
        other.sendall(data)

    def _drop(self, s: socket.socket) -> None:
        other = self._pairs.pop(s, None)
        for x in [s] if other is None else [s, other]:
            self._pairs.pop(x, None)
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(x)
            x.close()
