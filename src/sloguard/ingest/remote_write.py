"""Prometheus remote write 1.0: decode a snappy-compressed ``WriteRequest`` and store it.

``decode_write_request(body)`` turns a request body into a ``WriteBatch`` (samples
grouped by series, in numpy arrays; series with invalid labels set aside with a message
naming the label); ``apply(storage, batch)`` appends the batch through one ``Appender``
and commits once. Malformed bodies raise ``RemoteWriteError`` with the HTTP status the
receiver should answer (400 or 413) and a readable message; so does a body whose snappy
header declares more than ``max_decoded_bytes`` (400, before decompressing). Label sets
over the ``LabelLimits`` are set aside like invalid ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import replace

import cramjam
import numpy as np
import numpy.typing as npt

from sloguard.ingest._remote_write_decode import (
    DEFAULT_MAX_DECODED_BYTES,
    RemoteWriteDecoder,
    RemoteWriteError,
    WriteBatch,
)
from sloguard.ingest._remote_write_limits import DEFAULT_LABEL_LIMITS, LabelLimits
from sloguard.ingest._remote_write_proto import WriteRequest
from sloguard.ingest._remote_write_stats import ReceiverStats, SampleResult
from sloguard.labels import Labels, describe_labels
from sloguard.tsdb import Appender, AppendResult, RejectReason, Storage

__all__ = [
    "DEFAULT_LABEL_LIMITS",
    "DEFAULT_MAX_DECODED_BYTES",
    "LabelLimits",
    "ReceiverStats",
    "RemoteWriteDecoder",
    "RemoteWriteError",
    "SampleResult",
    "WriteBatch",
    "apply",
    "decode_write_request",
    "encode_write_request",
]

_DEFAULT = RemoteWriteDecoder()


def decode_write_request(body: bytes | bytearray, decoder: RemoteWriteDecoder | None = None) -> WriteBatch:
    """Decode a snappy-compressed remote-write 1.0 ``WriteRequest`` body."""
    return (decoder or _DEFAULT).decode(body)


def apply(storage: Storage, batch: WriteBatch, max_time_ms: int | None = None) -> AppendResult:
    """Append ``batch`` through one appender and commit once.

    Samples later than ``max_time_ms`` are refused as out of bounds (Prometheus refuses
    samples more than 10 minutes in the future). Invalid-label series are reported in
    the result under ``RejectReason.INVALID_LABELS``; the valid ones are still stored.
    """
    res = AppendResult()
    if max_time_ms is not None and batch.samples and int(batch.timestamps.max()) > max_time_ms:
        batch = _drop_future(batch, max_time_ms, res)
    app = storage.appender()
    try:
        _append(app, batch)
        res.merge(app.commit())
    except BaseException:
        app.rollback()
        raise
    if batch.invalid_samples:
        # added to what the storage refused for the same reason (labels its WAL cannot hold)
        res.rejected[RejectReason.INVALID_LABELS] = res.rejected.get(RejectReason.INVALID_LABELS, 0) + batch.invalid_samples
        res.errors.extend(batch.label_errors[: max(0, res.MAX_ERRORS - len(res.errors))])
    return res


def _append(app: Appender, batch: WriteBatch) -> None:
    ts, vs = batch.timestamps, batch.values
    if len(ts) == len(batch.labels) and bool((batch.offsets[1:] - batch.offsets[:-1] == 1).all()):
        # one sample per series, the common case: no slicing
        deque(map(app.append, batch.labels, ts.tolist(), vs.tolist()), maxlen=0)  # C-level loop
        return
    offs = batch.offsets.tolist()
    append_many = app.append_many
    for i, labels in enumerate(batch.labels):
        a, b = offs[i], offs[i + 1]
        append_many(labels, ts[a:b], vs[a:b])


def _drop_future(batch: WriteBatch, max_time_ms: int, res: AppendResult) -> WriteBatch:
    late = batch.timestamps > max_time_ms
    per_series = np.add.reduceat(late, batch.offsets[:-1]) if len(batch.labels) else late[:0]
    for i in np.flatnonzero(per_series).tolist():
        res.reject(
            RejectReason.OUT_OF_BOUNDS,
            int(per_series[i]),
            f"out of bounds: {int(per_series[i])} sample(s) more than 10m in the future "
            f"for series {describe_labels(batch.labels[i])}",
        )
    counts = np.diff(batch.offsets) - per_series
    return replace(
        batch,
        offsets=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        timestamps=batch.timestamps[~late],
        values=batch.values[~late],
    )


def encode_write_request(
    series: Iterable[tuple[Labels | Iterable[tuple[str, str]], npt.ArrayLike, npt.ArrayLike]],
) -> bytes:
    """A snappy-compressed WriteRequest body with one entry per (labels, timestamps, values)."""
    req = WriteRequest()
    for labels, ts, vs in series:
        entry = req.timeseries.add()
        for name, value in labels:
            entry.labels.add(name=name, value=value)
        for t, v in zip(np.asarray(ts).tolist(), np.asarray(vs, np.float64).tolist(), strict=True):
            entry.samples.add(value=v, timestamp=t)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))
