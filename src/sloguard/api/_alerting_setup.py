"""The server's built-in alerting pipeline: its config, its state store, the in-process
path from the rule evaluator, reloads and metrics.

The Alertmanager config comes from ``--alerting.config`` or the server config's
``alerting_config_file`` (relative to that file); without one, alerts go to the built-in
log route. The SLO inhibit rule is added unless ``alerting_slo_inhibit: false``. A reload
that fails keeps the running config; the outcome is logged and shown on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from sloguard.alerting import AlertingConfigError, load_config
from sloguard.alerting.config import AlertmanagerConfig
from sloguard.alerting.core import AlertingCore
from sloguard.alerting.defaults import DEFAULT_RECEIVER, default_config, with_slo_inhibit
from sloguard.alerting.model import Alert as PipelineAlert
from sloguard.alerting.notify_template import TemplateError
from sloguard.api._alerting_metrics import AlertingCollector, ReloadStatus
from sloguard.config import Config
from sloguard.rules import Alert as RuleAlert
from sloguard.rules._notifier import prepare_postable, to_postable
from sloguard.state import StateError

log = logging.getLogger("sloguard.server")


@dataclass(frozen=True, slots=True)
class LoadedAlerting:
    """An Alertmanager config ready to apply, with where it came from."""

    config: AlertmanagerConfig
    text: str
    source: str
    log_receivers: frozenset[str]


def alerting_config_path(config: Config, config_path: Path | None, override: Path | None) -> Path | None:
    """``--alerting.config`` if given, else ``alerting_config_file`` relative to the config file."""
    if override is not None:
        return override
    if not config.alerting_config_file:
        return None
    p = Path(config.alerting_config_file)
    return p if p.is_absolute() or config_path is None else config_path.parent / p


def load_alerting(config: Config, path: Path | None, grouping_labels: Iterable[str] = ()) -> LoadedAlerting:
    """Read the Alertmanager config (or the built-in one); ``AlertingConfigError`` if bad."""
    from sloguard.alerting._dump import dump_config

    cfg = load_config(path) if path is not None else default_config()
    logged = frozenset() if path is not None else frozenset({DEFAULT_RECEIVER})
    if config.alerting_slo_inhibit:
        cfg = with_slo_inhibit(cfg, grouping_labels)
    return LoadedAlerting(cfg, dump_config(cfg), str(path) if path else cfg.file, logged)


class InProcessNotifier:
    """A rule manager ``NotifyFunc`` handing alerts to the built-in pipeline, with
    Prometheus' ``sendAlerts`` treatment (start, end or ``valid_until``, generator URL,
    external labels)."""

    urls: list[str] = []  # no external Alertmanager: point_rules compares this

    def __init__(self, core: Callable[[], AlertingCore | None], external_labels: dict[str, str],
                 external_url: str) -> None:
        self._core = core
        self.external_labels = dict(external_labels)
        self.external_url = external_url.rstrip("/")
        self.sent = 0

    async def __call__(self, expr: str, alerts: Sequence[RuleAlert]) -> None:
        core = self._core()
        if core is None:
            return
        out = []
        for a in alerts:
            p = prepare_postable(to_postable(a, expr, self.external_url), self.external_labels)
            if p is not None:
                out.append(PipelineAlert(p.labels, p.annotations, p.starts_at, p.ends_at, p.generator_url))
        core.receive(out)
        self.sent += len(out)


def reload_failed(source: str, e: Exception) -> str:
    """The log/API text for a rejected alerting config."""
    return f"couldn't load the alerting configuration ({source}): {e}"


class AlertingSetupError(Exception):
    """The pipeline cannot start (bad alerting config, state store unreachable); says why."""


@dataclass(frozen=True, slots=True)
class AlertingPlace:
    """Where this server's pipeline finds its config and state, and who it is."""

    config_path: Path | None
    alerting_config: Path | None
    data_dir: Path
    state_url: str | None
    peer_name: str
    root_url: str
    #: ``--alerting.http-sender``: the receivers' shared POSTs from a worker process, or inline.
    http_sender: str = "process"


class AlertingRunner:
    """The server's pipeline: started once, reloaded with the config, stopped at shutdown."""

    def __init__(self) -> None:
        self.core: AlertingCore | None = None
        self.status = ReloadStatus()
        self.notifier: InProcessNotifier | None = None
        self._place: AlertingPlace | None = None

    def in_process(self, config: Config, root_url: str) -> InProcessNotifier:
        """The rule manager's path into the pipeline (used when no Alertmanager is configured)."""
        self.notifier = InProcessNotifier(lambda: self.core, dict(config.global_.external_labels), root_url)
        return self.notifier

    async def start(self, config: Config, where: AlertingPlace, grouping: Iterable[str],
                    registry: CollectorRegistry | None) -> AlertingCore:
        from sloguard.alerting.core import CoreOptions
        from sloguard.clock import SystemClock
        from sloguard.state import open_store

        path = alerting_config_path(config, where.config_path, where.alerting_config)
        try:
            loaded = load_alerting(config, path, grouping)
        except AlertingConfigError as e:
            raise AlertingSetupError(f"cannot load the alerting config: {e}") from None
        try:
            store = await asyncio.to_thread(open_store, where.state_url or config.state.url or None,
                                            data_dir=where.data_dir)
        except StateError as e:
            raise AlertingSetupError(f"cannot open the state store: {e}") from None
        root = where.root_url.rstrip("/")
        options = CoreOptions(where.peer_name, root, root, loaded.log_receivers,
                              http_sender=where.http_sender == "process")
        self.core = AlertingCore(loaded.config, loaded.text, store, SystemClock(), options)
        self._place = where
        try:
            await self.core.start()
        except TemplateError as e:
            raise AlertingSetupError(f"cannot load the alerting templates: {e}") from None
        if registry is not None:
            registry.register(AlertingCollector(lambda: self.core, self.status))
        log.info("alerting pipeline started", extra={"config": loaded.source, "state": store.url,
                                                     "peer": where.peer_name})
        return self.core

    async def reload(self, config: Config, grouping: Iterable[str]) -> str | None:
        """Re-read the alerting config and swap it in; keep the running one on error."""
        core, where = self.core, self._place
        if core is None or where is None:
            return None
        path = alerting_config_path(config, where.config_path, where.alerting_config)
        try:
            loaded = await asyncio.to_thread(load_alerting, config, path, grouping)
        except AlertingConfigError as e:
            error = reload_failed(str(path), e)
            log.error("alerting config reload failed; keeping the running config", extra={"err": str(e)})
            self.status.record(error)
            return error
        try:
            await core.apply_config(loaded.config, loaded.text)
        except TemplateError as e:
            error = reload_failed(str(path), e)
            log.error("alerting templates failed to load; keeping the running config", extra={"err": str(e)})
            self.status.record(error)
            return error
        self.status.record(None)
        log.info("alerting config reloaded", extra={"config": loaded.source})
        return None

    async def stop(self) -> None:
        core, self.core = self.core, None
        if core is not None:
            await core.stop()
            await asyncio.to_thread(core.store.close)
