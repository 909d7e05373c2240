"""Local HTTP servers on 127.0.0.1 for provider tests: a scripted handler per path."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay_s: float = 0.0

    @classmethod
    def json(cls, value: object, status: int = 200) -> Answer:
        return cls(status, json.dumps(value).encode())


Handler = Callable[[Seen], Answer]


@dataclass
class Server:
    base: str
    seen: list[Seen] = field(default_factory=list)


@contextmanager
def serve(handler: Handler) -> Iterator[Server]:
    """A threaded server answering every request with ``handler(seen)``."""
    server = Server("")

    class H(http.server.BaseHTTPRequestHandler):
        def _any(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            seen = Seen(self.command, url.path, dict(urllib.parse.parse_qsl(url.query)), dict(self.headers), body)
            server.seen.append(seen)
            answer = handler(seen)
            if answer.delay_s:
                time.sleep(answer.delay_s)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except OSError:
                pass  # the client gave up (timeout tests)

        do_GET = do_POST = do_PUT = _any  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
