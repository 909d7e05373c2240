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
from sloguard.remote._position import DEFAULT_MAX_KEPT_BYTES, PositionError, load_position, wal_keep
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
    "WriteStorage",
    "check_unique_names",
    "http_transport",
    "desired_shards",
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


class WriteStorage:
    """All ``remote_write`` queues of a server (Prometheus' ``WriteStorage``)."""

    def __init__(self, configs: Sequence[RemoteWriteConfig], wal_dir: Path, state_dir: Path, *,
                 clock: Clock | None = None, external_labels: Labels = _NO_LABELS,
                 transport: TransportFactory = http_transport, metadata: MetadataSource | None = None,
                 poll_ms: int = 25, flush_s: float = 5.0) -> None:
        check_unique_names(list(configs))
        self.clock = clock or SystemClock()
        self._transports = [transport(c) for c in configs]
        self.queues = [QueueManager(c, wal_dir, state_dir, t, clock=self.clock, external_labels=external_labels,
                                    poll_ms=poll_ms, flush_s=flush_s)
                       for c, t in zip(configs, self._transports, strict=True)]
        self._metadata = metadata
        self._meta_tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for q in self.queues:
            await q.start()
            if self._metadata is not None and q.cfg.metadata_config.send:
                self._meta_tasks.append(asyncio.create_task(self._metadata_loop(q), name=f"metadata-{q.name}"))

    async def stop(self) -> None:
        for t in self._meta_tasks:
            t.cancel()
        await asyncio.gather(*self._meta_tasks, return_exceptions=True)
        await asyncio.gather(*(q.stop() for q in self.queues))
        for tr in self._transports:
            close = getattr(tr, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

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
