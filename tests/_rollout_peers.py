"""Peers of served-rollout tests: tiny upstream versions that count their hits (threads, so
a server on any event loop or in another process can reach them), a rollout spec over the
built-in proxy, and traffic sent through that proxy."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class CountingUpstream:
    """An HTTP/1.1 server on 127.0.0.1 answering every GET with its version name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits = 0
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_GET(self) -> None:  # noqa: N802  # http.server's naming
                with upstream._lock:
                    upstream.hits += 1
                body = upstream.name.encode()
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> CountingUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def canary_spec(name: str, stable: CountingUpstream, canary: CountingUpstream, proxy_port: int,
                steps: str = "[{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {}}]") -> str:
    """A native rollout of service ``name`` over the built-in proxy on ``proxy_port``."""
    return f"""\
apiVersion: sloguard/v1
kind: Rollout
metadata:
  name: {name}
spec:
  service: {name}
  versions:
    stable: {{name: v1, upstreams: ["{stable.address}"]}}
    canary: {{name: v2, upstreams: ["{canary.address}"]}}
  router:
    type: proxy
    proxy: {{port: {proxy_port}}}
  strategy:
    canary:
      steps: {steps}
"""


def traffic(proxy_port: int, n: int) -> Counter[str]:
    """``n`` GETs through the proxy; the versions that answered, counted."""
    seen: Counter[str] = Counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{proxy_port}", timeout=5.0) as c:
        for i in range(n):
            seen[c.get(f"/r{i}").text] += 1
    return seen


async def traffic_async(proxy_port: int, n: int) -> Counter[str]:
    """``traffic`` for a proxy on the caller's own event loop."""
    seen: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy_port}", timeout=5.0) as c:
        for i in range(n):
            seen[(await c.get(f"/r{i}")).text] += 1
    return seen
