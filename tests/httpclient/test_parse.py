"""``parse_http_config_dict`` and ``sync_http_client``: Prometheus' client keys from a plain
mapping, errors naming the key path, and the headers a sync client sends."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from sloguard.httpclient import (
    HTTPConfig,
    HTTPConfigParseError,
    parse_http_config_dict,
    sync_http_client,
)


def _sent(cfg: HTTPConfig) -> httpx.Headers:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)
    with sync_http_client(cfg, transport=httpx.MockTransport(handler)) as client:
        client.get("http://backend.invalid/api/v1/query")
    return seen[0].headers


def test_basic_auth_and_headers_are_sent() -> None:
    cfg = parse_http_config_dict({"basic_auth": {"username": "u", "password": "p"}, "headers": {"X-Scope-OrgID": "t1"},
                                  "url": "ignored by the parser"}, "query_backend")
    headers = _sent(cfg)
    assert headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert headers["x-scope-orgid"] == "t1"
    assert "t1" not in repr(cfg) and "'p'" not in repr(cfg)


def test_bearer_token_file_is_read_per_request(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("abc\n")
    cfg = parse_http_config_dict({"bearer_token_file": str(token)})
    assert _sent(cfg)["authorization"] == "Bearer abc"
    token.write_text("def")
    assert _sent(cfg)["authorization"] == "Bearer def"


def test_authorization_type_and_credentials() -> None:
    cfg = parse_http_config_dict({"authorization": {"type": "Token", "credentials": "xyz"}})
    assert _sent(cfg)["authorization"] == "Token xyz"
    assert "authorization" not in _sent(parse_http_config_dict({}))


@pytest.mark.parametrize(("data", "path", "words"), [
    ({"basic_auth": {"username": "u"}, "bearer_token": "t"}, "qb", "at most one of basic_auth"),
    ({"tls_config": {"min_version": "TLS9"}}, "qb.tls_config.min_version", "unknown TLS version 'TLS9'"),
    ({"tls_config": {"ca": "x"}}, "qb.tls_config.ca", "unknown key"),
    ({"basic_auth": "u:p"}, "qb.basic_auth", "expected a mapping"),
    ({"follow_redirects": "yes"}, "qb.follow_redirects", "expected true or false"),
    ({"headers": {"Authorization": "x"}}, "qb.headers.Authorization", "other than Authorization"),
    ({"authorization": {"type": "Basic", "credentials": "x"}}, "qb.authorization.type", "use \"basic_auth\""),
    ({"oauth2": {"client_id": "c", "token_url": "http://t"}}, "qb.oauth2", "exactly one of oauth2 client_secret"),
])
def test_errors_name_the_key_path(data: dict[str, object], path: str, words: str) -> None:
    with pytest.raises(HTTPConfigParseError) as info:
        parse_http_config_dict(data, "qb")
    assert info.value.path == path
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_strict_refuses_other_keys() -> None:
    with pytest.raises(HTTPConfigParseError, match="url: unknown key"):
        parse_http_config_dict({"url": "http://x"}, strict=True)
