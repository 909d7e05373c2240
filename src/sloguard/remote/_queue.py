"""One ``remote_write`` endpoint's queue: WAL watcher -> shard buffers -> shards -> HTTP.

The reader task tails the WAL (``WALWatcher``), turns each new series into its encoded
labels (external labels added, then ``write_relabel_configs``; a dropped series sends
nothing), and spreads samples over the shards by a hash of the series, so one series
always goes through one shard and its samples stay in order. A shard buffer is cut into
a batch at ``max_samples_per_send`` samples, or when its oldest sample waited
``batch_send_deadline``; each shard sends its batches one at a time with the retry
rules of ``_send``, from a queue of ``capacity`` samples whose being full holds the
reader back. After each acknowledgement, the WAL position before every unsent sample is
stored (``_batches``, ``_position``). The shard count follows ``_shards`` every 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sloguard.clock import Clock
from sloguard.ingest.relabel import relabel
from sloguard.labels import Labels
from sloguard.remote._batches import Batch, ShardBuffer, Tracker
from sloguard.remote._encode import encode_labels, encode_samples
from sloguard.remote._position import load_position, store_position
from sloguard.remote._send import Outcome, RetryPolicy, SendResponse, Transport, send_with_backoff
from sloguard.remote._shards import SHARD_UPDATE_S, EWMARate, ShardInputs, desired_shards
from sloguard.remote._walwatch import WALChunk, WALPosition, WALWatcher, wal_end
from sloguard.remote._wconfig import RemoteWriteConfig
from sloguard.remote._wmetrics import QueueMetrics

log = logging.getLogger("sloguard.remote")
_NO_LABELS = Labels()
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "User-Agent": "sloguard", "X-Prometheus-Remote-Write-Version": "0.1.0"}


class QueueManager:
    """Sends what the TSDB writes to its WAL to one ``remote_write`` endpoint (Prometheus'
    ``QueueManager``). ``start`` resumes at the stored position (a new queue starts at
    the WAL's end); ``stop`` sends what it can within ``flush_s`` and stores the position."""

    def __init__(self, cfg: RemoteWriteConfig, wal_dir: Path, state_dir: Path, transport: Transport, *,
                 clock: Clock, external_labels: Labels = _NO_LABELS, poll_ms: int = 25, flush_s: float = 5.0) -> None:
        self.cfg, self.q = cfg, cfg.queue_config
        self.name, self.url = cfg.queue_name, cfg.url
        self.min_shards, self.max_shards, self.capacity = self.q.min_shards, self.q.max_shards, self.q.capacity
        self.wal_dir, self.state_dir = wal_dir, state_dir
        self.transport, self.clock = transport, clock
        self.metrics = QueueMetrics()
        self._ext = external_labels
        self._poll_ms, self._flush_s = poll_ms, flush_s
        self.headers = {**cfg.headers, **HEADERS}
        self.policy = RetryPolicy(self.q.min_backoff, self.q.max_backoff, self.q.retry_on_http_429)
        self._labels: list[bytes | None] = []
        self._keys = np.zeros(0, np.int64)  # shard hash per ref; -1: dropped or unknown
        self._tracker = Tracker()
        self._stored: WALPosition | None = None
        self._stopping = False
        self._watcher: WALWatcher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._shards: list[tuple[ShardBuffer, asyncio.Queue[Batch | None], asyncio.Task[None]]] = []
        self._want_shards = self.q.min_shards
        self._last_ok_ms = clock.now_ms()
        self._rates = {k: EWMARate() for k in ("in", "out", "dropped", "seconds")}

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pos = load_position(self.state_dir, self.name)
        if pos is None:
            pos = wal_end(self.wal_dir)
            self._store(pos)
        self._stored = pos
        self._watcher = await asyncio.to_thread(WALWatcher, self.wal_dir, pos)
        self._start_shards(self.q.min_shards)
        self._tasks = [asyncio.create_task(self._read_loop(), name=f"remote-write-{self.name}"),
                       asyncio.create_task(self._shard_loop(), name=f"remote-write-{self.name}-shards")]
        log.info("remote write queue started", extra={"remote_name": self.name, "url": self.url,
                                                     "segment": pos.segment, "offset": pos.offset})

    async def stop(self) -> None:
        """Flush buffered samples (at most ``flush_s``), then stop; unsent ones go next time."""
        reader = self._tasks[0] if self._tasks else None
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if reader is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._drain(flush_all=True), self._flush_s)
        for _, _, task in self._shards:
            task.cancel()
        await asyncio.gather(*(t for *_, t in self._shards), return_exceptions=True)
        self._commit()
        if self._watcher is not None:
            self._watcher.close()

    @property
    def stored_position(self) -> WALPosition | None:
        """The WAL position last stored: every sample before it was acknowledged."""
        return self._stored

    async def flush_now(self) -> None:
        """Cut every buffered sample into batches now, not at ``batch_send_deadline``
        (read-your-writes in ruler mode)."""
        await self._cut(lambda buf: buf.count > 0, whole=True)

    # -- reading -------------------------------------------------------------------
    async def _read_loop(self) -> None:
        assert self._watcher is not None
        while not self._stopping:
            if self._want_shards != len(self._shards):
                await self._reshard(self._want_shards)
            chunk = self._watcher.read()  # page-cache reads of at most 1 MiB: cheaper than a thread hop
            if chunk is not None:
                await self._take(chunk)
            await self._flush_due()
            if chunk is None:
                await self.clock.sleep_until(self.clock.now_ms() + self._poll_ms)

    async def _take(self, chunk: WALChunk) -> None:
        if chunk.reset:  # buffered samples leave with the label table of their refs
            await self._cut(lambda buf: buf.count > 0, whole=True)
            self._labels, self._keys = [], np.zeros(0, np.int64)
        self._add_series(chunk.series)
        seq = self._tracker.open(chunk.end)
        n = len(chunk.refs)
        self.metrics.samples_in_total += n
        self._rates["in"].add(n)
        if n:
            self.metrics.highest_in_s = max(self.metrics.highest_in_s, float(chunk.t.max()) / 1000)
            await self._distribute(seq, chunk)
        self._tracker.close()
        self._commit()

    def _add_series(self, series: list[tuple[int, Labels]]) -> None:
        if not series:
            return
        top = max(r for r, _ in series) + 1
        if top > len(self._labels):
            self._labels.extend([None] * (top - len(self._labels)))
            self._keys = np.concatenate([self._keys, np.full(top - len(self._keys), -1, np.int64)])
        for ref, labels in series:
            out = relabel(self._with_external(labels), self.cfg.write_relabel_configs)
            lb = encode_labels(out) if out else None
            self._labels[ref] = lb
            self._keys[ref] = -1 if lb is None else hash(lb) & 0x7FFF_FFFF

    def _with_external(self, labels: Labels) -> Labels:
        if not self._ext:
            return labels
        extra = [(k, v) for k, v in self._ext if not labels.has(k)]
        return Labels([*labels, *extra]) if extra else labels

    async def _distribute(self, seq: int, chunk: WALChunk) -> None:
        refs = chunk.refs
        keys = self._keys[np.minimum(refs, len(self._keys) - 1)] if len(self._keys) else np.full(len(refs), -1)
        keys = np.where(refs < len(self._keys), keys, -1)
        keep = keys >= 0
        dropped = int(len(refs) - keep.sum())
        self.metrics.samples_dropped_total += dropped
        self._rates["dropped"].add(dropped)
        now = self.clock.now_ms()
        t, v = chunk.t, chunk.v
        if dropped:
            refs, t, v, keys = refs[keep], t[keep], v[keep], keys[keep]
        if len(self._shards) == 1:
            self._shards[0][0].add(seq, refs, t, v, now)
            self.metrics.samples_pending += len(refs)
            await self._drain(flush_all=False)
            return
        shard = keys % len(self._shards)
        order = np.argsort(shard, kind="stable")
        bounds = np.searchsorted(shard[order], np.arange(len(self._shards) + 1))
        for i, (buf, _, _) in enumerate(self._shards):
            sel = order[bounds[i]:bounds[i + 1]]
            if len(sel):
                buf.add(seq, refs[sel], t[sel], v[sel], now)
                self.metrics.samples_pending += len(sel)
        await self._drain(flush_all=False)

    async def _drain(self, flush_all: bool) -> None:
        """Cut full batches (all buffered samples if ``flush_all``, and then wait until
        they were sent) into the shard queues."""
        per = self.q.max_samples_per_send
        await self._cut(lambda buf: buf.count >= per or (flush_all and buf.count > 0), whole=flush_all)
        if flush_all:
            await asyncio.gather(*(q.join() for _, q, _ in self._shards))

    async def _flush_due(self) -> None:
        now = self.clock.now_ms()
        await self._cut(lambda buf: buf.count > 0 and now - buf.since_ms >= self.q.batch_send_deadline, whole=True)

    async def _cut(self, due: Callable[[ShardBuffer], bool], whole: bool) -> None:
        """Cut the buffers for which ``due`` holds into batches of ``max_samples_per_send``
        (and the rest too if ``whole``) and queue them; a full queue holds the reader."""
        per = self.q.max_samples_per_send
        for buf, q, _ in self._shards:
            if not due(buf):
                continue
            while buf.count >= per or (whole and buf.count):
                batch = buf.take(per, self._labels, self.clock.now_ms())
                self._tracker.sent(batch)
                await q.put(batch)

    # -- sending -------------------------------------------------------------------
    def _start_shards(self, n: int) -> None:
        size = max(1, self.q.capacity // self.q.max_samples_per_send)
        self._shards = []
        for i in range(n):
            q: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=size)
            self._shards.append((ShardBuffer(), q, asyncio.create_task(self._run_shard(q), name=f"shard-{i}")))
        self.metrics.shards = n

    async def _reshard(self, n: int) -> None:
        """Send everything buffered with the old shards, then start ``n`` new ones."""
        await self._drain(flush_all=True)
        for _, q, _ in self._shards:
            await q.put(None)
        await asyncio.gather(*(t for *_, t in self._shards), return_exceptions=True)
        log.info("remote write resharding", extra={"remote_name": self.name, "from": len(self._shards), "to": n})
        self._start_shards(n)

    async def _run_shard(self, q: asyncio.Queue[Batch | None]) -> None:
        while True:
            batch = await q.get()
            try:
                if batch is None:
                    return
                await self._send(batch)
            except Exception as e:  # a bug, not the remote's fault: count it, keep the shard alive
                log.exception("remote write shard failed on a batch", extra={"remote_name": self.name})
                if batch is not None:
                    self._done(batch, f"{type(e).__name__}: {e}")
            finally:
                q.task_done()

    async def _send(self, batch: Batch) -> None:
        enc = encode_samples(batch.labels, batch.refs, batch.t, batch.v)  # ~1 ms; a thread hop costs more
        m = self.metrics

        def on_retry(resp: SendResponse) -> None:
            m.samples_retried_total += len(batch)
            log.warning("remote write send failed, retrying", extra={"remote_name": self.name, "err": resp.error})

        started = time.perf_counter()
        outcome, resp = await send_with_backoff(lambda: self.transport.post(enc.body, self.headers), self.policy,
                                                self.clock, lambda: self._stopping, on_retry)
        if outcome is Outcome.STOPPED:
            return  # not acknowledged: its position is not stored, the next start sends it again
        m.sent_batches += 1
        m.sent_batch_seconds += time.perf_counter() - started
        self._rates["seconds"].add(time.perf_counter() - started)
        if outcome is Outcome.SENT:
            m.samples_total += len(batch)
            m.bytes_total += len(enc.body)
            m.highest_sent_s = max(m.highest_sent_s, enc.max_t / 1000)
            self._rates["out"].add(len(batch))
            self._last_ok_ms = self.clock.now_ms()
            m.samples_pending -= len(batch)
            self._tracker.acked(batch)
            self._commit()
        else:
            self._done(batch, resp.error)

    def _done(self, batch: Batch, err: str) -> None:
        """A batch that will never be sent: dropped, counted, and passed over."""
        self.metrics.samples_failed_total += len(batch)
        self.metrics.samples_pending -= len(batch)
        log.error("remote write batch dropped: not recoverable", extra={
            "remote_name": self.name, "url": self.url, "samples": len(batch), "err": err})
        self._tracker.acked(batch)
        self._commit()

    def _commit(self) -> None:
        buffered = [b.lo for b, _, _ in self._shards if b.lo is not None]
        pos = self._tracker.committable(min(buffered, default=None))
        if pos is not None and pos != self._stored:
            self._store(pos)

    def _store(self, pos: WALPosition) -> None:
        try:
            store_position(self.state_dir, self.name, pos, self.url)
        except OSError as e:
            log.error("cannot store the remote write position", extra={"remote_name": self.name, "err": str(e)})
            return
        self._stored = pos
        self.metrics.positions_stored += 1

    # -- shard count -----------------------------------------------------------------
    async def _shard_loop(self) -> None:
        while not self._stopping:
            await self.clock.sleep_until(self.clock.now_ms() + int(SHARD_UPDATE_S * 1000))
            for r in self._rates.values():
                r.tick()
            self._want_shards = self.desired()

    def desired(self) -> int:
        """The shard count for now (unchanged while sends fail, as in Prometheus)."""
        if self.clock.now_ms() - self._last_ok_ms > 2 * self.q.batch_send_deadline:
            return len(self._shards)
        r, m = self._rates, self.metrics
        want = desired_shards(ShardInputs(r["in"].rate, r["out"].rate, r["dropped"].rate, r["seconds"].rate,
                                          m.highest_in_s, m.highest_sent_s, len(self._shards),
                                          self.q.min_shards, self.q.max_shards))
        m.shards_desired = want
        return want
