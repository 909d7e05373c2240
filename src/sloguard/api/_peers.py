"""Replica-to-replica calls in a cluster: the alert fan-out to the other replicas'
``POST /api/v2/alerts``, with the credentials of ``cluster.http_config``.

A replica whose web config (``--web.config.file``) requires authentication refuses a peer
that comes without credentials, so the server checks at start what it can: with the
fan-out in use (no external Alertmanager) and authentication required, ``cluster.http_config``
must carry credentials of the kind the web config accepts (a ``basic_auth`` user it lists,
whose password matches its hash; or an ``authorization``/bearer token for
``sloguard_bearer_tokens_file``), else the server does not start (:class:`PeerAuthError`).
With ``tls_server_config`` requiring client certificates, ``cluster.http_config.tls_config``
must name one. A peer that still refuses (another replica's web config differs), is away or answers 5xx is
logged with its name and counted on ``/metrics``
(``sloguard_cluster_peer_alerts_failed_total{peer}``); the next resend tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import httpx
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from sloguard.api._webconfig import WebConfig
from sloguard.cluster import Coordinator
from sloguard.config import Config
from sloguard.httpclient import (
    HTTPConfig,
    HTTPConfigError,
    http_client,
    read_secret_file,
    with_directory,
)
from sloguard.rules import Alert as RuleAlert
from sloguard.rules import AlertmanagerNotifier

log = logging.getLogger("sloguard.server")

PEER_TIMEOUT_S = 5.0
_CERT_REQUIRED = ("RequireAnyClientCert", "RequireAndVerifyClientCert")
_ALERTS_PATH = "/api/v2/alerts"


class PeerAuthError(Exception):
    """The replicas could not call each other with this config; the message names both keys."""


def peer_http_config(config: Config, config_path: Path | None) -> HTTPConfig:
    """``cluster.http_config`` with its file paths relative to the config file."""
    cfg: HTTPConfig = config.cluster.http_config
    return with_directory(cfg, str(config_path.parent)) if config_path is not None else cfg


def fans_out(config: Config) -> bool:
    """Whether the replicas send their alerts to each other (no external Alertmanager)."""
    return config.cluster.enabled and not config.alerting.urls()


def check_peer_auth(config: Config, web: WebConfig, web_file: str, config_path: Path | None) -> None:
    """``PeerAuthError`` when this replica's own web config would refuse its peer calls."""
    if not fans_out(config):
        return
    cfg = peer_http_config(config, config_path)
    where = f"the web config ({web_file or '--web.config.file'})"
    if web.tls is not None and web.tls.client_auth_type in _CERT_REQUIRED and not cfg.tls.cert_file:
        raise PeerAuthError(f"{where} requires a client certificate (tls_server_config.client_auth_type "
                            f"{web.tls.client_auth_type}) but cluster.http_config.tls_config has no cert_file: the "
                            "replicas' alerts to each other would be refused. Set cluster.http_config.tls_config "
                            "{ca_file, cert_file, key_file}.")
    if not web.requires_auth:
        return
    if cfg.has_basic_auth:
        _check_basic(cfg, web, where)
    elif cfg.authorization_type or cfg.oauth2 is not None:
        if not web.bearer_tokens:
            raise PeerAuthError(f"cluster.http_config sends an Authorization token but {where} accepts only "
                                "basic_auth_users; the replicas' alerts to each other would get 401. Set "
                                "cluster.http_config.basic_auth to one of basic_auth_users' users.")
        _check_token(cfg, web, where)
    else:
        keys = "basic_auth_users" if web.basic_auth_users else "sloguard_bearer_tokens_file"
        raise PeerAuthError(
            f"{where} requires authentication ({keys}) but cluster.http_config has no credentials: the replicas' "
            "alerts to each other (POST /api/v2/alerts) would get 401 and not fan out. Set "
            "cluster.http_config.basic_auth {username, password_file} (or authorization.credentials_file) "
            "to credentials the web config accepts.")


def _check_basic(cfg: HTTPConfig, web: WebConfig, where: str) -> None:
    user = cfg.basic_auth_username
    hashed = web.basic_auth_users.get(user)
    if hashed is None:
        known = ", ".join(sorted(web.basic_auth_users)) or "none"
        raise PeerAuthError(f"cluster.http_config.basic_auth.username {user!r} is not in {where}'s "
                            f"basic_auth_users (it lists: {known}); the replicas' alerts to each other would get 401.")
    password = _secret(cfg.basic_auth_password, cfg.basic_auth_password_file, "cluster.http_config.basic_auth.password")
    try:
        ok = bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        ok = False
    if not ok:
        raise PeerAuthError(f"cluster.http_config.basic_auth's password for {user!r} does not match "
                            f"basic_auth_users.{user} in {where}; the replicas' alerts to each other would get 401.")


def _check_token(cfg: HTTPConfig, web: WebConfig, where: str) -> None:
    if cfg.oauth2 is not None:
        return  # a token from a token server: cannot tell before it is fetched
    token = _secret(cfg.authorization_credentials, cfg.authorization_credentials_file,
                    "cluster.http_config.authorization.credentials")
    if cfg.authorization_type.lower() != "bearer" or token not in web.bearer_tokens:
        raise PeerAuthError(f"cluster.http_config.authorization is not one of the bearer tokens of {where}'s "
                            "sloguard_bearer_tokens_file; the replicas' alerts to each other would get 401.")


