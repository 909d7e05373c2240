"""``--web.config.file`` on a real server: TLS with certificates made by the test, basic auth
with bcrypt hashes, client certificates, bearer tokens and security headers, and a real
Prometheus remote-writing through TLS with basic auth."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import bcrypt
import httpx
import pytest

from tests._certs import PKI, make_pki
from tests.e2e.conftest import SloguardProcess, free_port, wait_until

PASSWORD = "correct horse"


@pytest.fixture()
def pki(tmp_path: Path) -> PKI:
    return make_pki(tmp_path / "pki")


def _web_config(tmp_path: Path, pki: PKI, extra: str = "", client_auth: str = "NoClientCert") -> Path:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    ca_line = f"  client_ca_file: {pki.ca}\n" if client_auth != "NoClientCert" else ""
    path = tmp_path / "web.yml"
    path.write_text(
        "tls_server_config:\n"
        f"  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        f"  client_auth_type: {client_auth}\n{ca_line}"
        "http_server_config:\n"
        "  headers: {X-Frame-Options: deny, X-Content-Type-Options: nosniff, "
        "Strict-Transport-Security: max-age=31536000, Content-Security-Policy: \"default-src 'self'\"}\n"
        f"basic_auth_users:\n  alice: '{hashed}'\n{extra}"
    )
    return path


def _trust(pki: PKI, client_cert: PKI | None = None) -> ssl.SSLContext:
    """Trusts the test CA; presents ``client_cert``'s client certificate when given."""
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if client_cert is not None:
        ctx.load_cert_chain(str(client_cert.client_cert), str(client_cert.client_key))
    return ctx


def _start(factory: Callable[..., SloguardProcess], web: Path, pki: PKI, mtls: bool = False,
           *args: str) -> SloguardProcess:
    p = factory()
    p.use_tls()
    p.extra_args = [f"--web.config.file={web}", "--web.enable-lifecycle", *args]
    p.client_options = {"verify": _trust(pki, pki if mtls else None), "auth": ("alice", PASSWORD)}
    return p.start()


def test_tls_and_basic_auth_guard_every_path_and_set_the_headers(
    sloguard_factory: Callable[..., SloguardProcess], pki: PKI, tmp_path: Path,
) -> None:
    p = _start(sloguard_factory, _web_config(tmp_path, pki), pki)
    ca = _trust(pki)
    for path in ("/-/healthy", "/-/ready", "/api/v1/query?query=1", "/metrics"):
        r = httpx.get(f"{p.url}{path}", verify=ca)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Basic", path
    assert httpx.get(f"{p.url}/-/healthy", verify=ca, auth=("alice", "wrong")).status_code == 401
    assert httpx.get(f"{p.url}/-/healthy", verify=ca, auth=("mallory", PASSWORD)).status_code == 401
    assert httpx.post(f"{p.url}/api/v1/write", verify=ca, content=b"x").status_code == 401
    r = httpx.get(f"{p.url}/api/v1/query", params={"query": "1+1"}, verify=ca, auth=("alice", PASSWORD))
    assert r.status_code == 200 and r.json()["data"]["result"][1] == "2"
    assert r.headers["x-frame-options"] == "deny" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    assert r.headers["content-security-policy"] == "default-src 'self'"
    with pytest.raises(httpx.ConnectError):  # the certificate is not trusted without the test CA
        httpx.get(f"{p.url}/-/healthy", auth=("alice", PASSWORD))
    with pytest.raises(httpx.HTTPError):  # plain HTTP to the TLS port gets no answer
        httpx.get(f"http://127.0.0.1:{p.port}/-/healthy", timeout=2)
    flags = httpx.get(f"{p.url}/api/v1/status/flags", verify=ca, auth=("alice", PASSWORD)).json()["data"]
    assert flags["web.config.file"] == str(tmp_path / "web.yml")
    assert p.stop() == 0


