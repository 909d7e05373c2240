"""The notification pipeline of a configuration: :func:`build_pipeline` gives the
:data:`~sloguard.alerting.stages.NotifyFunc` the dispatcher calls once per group flush.

Per receiver it is Alertmanager's chain, as data::

    inhibit mute -> time active -> time mute -> silence mute -> fan-out over integrations:
        dedup with the HA claim -> retry -> set-notifies

(a receiver with one integration runs its three stages inline, without the fan-out).

Replicas sharing one state store agree through the notification log's claims (see
:class:`~sloguard.alerting._stage_notify.DedupStage` and docs/alerting.md, "HA").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import httpx

from sloguard.alerting._nflog_async import AsyncNflog, Blocking, InlineNflog, run_inline
from sloguard.alerting._stage_chain import (
    Branch,
    FanoutStage,
    IntegrationStage,
    MultiStage,
    RoutingStage,
)
from sloguard.alerting._stage_mute import (
    DEFAULT_SILENCE_REFRESH_MS,
    InhibitMuter,
    MuteStage,
    SilenceMuter,
)
from sloguard.alerting._stage_notify import (
    DEFAULT_NFLOG_RETENTION_MS,
    MIN_TIMEOUT_MS,
    DedupStage,
    SetNotifiesStage,
)
from sloguard.alerting._stage_retry import PipelineStats, RetryStage
from sloguard.alerting._stage_time import TimeActiveStage, TimeMuteStage
from sloguard.alerting.config import AlertmanagerConfig
from sloguard.alerting.inhibit import Inhibitor
from sloguard.alerting.marker import Marker
from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import NotificationTemplate
from sloguard.alerting.receivers import (
    Backoff,
    Notifier,
    NotifyContext,
    NotifyResult,
    build_notifier,
    shares_client,
)
from sloguard.alerting.stages import Deferred, FlushContext, Stage, StageError
from sloguard.alerting.timeinterval import intervals_from_config
from sloguard.clock import Clock
from sloguard.labels import Labels
from sloguard.state import NflogReceiver, StateStore

__all__ = ["LOG_INTEGRATION", "LogNotifier", "Pipeline", "PipelineDeps", "PipelineStats", "build_pipeline",
           "uses_shared_client"]

log = logging.getLogger("sloguard.alerting")

LOG_INTEGRATION = "log"
"""The built-in integration of ``log_receivers``: each notification becomes a log line."""


@dataclass(frozen=True, slots=True)
class PipelineDeps:
    """What a pipeline runs with besides its configuration.

    ``firing_alerts`` gives every alert the pipeline holds (inhibition's sources); ``peer``
    is this replica's name in the HA claims; ``run_db`` runs the notification log's calls
    (inline by default; ``asyncio.to_thread`` keeps a slow database off the event loop);
    ``stats`` outlives reloads when the caller keeps passing the same one.
    """

    store: StateStore
    marker: Marker
    firing_alerts: Callable[[], Sequence[Alert]]
    clock: Clock
    peer: str
    external_url: str = ""
    http: httpx.AsyncClient | None = None
    log_receivers: frozenset[str] = frozenset()
    notify_timeout_s: float = 10.0
    backoff: Backoff = Backoff()
    nflog_retention_ms: int = DEFAULT_NFLOG_RETENTION_MS
    silence_refresh_ms: int = DEFAULT_SILENCE_REFRESH_MS
    run_db: Blocking = run_inline
    stats: PipelineStats = field(default_factory=PipelineStats)
    #: The notification log as the stages call it (default: the store's, each call
    #: through ``run_db``); a server passes a ``BatchedNflog`` shared across reloads.
    nflog: AsyncNflog | None = None
    #: A number that changes whenever ``firing_alerts`` would change (the alert store's
    #: ``version``): inhibition keeps its index of sources while it stays the same.
    alerts_version: Callable[[], int] | None = None


class LogNotifier:
    """Writes each notification to the ``sloguard.alerting`` log (receiver, group labels,
    how many alerts fire and resolved, their alert names); never fails."""

    def send_resolved(self) -> bool:
        return True

    async def notify(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> NotifyResult:
        firing = sum(1 for a in alerts if not a.resolved_at(ctx.now_ms))
        names = sorted({a.labels.get("alertname") for a in alerts} - {""})
        log.info("notification", extra={
            "receiver": ctx.receiver, "group": str(ctx.group_labels), "firing": firing,
            "resolved": len(alerts) - firing, "alertnames": ",".join(names),
        })
        return NotifyResult.success()


class Pipeline:
    """A built pipeline: call it as the dispatcher's ``NotifyFunc``. A flush without a
    deadline gets Alertmanager's: group_interval (at least 10 s) after its ``now_ms``.

    False when an integration failed, or when another replica holds the flush (it is not
    known to be sent yet: the group keeps its resolved alerts and a later flush finds the
    other replica's log entry, or takes the flush over if that replica died)."""

    __slots__ = ("inhibit", "receivers", "silences", "stage", "stats")

    def __init__(self, stage: Stage, receivers: Iterable[str], silences: SilenceMuter, stats: PipelineStats,
                 inhibit: InhibitMuter) -> None:
        self.stage = stage
        self.receivers = tuple(receivers)
        self.silences = silences
        self.stats = stats
        self.inhibit = inhibit

    def mark(self, labels: Labels) -> None:
        """Judge inhibition and silences for ``labels`` now and mark the alert, as
        Alertmanager's API does before it answers ``GET /api/v2/alerts``."""
        self.inhibit.mutes(labels)
        self.silences.mutes(labels)

    async def __call__(self, ctx: FlushContext, alerts: Sequence[Alert]) -> bool:
        if ctx.deadline_ms is None:
            ctx = replace(ctx, deadline_ms=ctx.now_ms + max(ctx.route.group_interval_ms, MIN_TIMEOUT_MS))
        try:
            await self.stage.exec(ctx, alerts)
        except Deferred as e:
            log.debug("another replica sends this flush", extra={"receiver": ctx.receiver, "err": str(e)})
            return False
        except StageError as e:
            log.error("notify for alerts failed", extra={
                "receiver": ctx.receiver, "group": ctx.group_key, "num_alerts": len(alerts), "err": str(e)})
            return False
        except Exception:  # a bug in a stage must not take the dispatcher down with it
            log.exception("notify for alerts failed unexpectedly", extra={
                "receiver": ctx.receiver, "group": ctx.group_key, "num_alerts": len(alerts)})
            return False
        return True


_KINDS = ("webhook", "email", "pagerduty", "slack")  # Alertmanager's integration order


def uses_shared_client(config: AlertmanagerConfig) -> bool:
    """Whether some integration of ``config`` posts through the shared client (``deps.http``)."""
    return any(shares_client(cfg) for rcv in config.receivers for kind in _KINDS
               for cfg in getattr(rcv, f"{kind}_configs"))


def _notifiers(config: AlertmanagerConfig, name: str, tmpl: NotificationTemplate,
               deps: PipelineDeps) -> list[tuple[str, int, Notifier]]:
    found: list[tuple[str, int, Notifier]] = []
    rcv = next((r for r in config.receivers if r.name == name), None)
    for kind in _KINDS if rcv is not None else ():
        for idx, cfg in enumerate(getattr(rcv, f"{kind}_configs")):
            found.append((kind, idx, build_notifier(cfg, tmpl, deps.http)))
    if name in deps.log_receivers:
        found.append((LOG_INTEGRATION, 0, LogNotifier()))
    return found


def _integration_chain(name: str, kind: str, idx: int, notifier: Notifier,
                       deps: PipelineDeps) -> tuple[str, tuple[Stage, ...]]:
    """The integration's label (``name/type[idx]``) and its stages."""
    recv = NflogReceiver(name, kind, idx)
    label = f"{name}/{kind}[{idx}]"
    nflog = deps.nflog or InlineNflog(deps.store.nflog, deps.run_db)
    retry = RetryStage(notifier, label, deps.clock, deps.stats.integration(kind), backoff=deps.backoff,
                       timeout_s=deps.notify_timeout_s, external_url=deps.external_url)
    return label, (
        DedupStage(nflog, recv, notifier.send_resolved(), deps.peer),
        retry,
        SetNotifiesStage(nflog, recv, deps.clock, deps.nflog_retention_ms),
    )


def build_pipeline(config: AlertmanagerConfig, deps: PipelineDeps) -> Pipeline:
    """The pipeline of ``config`` (its receivers, inhibit rules, time intervals and
    templates). Raises ``TemplateError`` when a template file cannot be read or parsed."""
    tmpl = NotificationTemplate.from_globs(config.templates, "", deps.external_url)
    intervals = intervals_from_config(config)
    silences = SilenceMuter(deps.store.silences, deps.marker, deps.clock, deps.silence_refresh_ms,
                            reader=None if deps.run_db is run_inline else deps.run_db)
    inhibit = InhibitMuter(Inhibitor.from_config(config), deps.marker, deps.firing_alerts, deps.clock,
                           deps.alerts_version)
    shared: tuple[Stage, ...] = (
        MuteStage(inhibit),
        TimeActiveStage(intervals),
        TimeMuteStage(intervals),
        MuteStage(silences),
    )
    names = sorted({r.name for r in config.receivers} | deps.log_receivers)
    routes: dict[str, Stage] = {}
    for name in names:
        chains = [_integration_chain(name, kind, idx, n, deps) for kind, idx, n in _notifiers(config, name, tmpl, deps)]
        if len(chains) == 1:  # the common case: the integration's stages inline (see IntegrationStage)
            (label, stages), = chains
            routes[name] = MultiStage(*shared, IntegrationStage(label), *stages)
        else:
            routes[name] = MultiStage(*shared, FanoutStage([Branch(label, MultiStage(*st)) for label, st in chains]))
    return Pipeline(RoutingStage(routes), names, silences, deps.stats, inhibit)