def _secret(inline: Any, file: str, what: str) -> str:
    if inline is not None:
        return str(inline.reveal())
    if not file:
        return ""
    try:
        return read_secret_file(file, what)
    except HTTPConfigError as e:
        raise PeerAuthError(str(e)) from None


@dataclass(slots=True)
class PeerStats:
    """Alerts posted to each peer (by replica name): accepted, and failed (refused, away, 5xx)."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)


class PeerNotifier(AlertmanagerNotifier):
    """An ``AlertmanagerNotifier`` whose receivers are the peers: each failure is logged with
    the peer's name and counted per peer (a 401 says which key to set)."""

    def __init__(self, external_labels: dict[str, str], external_url: str, client: httpx.AsyncClient,
                 stats: PeerStats) -> None:
        super().__init__([], external_labels, external_url, client=client)
        self.peer_stats = stats
        self.names: dict[str, str] = {}  #: alerts URL -> replica name

    def point(self, peers: Sequence[tuple[str, str]]) -> None:
        """Send to these (name, address) peers from now on."""
        self.names = {address.rstrip("/") + _ALERTS_PATH: name for name, address in peers if address}
        self.urls = list(self.names)

    async def send(self, body: list[dict[str, Any]]) -> bool:
        results = await asyncio.gather(*(self._to_peer(u, body) for u in self.urls))
        return any(results)

    async def _to_peer(self, url: str, body: list[dict[str, Any]]) -> bool:
        name = self.names.get(url, url)
        try:
            r = await self.client.post(url, json=body)
            why = "" if r.status_code // 100 == 2 else f"answered {r.status_code} {r.reason_phrase}"
        except httpx.HTTPError as e:
            why = f"could not be reached: {type(e).__name__}: {e}"
        counts = self.peer_stats.failed if why else self.peer_stats.sent
        counts[name] = counts.get(name, 0) + len(body)
        if not why:
            return True
        hint = " (set cluster.http_config to credentials its web config accepts)" if "401" in why or "403" in why else ""
        log.warning(f"cluster: alerts to peer {name} not delivered: it {why}{hint}",
                    extra={"peer": name, "url": url, "count": len(body)})
        return False


class PeerCollector(Collector):
    """``sloguard_cluster_peer_alerts_{sent,failed}_total{peer}``."""

    def __init__(self, stats: PeerStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        for kind, counts, doc in (("sent", self.stats.sent, "Alerts a peer replica accepted."),
                                  ("failed", self.stats.failed,
                                   "Alerts not delivered to a peer replica (refused, 5xx, unreachable).")):
            c = CounterMetricFamily(f"sloguard_cluster_peer_alerts_{kind}_total", doc, labels=["peer"])
            for peer, n in sorted(counts.items()):
                c.add_metric([peer], float(n))
            yield c


class PeerFanout:
    """The rule manager's ``NotifyFunc`` in a cluster without an external Alertmanager:
    alerts go to this replica's pipeline and to every other live replica's
    (``POST /api/v2/alerts``), as Prometheus sends to every Alertmanager of a cluster. So
    every pipeline holds every alert, a group that moves to another replica never looks
    resolved to the pipelines, and the shared notification log sends each notification once."""

    urls: list[str] = []  # no external Alertmanager: point_rules compares this

    def __init__(self, local: Any, coordinator: Coordinator, http: HTTPConfig | None = None,
                 stats: PeerStats | None = None) -> None:
        self.local = local
        self.coordinator = coordinator
        self.external_url = getattr(local, "external_url", "")
        self.stats = stats if stats is not None else PeerStats()
        self.labels = dict(getattr(local, "external_labels", {}))
        self.client = http_client(http if http is not None else HTTPConfig(), timeout_s=PEER_TIMEOUT_S)
        self.remote = PeerNotifier(self.labels, self.external_url, self.client, self.stats)
        #: The sender of the last welcome (each welcome has its own: a second newcomer must
        #: not take over the first one's queued alerts).
        self.newcomers = PeerNotifier(self.labels, self.external_url, self.client, self.stats)
        #: The last alerts sent per rule (alert name and expression): a replica that joins
        #: gets them at once, not at the next resend (a minute later by default).
        self.last: dict[str, Sequence[RuleAlert]] = {}
        coordinator.watch_members(self.welcome)

    async def __call__(self, expr: str, alerts: Sequence[RuleAlert]) -> None:
        await self.local(expr, alerts)
        if alerts:  # by rule: rules may share an expression, never an alert name and expression
            self.last[f"{dict(alerts[0].labels).get('alertname', '')}\x00{expr}"] = list(alerts)
        self.remote.point(self.coordinator.peers())
        if self.remote.urls:
            await self.remote(expr, alerts)

    async def welcome(self, joined: list[tuple[str, str]]) -> None:
        """Send the replicas that just joined every alert last sent."""
        newcomers = PeerNotifier(self.labels, self.external_url, self.client, self.stats)
        newcomers.point([(n, a) for n, a in joined if n != self.coordinator.name])
        if not newcomers.urls:
            return
        self.newcomers = newcomers
        for key, alerts in list(self.last.items()):
            await newcomers(key.split("\x00", 1)[1], alerts)
