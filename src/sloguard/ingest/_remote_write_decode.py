"""Decoding remote-write 1.0 request bodies into ``WriteBatch``es (see ``remote_write``).

Series entries go through a vectorised fast path (``_remote_write_fast``) with a cache
from the wire bytes of a label set to its ``Labels``; entries of any other shape take
the general path through the upb-parsed raw messages. Both give identical results.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from operator import attrgetter
from typing import cast

import cramjam
import numpy as np
from google.protobuf.message import DecodeError

from sloguard.ingest._errors import IngestError
from sloguard.ingest._remote_write_fast import SampleTails, sample_tails
from sloguard.ingest._remote_write_limits import DEFAULT_LABEL_LIMITS, LabelLimits
from sloguard.ingest._remote_write_proto import RawLabel, RawTimeSeries, RawWriteRequest, Sample
from sloguard.labels import (
    InvalidLabelError,
    Labels,
    check_label_value,
    check_labels,
    describe_labels,
)
from sloguard.labels._validate import MESSAGE_TEXT_CHARS
from sloguard.tsdb._types import F64, I64

DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024
_MAX_MESSAGES = 10
_MAX_VARINT_BYTES = 10


class RemoteWriteError(IngestError):
    """A request the receiver refuses as a whole; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """The decoded samples of one WriteRequest, grouped by series.

    Series ``i`` has labels ``labels[i]`` (all distinct) and samples
    ``timestamps[offsets[i]:offsets[i+1]]`` / ``values[...]`` in the order they were
    sent (not necessarily increasing: the appender judges order). Series whose labels
    are invalid are not in the batch: ``label_errors`` holds the first messages (each
    names the label), ``invalid_samples`` counts their samples. Native histograms and
    exemplars are not supported; they are counted and dropped.
    """

    labels: list[Labels]
    offsets: I64
    timestamps: I64
    values: F64
    label_errors: tuple[str, ...] = ()
    invalid_samples: int = 0
    histograms: int = 0
    exemplars: int = 0

    @property
    def samples(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True, slots=True, eq=False)
class _Series:
    """A cached label set, or why it is invalid. While cached, equal labels share one
    ``_Series`` object, so a request groups its entries by object identity."""

    labels: Labels | None
    error: str = ""


_LABELS = attrgetter("labels")


