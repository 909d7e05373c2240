"""Replicas whose web config requires basic auth call each other with ``cluster.http_config``'s
credentials: alerts fan out to every pipeline with them; a peer that refuses them is logged
by name and counted on /metrics; a config whose own web config would refuse its peer calls
does not start."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from pathlib import Path

import bcrypt
import httpx
import pytest

from sloguard.api._peers import PeerNotifier, PeerStats, check_peer_auth
from sloguard.api._webconfig import WebConfig
from sloguard.config import parse_config
from sloguard.labels import Labels
from sloguard.rules import Alert
from tests._certs import PKI, make_pki
from tests._net import free_port
from tests.cluster._replicas import Replica, rules_text, wait_for
from tests.state._pg import PgCluster

USER, PASSWORD = "peer", "s3cret-peer"
ALERTS = {"HaAlways0", "HaAlways1"}


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def _cluster_config(http: str = "", extra: str = "") -> str:
    return f"cluster: {{enabled: true{', http_config: ' + http if http else ''}}}\n{extra}"


# --- the start check -------------------------------------------------------------------


def test_web_auth_without_peer_credentials_is_refused_naming_both_keys() -> None:
    web = WebConfig(basic_auth_users={USER: _hash(PASSWORD)})
    with pytest.raises(Exception, match=r"web config \(web.yml\) requires authentication \(basic_auth_users\) "
                                        r"but cluster.http_config has no credentials"):
        check_peer_auth(parse_config(_cluster_config()), web, "web.yml", None)


def test_peer_credentials_are_checked_against_the_web_config(tmp_path: Path) -> None:
    web = WebConfig(basic_auth_users={USER: _hash(PASSWORD)})
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    good = parse_config(_cluster_config(f"{{basic_auth: {{username: {USER}, password_file: pw}}}}"))
    check_peer_auth(good, web, "web.yml", tmp_path / "sloguard.yml")  # relative to the config file: accepted
    with pytest.raises(Exception, match="username 'bob' is not in .*basic_auth_users \\(it lists: peer\\)"):
        check_peer_auth(parse_config(_cluster_config("{basic_auth: {username: bob, password: x}}")), web, "w", None)
    with pytest.raises(Exception, match="password for 'peer' does not match basic_auth_users.peer"):
        check_peer_auth(parse_config(_cluster_config(f"{{basic_auth: {{username: {USER}, password: nope}}}}")),
                        web, "w", None)
    with pytest.raises(Exception, match="accepts only basic_auth_users"):
        check_peer_auth(parse_config(_cluster_config("{authorization: {credentials: tok}}")), web, "w", None)
    with pytest.raises(Exception, match="unable to read cluster.http_config.basic_auth.password file"):
        check_peer_auth(parse_config(_cluster_config(f"{{basic_auth: {{username: {USER}, password_file: gone}}}}")),
                        web, "w", tmp_path / "sloguard.yml")


def test_bearer_tokens_and_external_alertmanagers() -> None:
    web = WebConfig(bearer_tokens=("tok-1",))
    check_peer_auth(parse_config(_cluster_config("{authorization: {credentials: tok-1}}")), web, "w", None)
    with pytest.raises(Exception, match="not one of the bearer tokens"):
        check_peer_auth(parse_config(_cluster_config("{authorization: {credentials: tok-2}}")), web, "w", None)
    # alerts go to an external Alertmanager: the replicas do not call each other
    am = "alerting: {alertmanagers: [{static_configs: [{targets: ['127.0.0.1:9093']}]}]}\n"
    check_peer_auth(parse_config(_cluster_config(extra=am)), web, "w", None)


def test_a_required_client_certificate_needs_one_in_the_peer_tls_config(tmp_path: Path) -> None:
    from sloguard.api._webconfig import TLSServerConfig

    pki = make_pki(tmp_path)
    web = WebConfig(tls=TLSServerConfig(pki.server_cert, pki.server_key, "RequireAndVerifyClientCert", pki.ca))
    with pytest.raises(Exception, match="requires a client certificate .*RequireAndVerifyClientCert.* but "
                                        "cluster.http_config.tls_config has no cert_file"):
        check_peer_auth(parse_config(_cluster_config(f"{{tls_config: {{ca_file: '{pki.ca}'}}}}")), web, "w", None)
    tls = f"{{tls_config: {{ca_file: '{pki.ca}', cert_file: '{pki.client_cert}', key_file: '{pki.client_key}'}}}}"
    check_peer_auth(parse_config(_cluster_config(tls)), web, "w", None)


def test_peer_credentials_are_shown_as_secret() -> None:
    c = parse_config(_cluster_config(f"{{basic_auth: {{username: {USER}, password: {PASSWORD}}}}}"))
    shown = json.dumps(c.model_dump(mode="json", by_alias=True)["cluster"])
    assert PASSWORD not in shown and '"password": "<secret>"' in shown


# --- a failed peer POST is logged by name and counted ------------------------------------


def test_a_refused_or_unreachable_peer_is_logged_by_name_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401 if request.url.host == "b" else 503)

    async def go() -> PeerStats:
        stats = PeerStats()
        n = PeerNotifier({}, "", httpx.AsyncClient(transport=httpx.MockTransport(handler)), stats)
        n.point([("b", "http://b:9090/"), ("c", "http://c:9090")])
        await n("vector(1)", [Alert.new_pending(Labels.from_dict({"alertname": "A"}), (), 1.0, 1_700_000_000_000)])
        await n.flush()
        n.client = httpx.AsyncClient()
        n.point([("d", f"http://127.0.0.1:{free_port()}")])  # nothing listens there
        await n("vector(1)", [Alert.new_pending(Labels.from_dict({"alertname": "A"}), (), 1.0, 1_700_000_000_000)])
        await n.flush()
        return stats

    with caplog.at_level(logging.WARNING, "sloguard.server"):
        stats = asyncio.run(go())
    assert stats.failed == {"b": 1, "c": 1, "d": 1} and stats.sent == {}
    text = caplog.text
    assert "alerts to peer b not delivered: it answered 401 Unauthorized (set cluster.http_config" in text
    assert "alerts to peer c not delivered: it answered 503" in text
    assert "alerts to peer d not delivered: it could not be reached: ConnectError" in text


# --- two replicas on a real PostgreSQL ---------------------------------------------------


def _replicas(root: Path, url: str, passwords: tuple[str, str], pki: PKI | None = None) -> list[Replica]:
    """Two replicas, each with a web config listing ``peer`` with its own password's hash and
    ``cluster.http_config`` sending that password (from a file); with ``pki``, the web config
    also serves TLS and requires a client certificate, which ``cluster.http_config.tls_config``
    presents."""
    out = []
    for i, password in enumerate(passwords):
        d = root / f"r{i}"
        d.mkdir()
        (d / "rules.yml").write_text(rules_text(0, "1s", alerts=2))
        (d / "peer-password").write_text(password + "\n")
        web, tls, verify = f"basic_auth_users: {{{USER}: '{_hash(password)}'}}\n", "", None
        if pki is not None:
            web += (f"tls_server_config: {{cert_file: '{pki.server_cert}', key_file: '{pki.server_key}', "
                    f"client_auth_type: RequireAndVerifyClientCert, client_ca_file: '{pki.ca}'}}\n")
            tls = f", tls_config: {{ca_file: '{pki.ca}', cert_file: '{pki.client_cert}', key_file: '{pki.client_key}'}}"
            verify = ssl.create_default_context(cafile=str(pki.ca))
            verify.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        (d / "web.yml").write_text(web)
        cfg = d / "sloguard.yml"
        cfg.write_text("global: {evaluation_interval: 1s}\nrule_files: [rules.yml]\n"
                       f"state: {{url: '{url}'}}\n"
                       "cluster: {enabled: true, heartbeat_interval: 300ms, lease_ttl: 1200ms,\n"
                       f"  http_config: {{basic_auth: {{username: {USER}, password_file: peer-password}}{tls}}}}}\n")
        out.append(Replica(f"r{i}", cfg, d / "data", args=["--web.config.file", str(d / "web.yml")],
                           auth=(USER, password), scheme="https" if pki else "http", verify=verify or True))
    return out


def _alerts(r: Replica) -> set[str]:
    got = httpx.get(f"{r.url}/api/v2/alerts", auth=r.auth, timeout=10, verify=r.verify).json()
    return {a["labels"]["alertname"] for a in got}


def _peer_metric(r: Replica, kind: str) -> dict[str, float]:
    text = httpx.get(f"{r.url}/metrics", auth=r.auth, timeout=10, verify=r.verify).text
    pattern = rf'^sloguard_cluster_peer_alerts_{kind}_total{{peer="([^"]+)"}} (\S+)$'
    return {m[1]: float(m[2]) for m in re.finditer(pattern, text, re.M)}


def _run(rs: list[Replica]) -> None:
    for r in rs:
        r.start()
    for r in rs:
        r.wait_ready()
    wait_for(lambda: len(rs[0].cluster()["replicas"]) == 2 and not rs[0].cluster()["unheld"], 30, "two replicas")


@pytest.mark.timeout(90)
def test_alerts_fan_out_with_the_peer_credentials(pg_cluster: PgCluster, tmp_path: Path) -> None:
    rs = _replicas(tmp_path, pg_cluster.empty_database(), (PASSWORD, PASSWORD))
    try:
        _run(rs)
        # every pipeline holds both alerts, whichever replica evaluates each group
        wait_for(lambda: all(_alerts(r) == ALERTS for r in rs), 30, "both alerts in both pipelines")
        sent = {r.name: _peer_metric(r, "sent") for r in rs}
        assert sent["r0"].get("r1", 0) + sent["r1"].get("r0", 0) > 0, sent
        assert all(not _peer_metric(r, "failed") for r in rs)
        # the test's own calls without credentials are refused: the fan-out did authenticate
        assert httpx.get(f"{rs[0].url}/api/v2/alerts", timeout=10).status_code == 401
    finally:
        for r in rs:
            r.stop()


@pytest.mark.timeout(90)
def test_alerts_fan_out_over_mutual_tls(pg_cluster: PgCluster, tmp_path: Path) -> None:
    rs = _replicas(tmp_path, pg_cluster.empty_database(), (PASSWORD, PASSWORD), make_pki(tmp_path / "pki"))
    try:
        _run(rs)
        assert all(a.startswith("https://") for a in (x["address"] for x in rs[0].cluster()["replicas"]))
        wait_for(lambda: all(_alerts(r) == ALERTS for r in rs), 30, "both alerts in both pipelines over TLS")
        assert all(not _peer_metric(r, "failed") for r in rs)
    finally:
        for r in rs:
            r.stop()


@pytest.mark.timeout(90)
def test_a_peer_refusing_the_credentials_shows_in_the_log_and_metrics(pg_cluster: PgCluster, tmp_path: Path) -> None:
    # r1's web config has another password (a rotation done on one replica only): each replica
    # passes its own start check, and the other refuses its alerts.
    rs = _replicas(tmp_path, pg_cluster.empty_database(), (PASSWORD, "rotated-password"))
    try:
        _run(rs)
        wait_for(lambda: any(_peer_metric(r, "failed") for r in rs), 30, "a counted failure")
        for r, other in ((rs[0], rs[1]), (rs[1], rs[0])):
            failed = _peer_metric(r, "failed")
            if failed:
                assert set(failed) == {other.name} and not _peer_metric(r, "sent")
                assert f"alerts to peer {other.name} not delivered: it answered 401 Unauthorized" in r.tail(20000)
        assert any(_alerts(r) != ALERTS for r in rs)  # some alert did not reach the other pipeline
    finally:
        for r in rs:
            r.stop()


def test_the_server_check_refuses_to_start_without_peer_credentials() -> None:
    from sloguard.api._cluster import ClusterRunner, ClusterSetupError

    config = parse_config("state: {url: 'postgresql://u@h/db'}\n" + _cluster_config())
    with pytest.raises(ClusterSetupError, match="cluster.http_config has no credentials"):
        ClusterRunner.check(config, None, WebConfig(basic_auth_users={USER: _hash(PASSWORD)}), "web.yml")
    ClusterRunner.check(config, None, WebConfig(), "")  # no authentication: nothing to send
