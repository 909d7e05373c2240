"""The remote write transport against a local HTTP server: auth and headers as configured,
statuses and Retry-After passed back, connection errors as status 0 (never raised)."""

from __future__ import annotations

import asyncio
import base64
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sloguard.remote.write import RemoteWriteConfig, SendResponse, http_transport
from tests._net import free_port


@contextmanager
def _server(status: int, headers: dict[str, str]) -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(dict(self.headers.items()))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            body = b"" if status == 204 else b"nope"  # a 204 has no body
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/api/v1/write", seen
    finally:
        srv.shutdown()
        srv.server_close()


def _post(doc: dict[str, object]) -> SendResponse:
    async def go() -> SendResponse:
        t = http_transport(RemoteWriteConfig.model_validate(doc))
        try:
            return await t.post(b"body", {"Content-Encoding": "snappy"})
        finally:
            await t.aclose()  # type: ignore[attr-defined]

    return asyncio.run(go())


def test_basic_auth_from_a_file_and_headers_are_sent(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    with _server(204, {}) as (url, seen):
        resp = _post({"url": url, "headers": {"X-Scope-OrgID": "team-a"},
                      "basic_auth": {"username": "u", "password_file": str(tmp_path / "pw")}})
    assert resp.status == 204
    assert seen[0]["Authorization"] == "Basic " + base64.b64encode(b"u:s3cret").decode()
    assert seen[0]["X-Scope-OrgID"] == "team-a" and seen[0]["Content-Encoding"] == "snappy"


def test_bearer_token_is_sent() -> None:
    with _server(200, {}) as (url, seen):
        _post({"url": url, "authorization": {"credentials": "tok"}})
    assert seen[0]["Authorization"] == "Bearer tok"


def test_a_5xx_comes_back_with_its_retry_after_and_body() -> None:
    with _server(503, {"Retry-After": "7"}) as (url, _):
        resp = _post({"url": url})
    assert (resp.status, resp.retry_after) == (503, "7") and "503: nope" in resp.error


def test_a_refused_connection_is_status_0_with_a_reason(tmp_path: Path) -> None:
    resp = _post({"url": f"http://127.0.0.1:{free_port()}/api/v1/write"})
    assert resp.status == 0 and resp.error
    missing = tmp_path / "missing"
    resp = _post({"url": f"http://127.0.0.1:{free_port()}/x", "basic_auth": {"username": "u",
                                                                          "password_file": str(missing)}})
    assert resp.status == 0 and str(missing) in resp.error
