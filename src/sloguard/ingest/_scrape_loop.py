"""One target's scrape loop: fetch, parse, label, relabel, append, staleness, report.

Per scrape (Prometheus 2.42's ``scrapeAndReport``): samples without a timestamp (or all,
with ``honor_timestamps: false``) get the scrape time; target labels are attached with
``honor_labels`` semantics (conflicts become ``exported_<name>``); ``metric_relabel_configs``
apply; the samples go through one appender and are committed at once. Series that were in
the previous scrape but not in this one get a staleness marker; a failed scrape marks all
of them stale. Then the report series (``up``, ``scrape_duration_seconds``, ...) are
committed in a second appender, since ``scrape_series_added`` needs the first commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import numpy as np

from sloguard.gofmt import go_quote
from sloguard.ingest._scrape_clock import Clock
from sloguard.ingest._scrape_http import ScrapeError, fetch, request_headers
from sloguard.ingest._scrape_target import Target
from sloguard.ingest.exposition import NO_TIMESTAMP, ExpositionError, MetricMetadata, parse
from sloguard.ingest.relabel import relabel
from sloguard.ingest.scrape_config import ScrapeConfig
from sloguard.labels import METRIC_NAME, Labels, is_valid_label_name, is_valid_metric_name
from sloguard.tsdb import STALE_NAN, Storage

log = logging.getLogger("sloguard.ingest.scrape")

REPORT_NAMES = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)


@dataclass(frozen=True, slots=True)
class ScrapeResult:
    """What one scrape did; ``error`` is ``None`` when ``up`` is 1."""

    timestamp_ms: int
    duration_s: float
    scraped: int
    post_relabel: int
    series_added: int
    stale_marked: int
    error: str | None


def merge_target_labels(lset: Labels, target: Labels, honor: bool) -> Labels:
    """Attach target labels to a scraped label set (Prometheus' ``mutateSampleLabels``)."""
    d = dict(lset)
    if honor:
        for name, value in target:
            d.setdefault(name, value)
        return Labels(d.items())
    target_names = {n for n, _ in target}
    for name, value in target:
        exposed = d.get(name)
        if exposed:
            new = "exported_" + name
            while new in d or new in target_names:
                new = "exported_" + new
            d[new] = exposed
        d[name] = value
    return Labels(d.items())


def _mutate(raw: Labels, target: Labels, config: ScrapeConfig) -> Labels | None | ScrapeError:
    lset = merge_target_labels(raw, target, config.honor_labels)
    out = relabel(lset, config.metric_relabel_configs)
    if out is None or len(out) == 0:
        return None
    name = out.get(METRIC_NAME)
    if not name:
        return ScrapeError("missing metric name (__name__ label)")
    if not is_valid_metric_name(name) or not all(is_valid_label_name(n) for n, _ in out):
        return ScrapeError(f"invalid metric name or label names: {out}")
    return out


class ScrapeLoop:
    """Scrapes one target every interval until stopped."""

    def __init__(
        self,
        target: Target,
        config: ScrapeConfig,
        storage: Storage,
        client: httpx.AsyncClient,
        clock: Clock,
        seed: int = 0,
        on_result: Callable[[ScrapeLoop, ScrapeResult], None] | None = None,
    ) -> None:
        self.target = target
        self.config = config
        self._storage = storage
        self._client = client
        self._clock = clock
        self._seed = seed
        self._on_result = on_result
        self._series_labels = target.series_labels
        self._prev: set[Labels] = set()
        self._label_cache: dict[Labels, Labels | None | ScrapeError] = {}
        self.scrapes_ok = 0
        self.scrapes_failed = 0
        self._parse_cache: dict[bytes, Labels] = {}
        self.last: ScrapeResult | None = None
        #: Set by the manager to fail every scrape without fetching (e.g. target_limit).
        self.forced_error: str | None = None
        self.last_scrape_wall: float | None = None
        #: HELP/TYPE/UNIT by metric family from the last successful scrape.
        self.metadata: dict[str, MetricMetadata] = {}
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self, mark_stale: bool = True) -> None:
        """Cancel the loop; mark every series of the last scrape and the report series stale."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if mark_stale and self.last is not None:
            self._end_of_run_staleness()

    def take_over(self, old: ScrapeLoop) -> None:
        """Continue staleness tracking of a replaced loop of the same target (reload)."""
        self._prev = old._prev
        self.last, self.last_scrape_wall = old.last, old.last_scrape_wall
        self.metadata = old.metadata

    async def run(self) -> None:
        interval = self.target.interval_ms / 1000
        now = self._clock.now()
        await self._clock.sleep(self.target.offset_ms(int(now * 1000), self._seed) / 1000)
        next_at = self._clock.now()
        while True:
            try:
                await self.scrape_once()
            except Exception:  # one bad scrape must never end the loop
                log.exception("scrape of %s failed unexpectedly", self.target.url)
            next_at += interval
            now = self._clock.now()
            if next_at <= now:  # we fell behind: skip missed ticks, keep the phase
                next_at += interval * ((now - next_at) // interval + 1)
            await self._clock.sleep(next_at - now)

    # -- one scrape ------------------------------------------------------------------

    async def scrape_once(self) -> ScrapeResult:
        start = self._clock.now()
        ts_ms = int(start * 1000)
        error: str | None = None
        scraped = 0
        rows: list[tuple[Labels, int, float]] = []
        try:
            if self.forced_error is not None:
                raise ScrapeError(self.forced_error)
            body, ctype = await fetch(
                self._client,
                self.target.url,
                request_headers(self.config, self.target.timeout_ms),
                self.target.timeout_ms,
                self.config.body_size_limit,
            )
            parsed = parse(body, ctype, self._parse_cache)
            scraped = len(parsed)
            self.metadata = parsed.metadata
            rows = self._samples(parsed.labels, parsed.timestamps, parsed.values, ts_ms)
        except (ScrapeError, ExpositionError) as e:
            error = str(e)
            rows = []
        except Exception as e:  # anything else still counts as a failed scrape, not a dead loop
            log.exception("unexpected error scraping %s", self.target.url)
            error = f"{type(e).__name__}: {e}"
            rows = []
        duration = self._clock.now() - start
        added, stale = self._commit(rows, ts_ms, error is None)
        result = ScrapeResult(ts_ms, duration, scraped, len(rows), added, stale, error)
        self._report(result)
        self.last, self.last_scrape_wall = result, start
        if error is None:
            self.scrapes_ok += 1
        else:
            self.scrapes_failed += 1
        if self._on_result is not None:
            self._on_result(self, result)
        if error is not None:
            log.warning("scrape failed: target=%s error=%s", self.target.url, error)
        return result

    def _final_labels(self, raw: Labels) -> Labels | None:
        """Target labels + metric relabeling, cached per scraped label set.

        ``None`` means dropped by relabeling; a result without a metric name or with an
        invalid name fails the scrape, as in Prometheus.
        """
        try:
            out = self._label_cache[raw]
        except KeyError:
            out = self._label_cache[raw] = _mutate(raw, self._series_labels, self.config)
        if isinstance(out, ScrapeError):
            raise out
        return out

    def _samples(
        self, labels: Sequence[Labels], ts: np.ndarray, vs: np.ndarray, ts_ms: int
    ) -> list[tuple[Labels, int, float]]:
        if self.config.honor_timestamps:
            times = np.where(ts == NO_TIMESTAMP, ts_ms, ts).tolist()
        else:
            times = [ts_ms] * len(labels)
        if len(self._label_cache) > 2 * len(labels) + 1000:
            self._label_cache.clear()
            self._parse_cache.clear()
        final = self._final_labels
        rows = [
            (out, t, v)
            for raw, t, v in zip(labels, times, vs.tolist(), strict=True)
            if (out := final(raw)) is not None
        ]
        self._check_limits(rows)
        return rows

    def _check_limits(self, rows: list[tuple[Labels, int, float]]) -> None:
        c = self.config
        if c.sample_limit and len(rows) > c.sample_limit:
            raise ScrapeError(f"sample limit exceeded (samples: {len(rows)}, limit: {c.sample_limit})")
        if not (c.label_limit or c.label_name_length_limit or c.label_value_length_limit):
            return
        for lset, _, _ in rows:
            if c.label_limit and len(lset) > c.label_limit:
                raise ScrapeError(
                    f"label_limit exceeded (metric: {lset.metric_name[:50]}, "
                    f"number of labels: {len(lset)}, limit: {c.label_limit})"
                )
            for n, v in lset:
                if c.label_name_length_limit and len(n) > c.label_name_length_limit:
                    raise ScrapeError(f"label_name_length_limit exceeded (metric: {lset.metric_name[:50]}, label name: {n[:50]}, length: {len(n)}, limit: {c.label_name_length_limit})")
                if c.label_value_length_limit and len(v) > c.label_value_length_limit:
                    raise ScrapeError(f"label_value_length_limit exceeded (metric: {lset.metric_name[:50]}, label name: {n[:50]}, value: {go_quote(v[:50])}, length: {len(v)}, limit: {c.label_value_length_limit})")

    def _commit(self, rows: list[tuple[Labels, int, float]], ts_ms: int, ok: bool) -> tuple[int, int]:
        """Append the scrape and its staleness markers atomically; return (added, stale)."""
        app = self._storage.appender()
        cur: set[Labels] = set()
        track_all = not self.config.honor_timestamps
        for lset, t, v in rows:
            app.append(lset, t, v)
            if track_all or t == ts_ms:
                cur.add(lset)
        gone = self._prev - cur if ok else self._prev
        for lset in gone:
            app.append(lset, ts_ms, STALE_NAN)
        try:
            res = app.commit()
        except Exception:
            log.exception("committing scrape of %s failed", self.target.url)
            app.rollback()
            return 0, 0
        for msg in res.errors[:3]:
            log.debug("scrape append rejected: target=%s %s", self.target.url, msg)
        self._prev = cur
        return res.series_added, len(gone)

    def _report_labels(self, name: str) -> Labels:
        return merge_target_labels(Labels([(METRIC_NAME, name)]), self._series_labels, False)

    def _report(self, r: ScrapeResult) -> None:
        values = (
            1.0 if r.error is None else 0.0,
            r.duration_s,
            float(r.scraped),
            float(r.post_relabel),
            float(r.series_added),
        )
        app = self._storage.appender()
        for name, v in zip(REPORT_NAMES, values, strict=True):
            app.append(self._report_labels(name), r.timestamp_ms, v)
        app.commit()

    def _end_of_run_staleness(self) -> None:
        ts_ms = int(self._clock.now() * 1000)
        if self.last is not None and ts_ms <= self.last.timestamp_ms:
            ts_ms = self.last.timestamp_ms + 1
        app = self._storage.appender()
        for lset in self._prev:
            app.append(lset, ts_ms, STALE_NAN)
        for name in REPORT_NAMES:
            app.append(self._report_labels(name), ts_ms, STALE_NAN)
        app.commit()
        self._prev = set()
