"""Remote write out: what sloguard appends to its TSDB, sent to ``remote_write`` URLs.

``WriteStorage(configs, wal_dir, state_dir)`` runs one ``QueueManager`` per entry (see
``_queue`` for the pipeline and ``_send`` for the retry rules); ``start()`` and
``stop()`` bracket it, ``collector()`` puts Prometheus' ``prometheus_remote_storage_*``
metrics on ``/metrics``. Open the TSDB with ``TSDBOptions(wal_keep=wal_keep(state_dir,
wal_dir))`` so that it keeps the WAL segments a queue has not sent yet.

Metadata (``metadata_config``) comes from a ``MetadataSource`` and is sent every
``send_interval`` in requests of at most ``max_samples_per_send`` entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from prometheus_client.registry import Collector

from sloguard.clock import Clock, SystemClock
from sloguard.labels import Labels
from sloguard.remote._aiotransport import AiohttpTransport, make_transport
from sloguard.remote._encode import Metadata, encode_metadata
from sloguard.remote._errors import RemoteError
from sloguard.remote._position import (
    DEFAULT_MAX_KEPT_BYTES,
    PositionError,
    forget_position,
    load_position,
    wal_keep,
)
from sloguard.remote._queue import QueueManager
from sloguard.remote._send import (
    HTTPXTransport,
    Outcome,
    RetryPolicy,
    SendResponse,
    Transport,
    retry_after_ms,
    send_with_backoff,
)
from sloguard.remote._shards import ShardInputs, desired_shards
from sloguard.remote._walwatch import WALChunk, WALPosition, WALWatcher, wal_end
from sloguard.remote._wconfig import (
    MetadataConfig,
    QueueConfig,
    RemoteWriteConfig,
    check_unique_names,
)
from sloguard.remote._wmetrics import QueueMetrics, RemoteWriteCollector

__all__ = [
    "AiohttpTransport",
    "DEFAULT_MAX_KEPT_BYTES",
    "HTTPXTransport",
    "Metadata",
    "MetadataConfig",
    "MetadataSource",
    "Outcome",
    "PositionError",
    "QueueConfig",
    "QueueManager",
    "QueueMetrics",
    "RemoteWriteConfig",
    "RetryPolicy",
    "SendResponse",
    "ShardInputs",
    "Transport",
    "TransportFactory",
    "WALChunk",
    "WALPosition",
    "WALWatcher",
    "WriteConfigError",
    "WriteStorage",
    "check_unique_names",
    "http_transport",
    "desired_shards",
    "forget_position",
    "load_position",
    "retry_after_ms",
    "send_with_backoff",
    "wal_end",
    "wal_keep",
]

log = logging.getLogger("sloguard.remote")
_NO_LABELS = Labels()

#: What metadata to send: every metric family's type, help and unit.
MetadataSource = Callable[[], Sequence[Metadata]]
#: Builds the transport of one entry (tests pass fakes).
TransportFactory = Callable[[RemoteWriteConfig], Transport]


def http_transport(cfg: RemoteWriteConfig) -> Transport:
    """The real transport of ``cfg``: its HTTP client settings, ``remote_timeout``."""
    return make_transport(cfg.http_config(), cfg.url, cfg.remote_timeout / 1000)


class WriteConfigError(RemoteError):
    """A new ``remote_write`` config that cannot be applied (its client cannot be built,
    a position file is unreadable); the running queues are kept. The message names the queue."""


class WriteStorage:
    """All ``remote_write`` queues of a server (Prometheus' ``WriteStorage``). ``apply``
    changes them on a reload: unchanged queues keep running, removed ones stop (and their
    position is forgotten), new and changed ones start; a changed queue resumes from its
    stored position, so nothing acknowledged to a writer is lost or sent twice over."""

    def __init__(self, configs: Sequence[RemoteWriteConfig], wal_dir: Path, state_dir: Path, *,
                 clock: Clock | None = None, external_labels: Labels = _NO_LABELS,
                 transport: TransportFactory = http_transport, metadata: MetadataSource | None = None,
                 poll_ms: int = 25, flush_s: float = 5.0) -> None:
        check_unique_names(list(configs))
        self.clock = clock or SystemClock()
        self.wal_dir, self.state_dir = wal_dir, state_dir
        self.external_labels = external_labels
        self._factory, self._poll_ms, self._flush_s = transport, poll_ms, flush_s
        self._transports: dict[str, Transport] = {}
        built = self._build(configs, positions=False)  # WriteConfigError naming the queue
        self.queues = [self._queue(c, built[c.queue_name]) for c in configs]
        self._metadata = metadata
        self._meta_tasks: dict[str, asyncio.Task[None]] = {}

    def _queue(self, cfg: RemoteWriteConfig, transport: Transport) -> QueueManager:
        self._transports[cfg.queue_name] = transport
        return QueueManager(cfg, self.wal_dir, self.state_dir, transport, clock=self.clock,
                            external_labels=self.external_labels, poll_ms=self._poll_ms, flush_s=self._flush_s)

    async def start(self) -> None:
        for q in self.queues:
            await self._start(q)

    async def _start(self, q: QueueManager) -> None:
        await q.start()
        if self._metadata is not None and q.cfg.metadata_config.send:
            self._meta_tasks[q.name] = asyncio.create_task(self._metadata_loop(q), name=f"metadata-{q.name}")

    async def stop(self) -> None:
        await asyncio.gather(*(self._stop(q) for q in self.queues))

    async def _stop(self, q: QueueManager) -> None:
        task = self._meta_tasks.pop(q.name, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await q.stop()
        close = getattr(self._transports.pop(q.name, None), "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()

    async def apply(self, configs: Sequence[RemoteWriteConfig], external_labels: Labels = _NO_LABELS) -> list[str]:
        """Change the queues to ``configs`` (Prometheus' ``ApplyConfig``); returns what changed
        (``kept vm``, ``restarted vm``, ``stopped old``, ``started new``). A queue is kept
        when its whole entry and the external labels are unchanged. ``WriteConfigError``
        (before anything stops) when a new or changed queue cannot be built."""
        try:
            check_unique_names(list(configs))
        except ValueError as e:
            raise WriteConfigError(str(e)) from None
        labels_same = external_labels == self.external_labels
        running = {q.name: q for q in self.queues}
        keep = {c.queue_name for c in configs
                if labels_same and c.queue_name in running and running[c.queue_name].cfg == c}
        fresh = [c for c in configs if c.queue_name not in keep]
        transports = self._build(fresh)
        gone = [q for q in self.queues if q.name not in keep]
        await asyncio.gather(*(self._stop(q) for q in gone))
        new_names = {c.queue_name for c in configs}
        for q in gone:
            if q.name not in new_names:
                forget_position(self.state_dir, q.name)
        self.external_labels = external_labels
        queues = {**{n: running[n] for n in keep}, **{c.queue_name: self._queue(c, transports[c.queue_name])
                                                      for c in fresh}}
        self.queues = [queues[c.queue_name] for c in configs]
        for c in fresh:
            await self._start(queues[c.queue_name])
        return ([f"kept {n}" for n in sorted(keep)] + [f"stopped {q.name}" for q in gone if q.name not in new_names]
                + [f"{'restarted' if c.queue_name in running else 'started'} {c.queue_name}" for c in fresh])

    def _build(self, configs: Sequence[RemoteWriteConfig], positions: bool = True) -> dict[str, Transport]:
        """The transports of the queues to start, their positions checked: all or nothing."""
        out: dict[str, Transport] = {}
        try:
            for c in configs:
                if positions:
                    load_position(self.state_dir, c.queue_name)
                out[c.queue_name] = self._factory(c)
        except Exception as e:  # any failure keeps the running queues (the clients built are dropped)
            raise WriteConfigError(f"remote_write {c.queue_name} ({c.url}): {e}") from None
        return out

    def collector(self) -> Collector:
        return RemoteWriteCollector(lambda: self.queues)

    async def _metadata_loop(self, q: QueueManager) -> None:
        mc = q.cfg.metadata_config
        while True:
            try:
                await self.send_metadata(q)
            except Exception:  # a bad source must not end the loop
                log.exception("remote write metadata send failed", extra={"remote_name": q.name})
            await self.clock.sleep_until(self.clock.now_ms() + mc.send_interval)

    async def send_metadata(self, q: QueueManager) -> None:
        """Send the source's metadata once, in requests of ``max_samples_per_send``."""
        assert self._metadata is not None
        items = list(self._metadata())
        per = q.cfg.metadata_config.max_samples_per_send
        for a in range(0, len(items), per):
            part = items[a:a + per]
            body = encode_metadata(part).body

            def retried(_: SendResponse, n: int = len(part)) -> None:
                q.metrics.metadata_retried_total += n

            outcome, resp = await send_with_backoff(partial(q.transport.post, body, q.headers), q.policy,
                                                    self.clock, lambda: False, retried)
            if outcome is Outcome.SENT:
                q.metrics.metadata_total += len(part)
            else:
                q.metrics.metadata_failed_total += len(part)
                log.error("remote write metadata dropped", extra={"remote_name": q.name, "err": resp.error})
