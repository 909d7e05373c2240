"""``http_client``: a receiver's ``http_config`` against real local servers on 127.0.0.1
(authorization headers, files read per request, TLS with a test CA and a client
certificate, redirects, a forward proxy, OAuth 2.0 client credentials)."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sloguard.alerting._http import HTTPConfig
from sloguard.alerting._httpclient import HTTPConfigError, http_client
from sloguard.alerting.config import parse_config
from sloguard.alerting.notify_template import NotificationTemplate
from sloguard.alerting.receivers import WebhookNotifier, build_notifier
from sloguard.alerting.receivers._base import NotifyContext
from sloguard.labels import Labels
from tests._certs import make_pki


@dataclass
class Server:
    """Records every request (path, headers, body); ``/redirect`` answers 307 to ``/hook``,
    ``/token`` hands out an OAuth 2.0 token, anything else 200."""

    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.seen.append((self.path, dict(self.headers), body))
                if self.path.endswith("/redirect"):
                    self.send_response(307)
                    self.send_header("Location", "/hook")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                out = json.dumps({"access_token": f"tok{len(owner.seen)}", "expires_in": 3600}).encode()
                out = out if self.path == "/token" else b""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def serve(tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    server = Server()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), server.handler())
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    server.url = f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def http_config(tmp: Path, text: str) -> HTTPConfig:
    """The http_config of a webhook, read by the config reader from ``tmp/am.yml``."""
    body = "\n".join("          " + line for line in text.strip().splitlines())
    yml = f"route: {{receiver: a}}\nreceivers:\n  - name: a\n    webhook_configs:\n      - url: http://x/\n        http_config:\n{body}\n"
    (tmp / "am.yml").write_text(yml)
    http = parse_config(yml, str(tmp / "am.yml"), base_dir=str(tmp)).receivers[0].webhook_configs[0].http_config
    assert http is not None
    return http


def post(cfg: HTTPConfig, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with http_client(cfg) as client:
            return await client.post(url, content=b"{}")
    return asyncio.run(go())


def test_basic_auth_password_goes_into_the_authorization_header(tmp_path: Path) -> None:
    with serve() as srv:
        post(http_config(tmp_path, "basic_auth: {username: alice, password: s3cr3t-pw}"), srv.url + "/hook")
    assert srv.seen[0][1]["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cr3t-pw").decode()


def test_password_file_is_read_at_every_request_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("first\n")
    cfg = http_config(tmp_path, "basic_auth: {username: bob, password_file: pw}")
    assert cfg.basic_auth_password_file == str(tmp_path / "pw")
    with serve() as srv:
        post(cfg, srv.url + "/hook")
        (tmp_path / "pw").write_text("second")
        post(cfg, srv.url + "/hook")
    assert [h["Authorization"] for _, h, _ in srv.seen] == [
        "Basic " + base64.b64encode(b"bob:first").decode(), "Basic " + base64.b64encode(b"bob:second").decode()]


@pytest.mark.parametrize(("text", "expected"), [
    ("authorization: {credentials: tok-1}", "Bearer tok-1"),
    ("authorization: {type: Token, credentials: tok-2}", "Token tok-2"),
    ("bearer_token: tok-3", "Bearer tok-3"),
    ("bearer_token_file: tokfile", "Bearer from-file"),
    ("authorization: {type: Custom, credentials_file: tokfile}", "Custom from-file"),
])
def test_authorization_forms_set_the_header(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "tokfile").write_text("from-file\n")
    with serve() as srv:
        post(http_config(tmp_path, text), srv.url + "/hook")
    assert srv.seen[0][1]["Authorization"] == expected


def test_a_missing_credentials_file_fails_the_request_naming_the_file(tmp_path: Path) -> None:
    cfg = http_config(tmp_path, "bearer_token_file: nowhere")
    with serve() as srv, pytest.raises(HTTPConfigError, match=r"authorization credentials file .*nowhere"):
        post(cfg, srv.url + "/hook")
    assert srv.seen == []


def test_tls_with_the_test_ca_and_a_client_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(pki.server_cert, pki.server_key)
    server_ctx.load_verify_locations(pki.ca)
    server_ctx.verify_mode = ssl.CERT_REQUIRED  # the client must show the CA's client certificate
    with serve(server_ctx) as srv:
        ok = post(http_config(tmp_path, f"tls_config: {{ca_file: {pki.ca}, cert_file: {pki.client_cert}, "
                                        f"key_file: {pki.client_key}, min_version: TLS12}}"), srv.url + "/hook")
        assert ok.status_code == 200
        with pytest.raises(httpx.ConnectError):  # the system CAs do not know the test CA
            post(http_config(tmp_path, f"tls_config: {{cert_file: {pki.client_cert}, key_file: {pki.client_key}}}"),
                 srv.url + "/hook")
        with pytest.raises(httpx.ConnectError):  # the server's certificate is for 127.0.0.1, not this name
            post(http_config(tmp_path, f"tls_config: {{ca_file: {pki.ca}, cert_file: {pki.client_cert}, "
                                       f"key_file: {pki.client_key}, server_name: other.example}}"), srv.url + "/hook")
        insecure = post(http_config(tmp_path, f"tls_config: {{insecure_skip_verify: true, cert_file: {pki.client_cert}, "
                                              f"key_file: {pki.client_key}}}"), srv.url + "/hook")
        assert insecure.status_code == 200


def test_server_name_is_the_name_the_certificate_is_checked_against(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(pki.server_cert, pki.server_key)
    with serve(server_ctx) as srv:
        url = srv.url.replace("127.0.0.1", "localhost")  # the certificate names both
        assert post(http_config(tmp_path, f"tls_config: {{ca_file: {pki.ca}, server_name: localhost}}"), url).status_code == 200


def test_redirects_are_followed_unless_follow_redirects_is_false(tmp_path: Path) -> None:
    with serve() as srv:
        followed = post(http_config(tmp_path, "follow_redirects: true"), srv.url + "/redirect")
        stopped = post(http_config(tmp_path, "follow_redirects: false"), srv.url + "/redirect")
    assert (followed.status_code, stopped.status_code) == (200, 307)
    assert [p for p, _, _ in srv.seen] == ["/redirect", "/hook", "/redirect"]


def test_requests_go_through_proxy_url_with_its_connect_headers(tmp_path: Path) -> None:
    with serve() as proxy:
        cfg = http_config(tmp_path, f"proxy_url: {proxy.url}\nproxy_connect_header: {{X-Proxy-Token: [ptok]}}")
        post(cfg, "http://target.invalid:9/hook")
    path, headers, _ = proxy.seen[0]
    assert path == "http://target.invalid:9/hook"  # a forward proxy sees the absolute URL
    assert headers["X-Proxy-Token"] == "ptok"


def test_oauth2_client_credentials_token_is_fetched_once_and_sent_as_bearer(tmp_path: Path) -> None:
    with serve() as srv:
        cfg = http_config(tmp_path, f"oauth2: {{client_id: cid, client_secret: csec, token_url: '{srv.url}/token', "
                                    "scopes: [a, b], endpoint_params: {audience: am}}")

        async def twice() -> None:
            async with http_client(cfg) as client:
                await client.post(srv.url + "/hook", content=b"1")
                await client.post(srv.url + "/hook", content=b"2")
        asyncio.run(twice())
    token_req, first, second = srv.seen
    assert token_req[0] == "/token"
    assert token_req[1]["Authorization"] == "Basic " + base64.b64encode(b"cid:csec").decode()
    assert sorted(token_req[2].decode().split("&")) == ["audience=am", "grant_type=client_credentials", "scope=a+b"]
    assert first[1]["Authorization"] == second[1]["Authorization"] == "Bearer tok1"


def test_build_notifier_gives_a_receiver_with_its_own_http_config_its_own_client(tmp_path: Path) -> None:
    yml = """
