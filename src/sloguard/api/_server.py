"""The ``sloguard serve`` process: storage, scrapes, HTTP, maintenance and signals on one loop.

Start order: open the storage (WAL replay), build the app, start the scrape manager and
uvicorn, then mark the server ready and print its URLs. SIGTERM/SIGINT stop HTTP and
scrapes, then flush and close the storage. SIGHUP reloads the config file and applies new
scrape configs, keeping the last good config when the new one is invalid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from prometheus_client import CollectorRegistry

from sloguard.api._alerting_setup import AlertingPlace, AlertingRunner, AlertingSetupError
from sloguard.api._backend_setup import reads, ruler_tsdb
from sloguard.api._cluster import ClusterRunner, ClusterSetupError
from sloguard.api._context import ServerContext
from sloguard.api._edge import (
    EdgeLimits,
    EdgeStats,
    connection_cap,
    install_accept_error_filter,
    raise_nofile_limit,
)
from sloguard.api._engine_setup import apply_parse_limits, query_settings
from sloguard.api._listen import ServeError, bind_listener, urls
from sloguard.api._query_status import record_reload
from sloguard.api._remote_write_setup import (
    RemoteWriteReloadError,
    prune_positions,
    reload_remote_write,
    start_remote_write,
)
from sloguard.api._rollout_setup import RolloutSetup, RolloutSetupError
from sloguard.api._rule_setup import RuleSetupError, point_rules, reload_rules, start_rules
from sloguard.api._scrapes import start_scrapes
from sloguard.api._slo_backends import slo_backends
from sloguard.api._slo_setup import SLOSetup
from sloguard.api._storage import DataDirInUse, DataDirLock, close_storage, maintain, open_storage
from sloguard.api._uvicorn import EdgeUvicorn, edge_server
from sloguard.api._webconfig import WebConfig, WebConfigError, ssl_context
from sloguard.config import Config, ConfigError, ServerMode, TSDBSettings, load_config
from sloguard.rules import AlertTiming
from sloguard.tsdb import Storage, TSDBError

log = logging.getLogger("sloguard.server")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``sloguard serve`` was asked to do (already validated)."""

    config_path: Path
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 9090
    maintenance_interval_s: float = 60.0
    flags: dict[str, str] = field(default_factory=dict)
    #: The web config (TLS, authentication, headers) and the limits on HTTP clients.
    web: WebConfig = field(default_factory=WebConfig)
    limits: EdgeLimits = field(default_factory=EdgeLimits)
    #: ``--web.enable-lifecycle``: allow ``POST /-/reload`` and ``/-/quit``.
    enable_lifecycle: bool = False
    #: How SIGHUP re-reads the config (default: ``load_config(config_path)``).
    loader: Callable[[], Config] | None = None
    #: ``--alerting.config`` (overrides ``alerting_config_file``), ``--state.url`` (overrides
    #: ``state.url``) and this replica's name among those sharing the state store.
    alerting_config: Path | None = None
    state_url: str | None = None
    peer_name: str = ""
    #: ``--rules.alert.*``: resend delay, ``for`` outage tolerance and grace period.
    alert_timing: AlertTiming = field(default_factory=AlertTiming)
    #: ``--event-loop``: auto (uvloop when installed), asyncio or uvloop.
    event_loop: str = "auto"
    #: ``--alerting.http-sender``: process (receivers' POSTs from a worker process) or inline.
    http_sender: str = "process"
    #: Injected for tests: how the storage is opened, and how the maintenance loop waits.
    storage_opener: Callable[[Path, TSDBSettings], Storage] = open_storage
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def load(self) -> Config:
        return self.loader() if self.loader is not None else load_config(self.config_path)


class _OpeningStorage:
    """Stands in for the storage while it opens; never reached (requests get 503)."""

    def appender(self, durable: bool = True) -> Any:
        raise TSDBError("the storage is still opening")

    def querier(self) -> Any:
        raise TSDBError("the storage is still opening")


