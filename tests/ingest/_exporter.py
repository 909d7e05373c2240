"""A tiny real exporter on 127.0.0.1 for scrape tests (http.server in a thread)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ExporterState:
    def __init__(self, body: bytes, content_type: str = "text/plain; version=0.0.4") -> None:
        self.body = body
        self.content_type = content_type
        self.required_auth: str | None = None
        #: Extra paths, each with its own (body, content type).
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.headers: list[dict[str, str]] = []
        self.release = threading.Event()


def _handler(state: ExporterState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            return

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            state.headers.append(dict(self.headers.items()))
            if self.path.startswith("/hang"):
                state.release.wait(10)
                return
            if state.required_auth and self.headers.get("Authorization") != state.required_auth:
                self.send_response(401)
                self.end_headers()
                return
            body, ctype = state.routes.get(self.path.split("?")[0], (state.body, state.content_type))
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body)
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(state: ExporterState) -> Iterator[str]:
    """Serve ``state`` on a free port; yields ``host:port``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
