"""The server in a cluster (``cluster:`` in the config): its coordinator, what it shares
out (rule groups, SLO rule groups, rollouts) and ``GET /api/v1/status/cluster``.

``cluster.enabled`` needs a PostgreSQL state store (``state.url`` or ``--state.url``): a
SQLite file serves one replica, and the server refuses to start clustered on one. The
coordinator opens its own connection pool, so a round stuck on a partitioned database
never holds the connections the alerting pipeline and the API use.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sloguard.api._alerting_setup import InProcessNotifier
from sloguard.api._context import ServerContext
from sloguard.api._http import ApiError, api_endpoint, success
from sloguard.api._peers import (
    PeerAuthError,
    PeerCollector,
    PeerFanout,
    PeerStats,
    check_peer_auth,
    peer_http_config,
)
from sloguard.api._webconfig import WebConfig
from sloguard.cluster import ClusterOptions, Coordinator, Source, cluster_status
from sloguard.config import Config
from sloguard.promql import ErrorType
from sloguard.rules import Group, RuleManager
from sloguard.state import StateError, open_store

log = logging.getLogger("sloguard.server")

RULES = "rules/"
ROLLOUTS = "rollouts/"
_FINISHED = ("Healthy", "Degraded")


class ClusterSetupError(Exception):
    """The server cannot join its cluster (SQLite state store, database away); says why."""


def check_cluster_config(config: Config, state_url: str | None) -> str:
    """The PostgreSQL URL a clustered server uses; ``ClusterSetupError`` for anything else."""
    url = state_url or config.state.url
    if not url.startswith(("postgresql:", "postgresql+", "postgres:")):
        shown = url.split("://", 1)[0] + "://..." if url else "the SQLite file state.db in the data directory"
        raise ClusterSetupError(
            f"cluster.enabled is true but the state store is {shown}; a cluster needs a PostgreSQL "
            "state store shared by every replica (state.url or --state.url: postgresql://USER@HOST:PORT/DB). "
            "A SQLite state store serves a single replica: set cluster.enabled to false."
        )
    return url


def advertised(url: str) -> str:
    """``url`` with a wildcard host (``0.0.0.0``, ``::``) replaced by this host's address
    (in Kubernetes, the pod's IP: its hostname resolves to it), so peers can reach it."""
    parts = urlsplit(url)
    if parts.hostname not in ("0.0.0.0", "::"):
        return url
    try:
        ip = socket.gethostbyname(socket.gethostname())
    except OSError:
        log.warning("cluster: this host's address is unknown; set cluster.advertise_url", extra={"url": url})
        return url
    return urlunsplit(parts._replace(netloc=f"{ip}:{parts.port}" if parts.port else ip))


def shard_key_for(config_path: Path | None, slo_rules: Path | None) -> Callable[[Group], str]:
    """A group's key among the replicas: ``rules/<file>;<group>`` with the file relative to
    the config file's folder, and ``slo`` for the generated SLO rules (whose path names the
    replica's own data directory)."""
    base = config_path.parent.resolve() if config_path is not None else None
    slo = slo_rules.resolve() if slo_rules is not None else None

    known: dict[tuple[str, str], str] = {}

    def key(g: Group) -> str:  # asked every round for every group: resolved once
        found = known.get((g.file, g.name))
        if found is None:
            found = known[(g.file, g.name)] = _key(g)
        return found

    def _key(g: Group) -> str:
        path = Path(g.file).resolve()
        if slo is not None and path == slo:
            return f"{RULES}slo;{g.name}"
        if base is not None and path.is_relative_to(base):
            return f"{RULES}{path.relative_to(base)};{g.name}"
        return f"{RULES}{g.file};{g.name}"

    return key


class ClusterRunner:
    """The server's coordinator: created before the rules and rollouts start, rounds
    running once they are attached, stopped (its leases released) at shutdown."""

    def __init__(self) -> None:
        self.coordinator: Coordinator | None = None
        self._store: Any = None
        self.peer_stats = PeerStats()
        self._http: Any = None

    @staticmethod
    def check(config: Config, state_url: str | None, web: WebConfig | None = None, web_file: str = "",
              config_path: Path | None = None) -> None:
        """``ClusterSetupError`` when ``cluster.enabled`` cannot work (checked at start): no
        PostgreSQL, or peers that this replica's own web config would refuse."""
        if config.cluster.enabled:
            check_cluster_config(config, state_url)
            try:
                check_peer_auth(config, web or WebConfig(), web_file, config_path)
            except PeerAuthError as e:
                raise ClusterSetupError(str(e)) from None

    async def open(self, ctx: ServerContext, config: Config, state_url: str | None, name: str,
                   address: str, config_path: Path | None = None, registry: Any = None) -> Coordinator | None:
        """The coordinator, when ``cluster.enabled`` (None otherwise): on ``ctx`` for the
        status endpoint, with the served rollouts shared out under it; the peer-call
        counters on ``registry``."""
        c = config.cluster
        if not c.enabled:
            return None
        self._http = peer_http_config(config, config_path)
        if registry is not None:
            registry.register(PeerCollector(self.peer_stats))
        url = check_cluster_config(config, state_url)
        try:
            self._store = await asyncio.to_thread(open_store, url)
        except StateError as e:
            raise ClusterSetupError(f"cannot open the cluster's state store: {e}") from None
        options = ClusterOptions(c.replica_name or name, c.advertise_url or advertised(address),
                                 c.heartbeat_interval, c.lease_ttl)
        self.coordinator = ctx.settings["cluster"] = Coordinator(self._store, options)
        self.attach_rollouts(ctx.rollouts)
        return self.coordinator

    def attach_rules(self, manager: RuleManager, config_path: Path | None, slo_rules: Path | None) -> None:
        """Evaluate only this replica's share of the groups (call before the manager starts)."""
        c = self.coordinator
        if c is None:
            return
        manager.ownership = c
        if isinstance(manager.notify, InProcessNotifier):
            manager.notify = PeerFanout(manager.notify, c, self._http, self.peer_stats)
        manager.shard_key = shard_key_for(config_path, slo_rules)
        margin = c.options.margin_ms  # the replicas' clocks may differ by this much

        async def catch_up(key: str, previous_expiry: int) -> None:
            if previous_expiry:  # 0: released by its holder at an unknown time, or never held
                manager.catch_up(key, previous_expiry + margin)

        c.add_source(Source("rules", lambda: [manager.shard_key(g) for g in manager.groups()], catch_up))

    def attach_rollouts(self, service: Any) -> None:
        """Drive only this replica's share of the unfinished rollouts."""
        c = self.coordinator
        if c is None or service is None:
            return
        service.owns = lambda name: c.owns(ROLLOUTS + name)

        def unfinished() -> list[str]:
            return [ROLLOUTS + r.name for r in service.repo.list() if r.phase not in _FINISHED]

        async def adopt(key: str, previous_expiry: int) -> None:
            await service.adopt(key.removeprefix(ROLLOUTS), previous_expiry)

        c.add_source(Source("rollouts", unfinished, adopt))

    async def start(self) -> None:
        if self.coordinator is not None:
            await self.coordinator.start()
            log.info("cluster: joined", extra={"replica": self.coordinator.name,
                                               "members": list(self.coordinator.members),
                                               "keys_held": len(self.coordinator.held)})

    async def stop(self) -> None:
        c, self.coordinator = self.coordinator, None
        if c is not None:
            await c.stop()
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """``GET /api/v1/status/cluster``: ``{"enabled": false}`` on a single replica."""

    @api_endpoint
    async def status_cluster(request: Request) -> Response:
        c = ctx.settings.get("cluster")
        if c is None:
            return success({"enabled": False, "replicas": [], "leases": []})
        try:
            return success(await asyncio.wait_for(asyncio.to_thread(cluster_status, c), 10))
        except (StateError, TimeoutError) as e:
            why = str(e) or "it did not answer within 10 s"
            raise ApiError(f"The cluster's state database cannot be read: {why}", ErrorType.UNAVAILABLE, 503) from None

    return [Route("/api/v1/status/cluster", status_cluster, methods=["GET"])]
