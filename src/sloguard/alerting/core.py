"""The running pipeline: alert store, dispatcher and stages over one state store.

:class:`AlertingCore` implements :class:`~sloguard.alerting.service.AlertingService`.
``apply_config`` swaps the configuration whole, as Alertmanager's reload does: the old
dispatcher stops, a new one is built and the alert store replays every alert to it (its
groups wait ``group_wait`` again; the notification log keeps them from repeating what was
sent). Maintenance runs on the injected clock: alerts resolved and notified are dropped
every ``gc_interval_ms``, silences past their retention and expired nflog entries too,
and this replica's heartbeat in the peer table is renewed every ``heartbeat_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from sloguard.alerting._nflog_async import BatchedNflog
from sloguard.alerting.config import AlertmanagerConfig
from sloguard.alerting.dispatch import Dispatcher
from sloguard.alerting.history import HistoryRecorder
from sloguard.alerting.marker import AlertMark, Marker
from sloguard.alerting.model import Alert
from sloguard.alerting.pipeline import (
    Pipeline,
    PipelineDeps,
    PipelineStats,
    build_pipeline,
    uses_shared_client,
)
from sloguard.alerting.provider import AlertStore
from sloguard.alerting.route import build_route
from sloguard.alerting.service import AlertView, GroupView, Peer
from sloguard.clock import Clock
from sloguard.state import AlertHistoryRepository, SilenceRepository, SqlStateStore
from sloguard.state.alert_history import DEFAULT_MAX_ROWS, DEFAULT_RETENTION_MS

if TYPE_CHECKING:
    from sloguard.alerting._aioclient import SharedClient

log = logging.getLogger("sloguard.alerting")

__all__ = ["AlertingCore", "CoreOptions"]


@dataclass(frozen=True, slots=True)
class CoreOptions:
    """How one replica runs its pipeline (``peer_name`` must differ between replicas)."""

    peer_name: str
    peer_address: str = ""
    external_url: str = ""
    log_receivers: frozenset[str] = frozenset()
    gc_interval_ms: int = 30 * 60_000
    silence_retention_ms: int = 120 * 3_600_000
    heartbeat_ms: int = 5_000
    peer_ttl_ms: int = 15_000
    history_flush_ms: int = 1_000
    history_retention_ms: int = DEFAULT_RETENTION_MS
    history_max_rows: int = DEFAULT_MAX_ROWS
    #: Send the shared client's POSTs from a worker process (a second core; the server's way).
    http_sender: bool = False


def shared_client(sender: bool = False) -> SharedClient:
    """The client receivers without their own ``http_config`` share: httpx's API on
    aiohttp's connection pool (httpx's own pool costs about 1 ms of CPU per request and
    slows down further with thousands of requests waiting; aiohttp's keeps a flush of
    10,000 groups within the benchmark). ``post_json`` posts through its lean HTTP/1.1
    client instead, in a worker process when ``sender`` (see
    :class:`~sloguard.alerting._aioclient.SharedClient`)."""
    from sloguard.alerting._aioclient import SharedClient

    return SharedClient(sender)


class AlertingCore:
    """Alertmanager's core in one object; start it, feed it alerts, reload it, stop it."""

    def __init__(self, config: AlertmanagerConfig, config_text: str, store: SqlStateStore,
                 clock: Clock, options: CoreOptions, http: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self._config_text = config_text
        self._store = store
        self._clock = clock
        self.options = options
        self._shared: SharedClient | None = None  # the client made here (closed here too)
        if http is None:
            http = self._shared = shared_client(options.http_sender)
        self._http = http
        self.marker = Marker()
        self.alert_store = AlertStore(clock, self.marker)
        #: Notification counters by integration type, kept across reloads.
        self.stats = PipelineStats()
        #: The notification log's calls of concurrent flushes, one transaction per round.
        self.nflog = BatchedNflog(store.nflog)
        #: Alerts fired and resolved, on their way to the state store's alert history.
        self.history = HistoryRecorder(store.alert_history.record, clock)
        self._unsubscribe_history: Callable[[], None] | None = None
        self._dispatcher: Dispatcher | None = None
        self._pipeline: Pipeline | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # --- AlertingService -------------------------------------------------------------
    @property
    def config(self) -> AlertmanagerConfig:
        return self._config

    @property
    def config_text(self) -> str:
        return self._config_text

    @property
    def silences(self) -> SilenceRepository:
        return self._store.silences

    @property
    def store(self) -> SqlStateStore:
        """The state store the pipeline keeps silences and the notification log in."""
        return self._store

    @property
    def alert_history(self) -> AlertHistoryRepository:
        return self._store.alert_history

    @property
    def peer_name(self) -> str:
        return self.options.peer_name

    def now_ms(self) -> int:
        return self._clock.now_ms()

    def receive(self, alerts: Sequence[Alert]) -> None:
        self.alert_store.receive(alerts, self._config.global_config.resolve_timeout_ms)

    def held(self) -> list[Alert]:
        """Every alert the pipeline holds, unjudged: cheap, for readers of labels only."""
        return self.alert_store.list()

    def judge(self, alert: Alert) -> AlertMark:
        """Judge ``alert``'s inhibition and silences now; its mark. An alert collected since
        the caller listed it is not marked again: its mark would stay, and be counted, forever."""
        if self._pipeline is not None and self.alert_store.get(alert.fingerprint) is not None:
            self._pipeline.mark(alert.labels)
        return self.marker.status(alert.fingerprint)

    def view(self, alert: Alert) -> AlertView:
        """``alert`` judged now (:meth:`judge`), with its receivers."""
        d = self._dispatcher
        return AlertView(alert, self.judge(alert), d.receivers_of(alert) if d else ())

    def alerts(self) -> list[AlertView]:
        """Every alert, its inhibition and silences judged now (as Alertmanager's API does)."""
        return [self.view(a) for a in self.held()]

    @property
    def dispatcher(self) -> Dispatcher | None:
        """The running dispatcher (its counters are on ``/metrics``)."""
        return self._dispatcher

    async def groups(self) -> list[GroupView]:
        return await self._dispatcher.groups() if self._dispatcher is not None else []

    def peers(self) -> list[Peer]:
        return [Peer(name, address) for name, address in self._store.peers.live()]

    # --- life cycle ------------------------------------------------------------------
    async def start(self) -> None:
        """Start dispatching, the maintenance loop and this replica's heartbeat."""
        await self._heartbeat()
        self._unsubscribe_history = self.alert_store.subscribe(self.history.observe)
        await self._start_dispatcher()
        self._prestart_sender()
        o = self.options
        self._tasks = [asyncio.create_task(self._every(o.heartbeat_ms, self._heartbeat), name="peer-heartbeat"),
                       asyncio.create_task(self._every(o.gc_interval_ms, self._gc), name="alerting-gc"),
                       asyncio.create_task(self._every(o.history_flush_ms, self.flush_history), name="alert-history")]

    async def apply_config(self, config: AlertmanagerConfig, config_text: str) -> None:
        """Swap the configuration whole. The new pipeline is built first: a template that
        cannot be read raises ``TemplateError`` and the running configuration stays."""
        pipeline = self._build(config)
        if self._dispatcher is not None:
            await self._dispatcher.stop()
        self._config, self._config_text = config, config_text
        await self._start_dispatcher(pipeline)
        self._prestart_sender()

    def _prestart_sender(self) -> None:
        """Start the HTTP sender process now when the configuration will post through it, so
        the first notification does not wait for a process to start."""
        if self._shared is not None and uses_shared_client(self._config):
            self._shared.prestart()

    async def stop(self) -> None:
        """Stop dispatching (an in-flight notification is cancelled) and leave the peer table."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._dispatcher is not None:
            await self._dispatcher.stop()
        if self._unsubscribe_history is not None:
            self._unsubscribe_history()
        with contextlib.suppress(Exception):
            await self.flush_history()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._store.peers.leave, self.options.peer_name)
        if self._shared is not None:
            await self._shared.aclose()

    def _build(self, config: AlertmanagerConfig) -> Pipeline:
        deps = PipelineDeps(
            store=self._store, marker=self.marker, clock=self._clock, peer=self.options.peer_name,
            firing_alerts=lambda: self.alert_store.firing(self._clock.now_ms()),
            external_url=self.options.external_url, http=self._http, log_receivers=self.options.log_receivers,
            run_db=asyncio.to_thread, stats=self.stats, nflog=self.nflog,
            alerts_version=lambda: self.alert_store.version,
        )
        return build_pipeline(config, deps)

    async def _start_dispatcher(self, pipeline: Pipeline | None = None) -> None:
        self._pipeline = pipeline or self._build(self._config)
        route = build_route(self._config.route)
        self._dispatcher = Dispatcher(route, self._pipeline, self.alert_store, self._clock, self.marker)
        await self._dispatcher.start()

    async def _every(self, period_ms: int, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now_ms() + period_ms)
            try:
                await job()
            except Exception:  # a database away for a while: logged, tried again next period
                log.exception("alerting maintenance failed; will retry", extra={"job": job.__name__})

    async def _heartbeat(self) -> None:
        o = self.options
        await asyncio.to_thread(self._store.peers.heartbeat, o.peer_name, o.peer_address, o.peer_ttl_ms)
        await asyncio.to_thread(self._store.peers.gc)

    async def flush_history(self) -> None:
        """Record alerts that ended without an update, then write the queued history events."""
        self.history.sweep(self.alert_store.get)
        await self.history.flush()

    async def _gc(self) -> None:
        self.history.sweep(self.alert_store.get, full=True)  # before the resolved alerts go
        dropped = self.alert_store.gc()  # in memory, on the loop
        o = self.options
        silences = await asyncio.to_thread(self._store.silences.gc, o.silence_retention_ms)
        entries = await asyncio.to_thread(self._store.nflog.gc)
        events = await asyncio.to_thread(self._store.alert_history.gc, o.history_retention_ms, o.history_max_rows)
        log.debug("alerting gc", extra={"alerts": dropped, "silences": silences, "nflog": entries, "history": events})