def test_client_certificates_are_required_and_verified(
    sloguard_factory: Callable[..., SloguardProcess], pki: PKI, tmp_path: Path,
) -> None:
    web = _web_config(tmp_path, pki, client_auth="RequireAndVerifyClientCert")
    p = _start(sloguard_factory, web, pki, mtls=True)
    with_cert = _trust(pki, pki)
    assert httpx.get(f"{p.url}/-/healthy", verify=with_cert, auth=("alice", PASSWORD)).status_code == 200
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"{p.url}/-/healthy", verify=_trust(pki), auth=("alice", PASSWORD))
    # a certificate signed by another CA is refused too
    other = make_pki(tmp_path / "other")
    foreign = _trust(pki, other)
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"{p.url}/-/healthy", verify=foreign, auth=("alice", PASSWORD))
    assert p.stop() == 0


def test_bearer_tokens_from_a_file_are_accepted(
    sloguard_factory: Callable[..., SloguardProcess], pki: PKI, tmp_path: Path,
) -> None:
    (tmp_path / "tokens").write_text("# one token a line\ns3cr3t-token\n")
    web = _web_config(tmp_path, pki, f"sloguard_bearer_tokens_file: {tmp_path / 'tokens'}\n")
    p = _start(sloguard_factory, web, pki, False, "--web.read-header-timeout=1s")
    silent = socket.create_connection(("127.0.0.1", p.port))  # never starts the TLS handshake
    ca = _trust(pki)
    ok = httpx.get(f"{p.url}/-/healthy", verify=ca, headers={"Authorization": "Bearer s3cr3t-token"})
    assert ok.status_code == 200
    bad = httpx.get(f"{p.url}/-/healthy", verify=ca, headers={"Authorization": "Bearer s3cr3t-tokem"})
    assert bad.status_code == 401
    assert httpx.get(f"{p.url}/-/healthy", verify=ca, auth=("alice", PASSWORD)).status_code == 200
    silent.settimeout(10)
    assert silent.recv(1) == b""  # closed at the handshake deadline
    silent.close()
    assert p.stop() == 0


def test_an_invalid_web_config_stops_serve_with_exit_2_naming_file_and_key(
    sloguard_factory: Callable[..., SloguardProcess], pki: PKI, tmp_path: Path,
) -> None:
    import sys

    web = tmp_path / "bad-web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
                   "  client_auth_type: RequireSomething\n")
    r = subprocess.run(
        [sys.executable, "-m", "sloguard.cli", "serve", "--web.config.file", str(web),
         "--data-dir", str(tmp_path / "d"), "--listen", f"127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 2
    assert str(web) in r.stderr and "client_auth_type" in r.stderr and "RequireSomething" in r.stderr


@pytest.mark.peer
@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus binary not on PATH")
def test_prometheus_remote_writes_through_tls_with_basic_auth(
    sloguard_factory: Callable[..., SloguardProcess], pki: PKI, tmp_path: Path,
) -> None:
    p = _start(sloguard_factory, _web_config(tmp_path, pki), pki)
    port = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 500ms}\n"
        f"scrape_configs: [{{job_name: prom, static_configs: [{{targets: ['127.0.0.1:{port}']}}]}}]\n"
        f"remote_write:\n- url: {p.url}/api/v1/write\n"
        f"  tls_config: {{ca_file: {pki.ca}}}\n"
        f"  basic_auth: {{username: alice, password: '{PASSWORD}'}}\n"
        "  queue_config: {batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms}\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'prom'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], stdout=log, stderr=log)
    try:
        def arrived() -> bool:
            r = httpx.get(f"{p.url}/api/v1/query", params={"query": 'up{job="prom"}'},
                          verify=_trust(pki), auth=("alice", PASSWORD))
            return r.status_code == 200 and r.json()["data"]["result"] != []
        wait_until(arrived, 30, "Prometheus' samples in sloguard over TLS with basic auth")
        r = httpx.get(f"{p.url}/api/v1/query", params={"query": 'count({job="prom"})'},
                      verify=_trust(pki), auth=("alice", PASSWORD))
        assert int(r.json()["data"]["result"][0]["value"][1]) > 100  # Prometheus' own metrics arrived
        assert "401" not in (tmp_path / "prometheus.log").read_text()
    finally:
        prom.terminate()
        prom.wait(timeout=15)
    assert p.stop() == 0