class Server:
    """One running sloguard server. ``run()`` returns when a stop signal was handled."""

    def __init__(self, options: ServeOptions, config: Config, out: TextIO | None = None) -> None:
        self.options = options
        self.config = config
        #: The query bounds as the server started (reloads keep them until a restart).
        self._query = config.query
        self._out = out if out is not None else sys.stdout
        self._stop = asyncio.Event()
        self.ctx: ServerContext | None = None
        self._reload_task: asyncio.Future[bool] | None = None
        self._registry: CollectorRegistry | None = None
        self._lock = DataDirLock(options.data_dir)
        self._slos: SLOSetup | None = None
        self._alerting = AlertingRunner()
        self._rollouts = RolloutSetup()
        self._cluster = ClusterRunner()
        #: The TCP port HTTP listens on, once bound (useful with ``port=0``).
        self.bound_port: int | None = None
        self.edge_stats = EdgeStats()
        self._remote_write: Any = None  #: the remote-write queues (rules in ruler mode sync with them)

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Serve until stopped. HTTP comes up first and answers 503 while the storage
        opens (WAL replay), as Prometheus does; then scrapes start and ``/-/ready`` is 200."""
        from sloguard.api import create_app

        ctx = ServerContext(
            storage=_OpeningStorage(),
            config=self.config,
            flags=dict(self.options.flags),
            max_write_body_bytes=self.config.remote_write_receiver.max_body_bytes,
            start_time=time.time(),
            gate_until_ready=True,
            web_config=self.options.web,
            edge_stats=self.edge_stats,
        )
        ctx.settings["enable_lifecycle"] = self.options.enable_lifecycle
        ctx.settings["quit"] = self.request_stop
        record_reload(ctx.settings, ok=True)
        ctx.settings.update(query_settings(self._query))
        apply_parse_limits(self._query.max_parse_depth, self._query.max_parse_chain)
        self.ctx = ctx
        app = create_app(ctx)
        self._registry = app.state.registry
        uv = self._http_server(app)
        sock = bind_listener(self.options.host, self.options.port)
        self.bound_port = int(sock.getsockname()[1])
        serving = asyncio.create_task(uv.serve(sockets=[sock]), name="http")
        while not uv.started and not serving.done():
            await asyncio.sleep(0.02)
        if serving.done():
            serving.result()
            return
        try:
            with self._signals():
                await self._serve(ctx, uv, serving)
        finally:
            await self._shutdown(ctx, uv, serving)

    def _http_server(self, app: Any) -> EdgeUvicorn:
        """uvicorn with the edge limits, the connection cap below the open-files limit, and TLS."""
        nofile = raise_nofile_limit()
        limits = self.options.limits
        limits = replace(limits, max_connections=connection_cap(limits.max_connections, nofile))
        install_accept_error_filter()
        tls = self.options.web.tls
        try:
            context = ssl_context(tls) if tls is not None else None
        except WebConfigError as e:
            raise ServeError(str(e)) from None
        log.info("HTTP limits", extra={"max_connections": limits.max_connections, "open_files": nofile,
                                       "tls": tls is not None, "auth": self.options.web.requires_auth})
        return edge_server(app, self.options.host, self.options.port, limits, self.edge_stats, context)

    async def _serve(self, ctx: ServerContext, uv: EdgeUvicorn, serving: asyncio.Task[None]) -> None:
        try:
            o = self.options  # the cluster is checked before the storage opens
            ClusterRunner.check(self.config, o.state_url, o.web, o.flags.get("web.config.file", ""), self._config_file())
            self._lock.acquire()
        except (ClusterSetupError, DataDirInUse) as e:
            raise ServeError(str(e)) from None
        log.info("opening storage", extra={"data_dir": str(self.options.data_dir)})
        prune_positions(self.options.data_dir, self.config.remote_write)
        storage = await asyncio.to_thread(self.options.storage_opener, self.options.data_dir, ruler_tsdb(self.config))
        ctx.storage = storage
        if self._stop.is_set():
            return
        self._remote_write = await start_remote_write(  # before anything writes: all of it is sent
            self.config, self.options.data_dir, self._registry, self._metadata(ctx))
        r = reads(self.config, storage, self._query, self._config_file(), self._remote_write,
                  self.options.data_dir / "wal", self._registry)
        ctx.engine, ctx.storage = r.engine, r.rule_storage  # with a backend: appends local, reads remote
        backends = ctx.settings["slo_backends"] = slo_backends(self.config, r, self._query, self._config_file())
        slos = self._slo_setup(ctx)
        slo_rule_files = await asyncio.to_thread(slos.refresh)
        await self._start_alerting(ctx, uv)  # SLO grouping labels known: the SLO inhibit rule compares them
        try:
            await self._rollouts.start(ctx, self._config_file())  # on the alerting state store; resumes unfinished rollouts
        except RolloutSetupError as e:
            raise ServeError(str(e)) from None
        try:
            name = self.options.peer_name or f"{socket.gethostname()}:{self._port(uv)}"
            await self._cluster.open(ctx, self.config, self.options.state_url, name, self._root_url(uv),
                                     self._config_file(), self._registry)
            ctx.rule_manager = await start_rules(
                self.config, self._config_file(), r.rule_storage, ctx.engine, self._registry, query=r.rule_query,
                external_url=self._root_url(uv), slos=slos, in_process=self._alerting.in_process(self.config, self._root_url(uv)),
                slo_rule_files=slo_rule_files, timing=self.options.alert_timing,
                group_query=backends.group_query(lambda: slos.slos, slos.out),
                prepare=lambda m: self._cluster.attach_rules(m, self._config_file(), slos.out),
            )
            await self._cluster.start()
        except (RuleSetupError, ClusterSetupError) as e:
            raise ServeError(str(e)) from None
        ctx.settings["reload"] = self.reload_config  # POST /-/reload re-reads the config too
        ctx.scrape_manager = await start_scrapes(self.config, storage)
        ctx.ready = True
        self._announce(uv)
        maintenance = asyncio.create_task(self._maintenance(ctx), name="maintenance")
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
        maintenance.cancel()
        await asyncio.gather(maintenance, stop, return_exceptions=True)

    async def _shutdown(self, ctx: ServerContext, uv: EdgeUvicorn, serving: asyncio.Task[None]) -> None:
        log.info("shutting down")
        ctx.ready = False
        if ctx.rule_manager is not None:
            await ctx.rule_manager.stop()
        await self._cluster.stop()  # its leases released: the other replicas take over at once
        if ctx.scrape_manager is not None:
            await ctx.scrape_manager.stop()  # writes end-of-run staleness markers
        await self._rollouts.stop(ctx)  # before the state store closes with the pipeline
        ctx.alerting = None
        await self._alerting.stop()
        uv.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        if self._remote_write is not None:  # after the last writes (staleness markers), before the WAL closes
            await self._remote_write.stop()
        if not isinstance(ctx.storage, _OpeningStorage):
            await asyncio.to_thread(close_storage, ctx.storage)
            log.info("storage closed; bye")
        self._lock.release()

    async def _start_alerting(self, ctx: ServerContext, uv: EdgeUvicorn) -> None:
        o = self.options
        where = AlertingPlace(self._config_file(), o.alerting_config, o.data_dir, o.state_url,
                              o.peer_name or f"{socket.gethostname()}:{self._port(uv)}", self._root_url(uv),
                              o.http_sender)
        ctx.settings["external_url"] = where.root_url.rstrip("/")
        try:
            ctx.alerting = await self._alerting.start(self.config, where, self._grouping_labels(), self._registry)
        except AlertingSetupError as e:
            raise ServeError(str(e)) from None

    def _grouping_labels(self) -> set[str]:
        return {g for slo in (self._slos.slos if self._slos else []) for g in slo.grouping}

    def _slo_setup(self, ctx: ServerContext) -> SLOSetup:
        config_file = self._config_file()
        # slo_files are relative to the config file; for the bundled config, to its folder
        base = config_file.parent if config_file else Path(__file__).parents[1] / "examples"
        self._slos = SLOSetup(
            list(self.config.slo_files), str(base),
            self.options.data_dir / "generated" / "slo.rules.yml",
            interval_ms=self.config.global_.evaluation_interval, on_change=lambda slos: setattr(ctx, "slos", slos),
            backends=frozenset(self.config.query_backends), backend_of=dict(self.config.slo_query_backends),
        )
        return self._slos

    @staticmethod
    def _metadata(ctx: ServerContext | None) -> Callable[[], list[tuple[str, str, str, str]]]:
        return lambda: ctx.scrape_manager.metadata() if ctx is not None and ctx.scrape_manager is not None else []

    def _config_file(self) -> Path | None:
        """The config file on disk (``None`` for the bundled one): rule globs are relative to it."""
        return self.options.config_path if self.options.loader is None else None

    def _port(self, uv: EdgeUvicorn) -> int:
        with contextlib.suppress(Exception):
            return int(uv.servers[0].sockets[0].getsockname()[1])
        return self.options.port

    def _scheme(self) -> str:
        return "https" if self.options.web.tls is not None else "http"

    def _root_url(self, uv: EdgeUvicorn) -> str:
        return urls(self.options.host, self._port(uv), self._scheme())["UI and API"]

    def _announce(self, uv: EdgeUvicorn) -> None:
        shown = urls(self.options.host, self._port(uv), self._scheme())
        width = max(map(len, shown))
        config = self.options.flags.get("config.file", str(self.options.config_path))
        lines = [f"sloguard is ready (data dir {self.options.data_dir}, config {config})"]
        lines += [f"  {what:<{width}}  {url}" for what, url in shown.items()]
        print("\n".join(lines), file=self._out, flush=True)
        log.info("server is ready to receive requests", extra={"url": shown["UI and API"]})

    async def _maintenance(self, ctx: ServerContext) -> None:
        while True:
            await self.options.sleep(self.options.maintenance_interval_s)
            try:
                await asyncio.to_thread(maintain, ctx.storage)
            except Exception:
                log.exception("background compaction/retention failed; will retry")

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        handlers: dict[signal.Signals, Callable[[], None]] = {
            signal.SIGTERM: self._on_stop_signal,
            signal.SIGINT: self._on_stop_signal,
            signal.SIGHUP: self._on_reload_signal,
        }
        installed = []
        for sig, fn in handlers.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, fn)
                installed.append(sig)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _on_reload_signal(self) -> None:
        log.info("received SIGHUP; reloading the config and rule files")
        self._reload_task = asyncio.ensure_future(self.reload())

    def _on_stop_signal(self) -> None:
        log.info("received stop signal")
        self._stop.set()

    async def reload(self) -> bool:
        """SIGHUP: re-read the config file, then the rule files; each keeps its last good
        state on error. The outcome shows in the runtime info and on ``/metrics``."""
        ok = await self.reload_config() is None
        ctx = self.ctx
        if ctx is not None and ctx.rule_manager is not None:
            ok = await asyncio.to_thread(reload_rules, ctx.rule_manager) and ok
        if ctx is not None:
            record_reload(ctx.settings, ok)
        return ok

    async def reload_config(self) -> str | None:
        """Re-read the config file and apply its scrape configs; keep the old one on error.
        Returns why the reload failed (Prometheus' wording), ``None`` when it worked."""
        try:
            config = await asyncio.to_thread(self.options.load)
        except ConfigError as e:
            log.error("config reload failed; keeping the last good config", extra={"err": str(e)})
            return f'couldn\'t load configuration (--config.file="{self.options.config_path}"): {e}'
        config = config.model_copy(update={"mode": self.config.mode})  # as started (--mode or mode:)
        ctx = self.ctx
        try:  # first: a remote_write that cannot be applied fails the whole reload
            self._remote_write = await reload_remote_write(self._remote_write, config, self.options.data_dir, self._registry,
                                                           self._metadata(ctx), config.mode is ServerMode.RULER)
        except RemoteWriteReloadError as e:
            log.error("config reload failed; keeping the last good config", extra={"err": str(e)})
            return f'one or more errors occurred while applying the new configuration (--config.file="{self.options.config_path}"): {e}'
        if ctx is not None and ctx.scrape_manager is not None:
            await ctx.scrape_manager.apply(config)
        if ctx is not None and ctx.rule_manager is not None:
            point_rules(ctx.rule_manager, config, self._config_file(), self._slos, self._alerting.notifier)
        if ctx is not None:
            ctx.config = config
            ctx.max_write_body_bytes = config.remote_write_receiver.max_body_bytes
        if config.storage != self.config.storage or config.state != self.config.state \
                or config.backend() != self.config.backend() or config.cluster != self.config.cluster:
            log.warning("storage, state, cluster or query_backend settings changed; they take effect at the next restart")
        self.config = config
        log.info("config reloaded", extra={"file": str(self.options.config_path)})
        return await self._alerting.reload(config, self._grouping_labels())


def serve(options: ServeOptions, config: Config) -> None:
    """Run the server until SIGTERM/SIGINT (blocking), on the event loop the options name."""
    from sloguard._eventloop import run

    run(Server(options, config).run(), options.event_loop)