def uvarint(n: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative ``n`` (the encoder uses it too)."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _decode_labels(raw_labels: list[bytes], limits: LabelLimits) -> tuple[Labels | None, str]:
    """Labels from the wire bytes of Label messages, or (None, message naming the series)."""
    pairs: list[tuple[str, str]] = []
    sizes: list[tuple[int, int]] = []
    try:
        for raw in raw_labels:
            try:
                lab = RawLabel.FromString(raw)
            except DecodeError as e:
                raise _parse_error(f"label {raw[:MESSAGE_TEXT_CHARS]!r}", e) from None
            name = lab.name.decode("utf-8", "replace")
            pairs.append((name, check_label_value(name, lab.value)))
            sizes.append((len(lab.name), len(lab.value)))
        limits.check(pairs, sizes)
        check_labels(pairs)
    except InvalidLabelError as e:
        return None, f"invalid labels for series {describe_labels(pairs)}: {e}"
    return Labels(pairs), ""


class RemoteWriteDecoder:
    """Decodes WriteRequests, caching label sets by their wire bytes across requests.

    Thread-safe for concurrent ``decode`` calls (the cache is only grown or reset).
    """

    def __init__(
        self,
        max_cached_series: int = 500_000,
        max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
        limits: LabelLimits = DEFAULT_LABEL_LIMITS,
    ) -> None:
        self._cache: dict[bytes | tuple[bytes, ...], _Series] = {}
        self._by_labels: dict[Labels, _Series] = {}
        #: The cached entries whose labels are invalid (usually none).
        self.invalid: set[_Series] = set()
        self._lock = threading.Lock()
        self.max_cached_series = max_cached_series
        self.max_decoded_bytes = max_decoded_bytes
        self.limits = limits

    def configure(self, max_decoded_bytes: int, limits: LabelLimits) -> None:
        """Apply (reloaded) settings; new label limits empty the cache, whose label sets
        were checked against the old ones."""
        self.max_decoded_bytes = max_decoded_bytes
        if limits != self.limits:
            with self._lock:
                self.limits = limits
                self._clear()

    def _clear(self) -> None:  # caller holds _lock
        self._cache.clear()
        self._by_labels.clear()
        self.invalid.clear()

    def decode(self, body: bytes | bytearray) -> WriteBatch:
        entries = self._entries(self._decompress(body))
        if not entries:
            return _empty_batch()
        return _Decoding(self, entries).batch()

    def _decompress(self, body: bytes | bytearray) -> bytes:
        """The snappy block's data, refused before decompressing if its header declares
        more than ``max_decoded_bytes`` (a body that expands to anything but its declared
        size is refused by the decompressor, which never writes past that size)."""
        size = _declared_size(body)
        if size > self.max_decoded_bytes:
            raise RemoteWriteError(
                400,
                f"the request body ({len(body)} bytes) declares a decompressed size of {size} bytes, "
                f"more than the limit of {self.max_decoded_bytes} bytes "
                "(remote_write_receiver.max_decompressed_bytes)",
            )
        try:
            return bytes(cramjam.snappy.decompress_raw(body))
        except cramjam.DecompressionError as e:
            raise RemoteWriteError(
                400, f"the request body is not valid snappy (block format) data: {e}"
            ) from None

    @staticmethod
    def _entries(data: bytes) -> list[bytes]:
        try:
            return list(RawWriteRequest.FromString(data).timeseries)
        except DecodeError as e:
            raise RemoteWriteError(
                400, f"the request body is not a valid protobuf WriteRequest: {e}"
            ) from None

    def lookup(self, key: bytes | tuple[bytes, ...]) -> _Series | None:
        return self._cache.get(key)

    def lookup_many(self, keys: list[bytes]) -> list[_Series | None]:
        return list(map(self._cache.get, keys))

    def learn(self, key: bytes | tuple[bytes, ...], raw_labels: list[bytes]) -> _Series:
        labels, error = _decode_labels(raw_labels, self.limits)
        with self._lock:
            if len(self._cache) >= self.max_cached_series:
                self._clear()
            series = self._cache.get(key)
            if series is None:
                series = self._by_labels.get(labels) if labels is not None else None
                series = series or _Series(labels, error)
                if labels is not None:
                    self._by_labels[labels] = series
                else:
                    self.invalid.add(series)
                self._cache[key] = series
            return series


def _declared_size(body: bytes | bytearray) -> int:
    """The uncompressed length a snappy block declares: the varint it starts with."""
    size = 0
    for i, byte in enumerate(body[:_MAX_VARINT_BYTES]):
        size |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return size
    if not body:
        return 0
    raise RemoteWriteError(
        400, "the request body is not valid snappy (block format) data: its length header is malformed"
    )


def _empty_batch() -> WriteBatch:
    return WriteBatch([], np.zeros(1, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))


def _parse_error(what: str, e: Exception) -> RemoteWriteError:
    return RemoteWriteError(400, f"the request body is not a valid protobuf WriteRequest: {what}: {e}")


class _Decoding:
    """One request's decoding: the fast vectorised path, then the general path."""

    def __init__(self, dec: RemoteWriteDecoder, entries: list[bytes]) -> None:
        self.dec = dec
        self.entries = entries
        n = len(entries)
        self.series: list[_Series | None] = [None] * n
        self.counts = np.ones(n, np.int64)
        self.slow: dict[int, tuple[I64, F64]] = {}
        self.histograms = 0
        self.exemplars = 0
        #: Every entry is one canonical sample of a distinct, valid, cached series.
        self.clean = False

    def batch(self) -> WriteBatch:
        tails = sample_tails(self.entries)
        self._fast(tails)
        if not self.clean and None in self.series:
            for i in [i for i, s in enumerate(self.series) if s is None]:
                self._slow(i)
        ts, vs = self._samples(tails)
        return self._group(ts, vs)

    def _fast(self, tails: SampleTails) -> None:
        entries = self.entries
        every = bool(tails.ok.all())
        idx = range(len(entries)) if every else np.flatnonzero(tails.ok).tolist()
        chosen = entries if every else [entries[i] for i in idx]
        keys = [e[:n] for e, n in zip(chosen, tails.label_len[tails.ok].tolist(), strict=True)]
        found = self.dec.lookup_many(keys)
        uniq = set(found)  # identity hashing: cheaper than scanning for None with ==
        if None in uniq:
            for j in [j for j, s in enumerate(found) if s is None]:
                found[j] = self.dec.lookup(keys[j]) or self._learn_prefix(keys[j])
            uniq = set(found)
        self.clean = (
            every and len(uniq) == len(found) and None not in uniq and uniq.isdisjoint(self.dec.invalid)
        )
        if every:
            self.series = found
        else:
            for i, s in zip(idx, found, strict=True):
                self.series[i] = s

    def _learn_prefix(self, key: bytes) -> _Series | None:
        """Cache ``key`` if it consists only of label fields (else leave it to the slow path)."""
        try:
            raw = list(RawTimeSeries.FromString(key).labels)
        except DecodeError:
            return None
        if b"".join(b"\x0a" + uvarint(len(r)) + r for r in raw) != key:
            return None
        return self.dec.learn(key, raw)

    def _slow(self, i: int) -> None:
        try:
            ts = RawTimeSeries.FromString(self.entries[i])
            samples = [Sample.FromString(s) for s in ts.samples]
        except DecodeError as e:
            raise _parse_error(f"time series #{i}", e) from None
        key = tuple(ts.labels)
        s = self.dec.lookup(key) or self.dec.learn(key, list(key))
        self.series[i] = s
        self.counts[i] = len(samples)
        self.histograms += len(ts.histograms)
        self.exemplars += len(ts.exemplars)
        self.slow[i] = (
            np.fromiter((x.timestamp for x in samples), np.int64, len(samples)),
            np.fromiter((x.value for x in samples), np.float64, len(samples)),
        )

    def _samples(self, tails: SampleTails) -> tuple[I64, F64]:
        if not self.slow:  # every entry is one canonical sample
            return tails.timestamps, tails.values
        offsets = np.concatenate(([0], np.cumsum(self.counts)))
        fast = np.ones(len(self.entries), np.bool_)
        fast[list(self.slow)] = False
        ts = np.empty(int(offsets[-1]), np.int64)
        vs = np.empty(int(offsets[-1]), np.float64)
        ts[offsets[:-1][fast]] = tails.timestamps[fast]
        vs[offsets[:-1][fast]] = tails.values[fast]
        for i, (t, v) in self.slow.items():
            ts[offsets[i] : offsets[i + 1]] = t
            vs[offsets[i] : offsets[i + 1]] = v
        return ts, vs

    def _group(self, ts: I64, vs: F64) -> WriteBatch:
        """Drop invalid and empty series, then gather repeated entries of one series."""
        if self.clean:
            n = len(self.series)
            labels = cast(list[Labels], [s.labels for s in self.series])  # type: ignore[union-attr]
            return WriteBatch(labels, np.arange(n + 1, dtype=np.int64), ts, vs)
        series: list[_Series] = self.series if None not in self.series else [s for s in self.series if s is not None]  # type: ignore[assignment]
        counts = self.counts
        labels = list(map(_LABELS, series))
        bad = [i for i, lb in enumerate(labels) if lb is None] if None in labels else []
        errors = tuple(dict.fromkeys(series[i].error for i in bad))
        invalid_samples = int(counts[bad].sum()) if bad else 0
        drop = counts == 0
        drop[bad] = True
        if drop.any():
            keep = ~drop
            ts, vs = ts[np.repeat(keep, counts)], vs[np.repeat(keep, counts)]
            series = [s for s, k in zip(series, keep.tolist(), strict=True) if k]
            labels = list(map(_LABELS, series))
            counts = counts[keep]
        if len(set(series)) < len(series):  # several entries of one series: gather them
            ids = list(map(id, series))
            uniq, first, inverse = np.unique(np.asarray(ids, np.int64), return_index=True, return_inverse=True)
            group = np.repeat(inverse, counts)
            order = np.argsort(group, kind="stable")
            ts, vs = ts[order], vs[order]
            counts = np.bincount(group, minlength=len(uniq))
            labels = [labels[f] for f in first.tolist()]
        return WriteBatch(
            labels=labels if None not in labels else [lb for lb in labels if lb is not None],
            offsets=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
            timestamps=ts,
            values=vs,
            label_errors=errors[:_MAX_MESSAGES],
            invalid_samples=invalid_samples,
            histograms=self.histograms,
            exemplars=self.exemplars,
        )
