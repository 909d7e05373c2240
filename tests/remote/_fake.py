"""A fake Prometheus API on 127.0.0.1 answering from a script: one reply per request, the
last one repeated. Each reply is (status, body, headers, delay in seconds)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Reply = tuple[int, bytes, dict[str, str], float]


def ok(data: Any, warnings: list[str] | None = None) -> Reply:
    body: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = warnings
    return 200, json.dumps(body).encode(), {"Content-Type": "application/json"}, 0.0


def reply(status: int, body: bytes | dict[str, Any] = b"", headers: dict[str, str] | None = None,
          delay: float = 0.0) -> Reply:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return status, raw, headers or {}, delay


@dataclass
class FakeBackend:
    script: list[Reply]
    requests: list[tuple[str, str, dict[str, str], list[tuple[str, str]]]] = field(default_factory=list)
    url: str = ""

    def _next(self) -> Reply:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                owner.requests.append((self.command, path, dict(self.headers), parse_qsl(body or query)))
                status, raw, headers, delay = owner._next()
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass  # the client gave up (timeout test)

            do_GET = do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def fake_backend(*script: Reply) -> Iterator[FakeBackend]:
    fake = FakeBackend(list(script))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
