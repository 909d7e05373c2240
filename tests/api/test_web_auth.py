"""The web config file's validation, and authentication/headers as ASGI middleware."""

from __future__ import annotations

import asyncio
from pathlib import Path

import bcrypt
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sloguard.api._auth import BasicAuthChecker, WebAuth
from sloguard.api._webconfig import WebConfig, WebConfigError, load_web_config, ssl_context
from tests._certs import make_pki

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()


def _load(tmp_path: Path, text: str) -> WebConfig:
    path = tmp_path / "web.yml"
    path.write_text(text)
    return load_web_config(path)


@pytest.mark.parametrize(("text", "says"), [
    ("basic_auth_user: {a: b}\n", "field basic_auth_user not found in the top level"),
    ("tls_server_config: {key_file: k}\n", "missing tls_server_config.cert_file"),
    ("tls_server_config: {cert_file: nope.crt, key_file: k}\n", "tls_server_config.cert_file"),
    ("http_server_config: {headers: {Server: x}}\n", 'HTTP header "Server" can not be configured'),
    ("http_server_config: {headers: {X-Frame-Options: allow}}\n", "invalid value for X-Frame-Options"),
    ("basic_auth_users: {alice: plaintext}\n", "basic_auth_users.alice is not a bcrypt hash"),
    ("tls_server_config: [1]\n", "tls_server_config must be a mapping"),
    ("basic_auth_users: {a: [\n", "is not valid YAML"),
])
def test_invalid_web_configs_name_the_file_and_the_key(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(WebConfigError) as e:
        _load(tmp_path, text)
    assert says in str(e.value) and str(tmp_path / "web.yml") in str(e.value)


def test_tls_config_paths_are_relative_to_the_file_and_client_auth_needs_a_ca(tmp_path: Path) -> None:
    make_pki(tmp_path / "pki")
    web = _load(tmp_path, "tls_server_config: {cert_file: pki/server.crt, key_file: pki/server.key, "
                          "client_auth_type: RequireAndVerifyClientCert, client_ca_file: pki/ca.crt}\n")
    assert web.tls is not None and web.tls.cert_file == tmp_path / "pki" / "server.crt"
    assert ssl_context(web.tls).verify_mode.name == "CERT_REQUIRED"
    with pytest.raises(WebConfigError, match="needs client_ca_file"):
        _load(tmp_path, "tls_server_config: {cert_file: pki/server.crt, key_file: pki/server.key, "
                        "client_auth_type: RequireAndVerifyClientCert}\n")
    with pytest.raises(WebConfigError, match="Client CA's have been configured without a Client Auth Policy"):
        _load(tmp_path, "tls_server_config: {cert_file: pki/server.crt, key_file: pki/server.key, "
                        "client_ca_file: pki/ca.crt}\n")
    bad = _load(tmp_path, "tls_server_config: {cert_file: pki/ca.crt, key_file: pki/server.key}\n")
    assert bad.tls is not None
    with pytest.raises(WebConfigError, match="cannot load TLS certificate/key"):
        ssl_context(bad.tls)  # the CA's certificate does not match the server's key


def test_a_successful_bcrypt_check_is_cached_and_failures_are_not() -> None:
    checker = BasicAuthChecker({"alice": HASH})

    async def run() -> list[bool]:
        return [await checker.check(u, p) for u, p in
                (("alice", "pw"), ("alice", "pw"), ("alice", "pw"), ("alice", "nope"), ("bob", "pw"))]

    assert asyncio.run(run()) == [True, True, True, False, False]
    assert checker.bcrypt_checks == 3  # one for alice, then the two failures


def _client(web: WebConfig) -> TestClient:
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/-/healthy", hello)])
    return TestClient(WebAuth(app, web))


def test_every_request_needs_credentials_and_every_response_gets_the_headers() -> None:
    client = _client(WebConfig(basic_auth_users={"alice": HASH}, headers={"X-Frame-Options": "deny"},
                               bearer_tokens=("tok",)))
    r = client.get("/-/healthy")
    assert (r.status_code, r.headers["www-authenticate"], r.text) == (401, "Basic", "Unauthorized\n")
    assert r.headers["x-frame-options"] == "deny"
    assert client.get("/-/healthy", auth=("alice", "pw")).text == "hello"
    assert client.get("/-/healthy", auth=("alice", "pW")).status_code == 401
    assert client.get("/-/healthy", headers={"Authorization": "Bearer tok"}).status_code == 200
    assert client.get("/-/healthy", headers={"Authorization": "Bearer tok2"}).status_code == 401
    assert client.get("/-/healthy", headers={"Authorization": "Basic !!notbase64"}).status_code == 401
    ok = client.get("/-/healthy", auth=("alice", "pw"))
    assert ok.headers["x-frame-options"] == "deny"


def test_without_users_or_tokens_requests_pass_with_the_headers() -> None:
    r = _client(WebConfig(headers={"X-Content-Type-Options": "nosniff"})).get("/-/healthy")
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
