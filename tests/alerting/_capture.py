"""A local HTTP server that records every POST (path, headers, body) for receiver tests."""

from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Captured:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() on arrival


@dataclass
class CaptureServer:
    """Answers every POST with ``status`` (default 200) and keeps what arrived."""

    status: int = 200
    requests: list[Captured] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> str:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.requests.append(Captured(self.path, dict(self.headers), body, time.monotonic()))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_for(self, path: str, count: int, timeout_s: float = 15.0) -> list[Captured]:
        """The first ``count`` requests to ``path``, waiting for them to arrive."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = [r for r in self.requests if r.path == path]
            if len(got) >= count:
                return got[:count]
            time.sleep(0.05)
        raise AssertionError(f"{count} request(s) to {path} expected, got {[r.path for r in self.requests]}")