route: {receiver: a}
receivers:
  - name: a
    webhook_configs:
      - url: URL/plain
      - url: URL/auth
        http_config: {authorization: {credentials: only-here}}
"""
    with serve() as srv:
        cfg = parse_config(yml.replace("URL", srv.url))
        shared = httpx.AsyncClient()
        plain, auth = (build_notifier(w, NotificationTemplate(), shared) for w in cfg.receivers[0].webhook_configs)
        assert isinstance(plain, WebhookNotifier) and isinstance(auth, WebhookNotifier)
        assert plain.client is shared and auth.client is not shared
        ctx = NotifyContext("{}:{}", "a", Labels.of(), 0)
        for n in (plain, auth):
            assert asyncio.run(n.notify(ctx, [])).ok
    headers = {p: h for p, h, _ in srv.seen}
    assert "Authorization" not in headers["/plain"]
    assert headers["/auth"]["Authorization"] == "Bearer only-here"


def test_without_a_shared_client_a_receiver_gets_one_with_alertmanagers_defaults() -> None:
    cfg = parse_config("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'http://h/'}]}]")
    notifier = build_notifier(cfg.receivers[0].webhook_configs[0], NotificationTemplate())
    assert isinstance(notifier, WebhookNotifier) and notifier.client.follow_redirects


def test_a_notifier_reports_an_unreadable_credentials_file_by_name_and_retries(tmp_path: Path) -> None:
    yml = "route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'http://127.0.0.1:9/', " \
          "http_config: {bearer_token_file: gone}}]}]"
    cfg = parse_config(yml, str(tmp_path / "am.yml"), base_dir=str(tmp_path))
    notifier = build_notifier(cfg.receivers[0].webhook_configs[0], NotificationTemplate())
    result = asyncio.run(notifier.notify(NotifyContext("{}:{}", "a", Labels.of(), 0), []))
    assert not result.ok and result.retryable
    assert f"unable to read authorization credentials file {tmp_path / 'gone'}" in result.error


def test_unusable_tls_files_are_refused_when_the_client_is_built(tmp_path: Path) -> None:
    with pytest.raises(HTTPConfigError, match="ca_file .*nowhere.pem"):
        http_client(http_config(tmp_path, "tls_config: {ca_file: nowhere.pem}"))
