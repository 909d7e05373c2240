"""Remote-write 1.0 decoding: fast and general paths agree, bad input is a RemoteWriteError."""

from __future__ import annotations

import math

import cramjam
import numpy as np
import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.ingest._remote_write_proto import WriteRequest
from sloguard.ingest.remote_write import (
    RemoteWriteDecoder,
    RemoteWriteError,
    WriteBatch,
    apply,
    decode_write_request,
    encode_write_request,
)
from sloguard.labels import InvalidLabelError, Labels, check_labels
from sloguard.tsdb import RejectReason
from sloguard.tsdb.testing import MemoryStorage


def _snappy(raw: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(raw))


def _same(a: dict[Labels, list[tuple[int, float]]], b: dict[Labels, list[tuple[int, float]]]) -> bool:
    """Equal, with NaN values compared by bit pattern."""
    def bits(d: dict[Labels, list[tuple[int, float]]]) -> dict[Labels, list[tuple[int, bytes]]]:
        return {k: [(t, np.float64(v).tobytes()) for t, v in s] for k, s in d.items()}

    return bits(a) == bits(b)


def _as_dict(batch: WriteBatch) -> dict[Labels, list[tuple[int, float]]]:
    out = {}
    for i, labels in enumerate(batch.labels):
        a, b = batch.offsets[i], batch.offsets[i + 1]
        out[labels] = list(zip(batch.timestamps[a:b].tolist(), batch.values[a:b].tolist(), strict=True))
    return out


def test_decodes_labels_and_samples_of_each_series() -> None:
    up = Labels.of(name__="up", job="node", instance="a:9100")
    body = encode_write_request([(up, [1000, 2000], [1.0, 0.0]), (Labels.of(name__="x"), [5], [2.5])])
    batch = decode_write_request(body, RemoteWriteDecoder())
    assert _as_dict(batch) == {up: [(1000, 1.0), (2000, 0.0)], Labels.of(name__="x"): [(5, 2.5)]}
    assert batch.samples == 3 and not batch.label_errors


def test_repeated_entries_of_one_series_are_grouped_in_sending_order() -> None:
    a, b = Labels.of(name__="a"), Labels.of(name__="b")
    body = encode_write_request([(a, [3], [1.0]), (b, [1], [2.0]), (a, [1], [3.0]), (a, [7], [4.0])])
    batch = decode_write_request(body, RemoteWriteDecoder())
    assert _as_dict(batch) == {a: [(3, 1.0), (1, 3.0), (7, 4.0)], b: [(1, 2.0)]}


@pytest.mark.parametrize(
    ("t", "v"),
    [(0, 0.0), (0, 1.5), (1, 0.0), (-1, 2.0), (2**63 - 1, -0.5), (-(2**63), 1e308), (1_700_000_000_000, math.inf)],
)
def test_edge_timestamps_and_values_decode_exactly(t: int, v: float) -> None:
    body = encode_write_request([(Labels.of(name__="m"), [t], [v])])
    batch = decode_write_request(body, RemoteWriteDecoder())
    assert batch.timestamps.tolist() == [t] and batch.values.tolist() == [v]


def test_timestamps_of_every_varint_length_decode_exactly_in_one_request() -> None:
    # one timestamp per varint length (1..10 bytes), mixed in one request
    ts = [0, 1, 2**7, 2**14, 2**21, 2**28, 2**35, 2**42, 2**49, 2**56, 2**63 - 1, -1, -(2**40)]
    series = [(Labels.of(name__="m", i=str(i)), [t], [float(i)]) for i, t in enumerate(ts)]
    batch = decode_write_request(encode_write_request(series), RemoteWriteDecoder())
    got = {lb.get("i"): t for lb, t in zip(batch.labels, batch.timestamps.tolist(), strict=True)}
    assert got == {str(i): t for i, t in enumerate(ts)}
    assert sorted(batch.values.tolist()) == [float(i) for i in range(len(ts))]


def test_nan_bit_patterns_survive_decoding() -> None:
    stale = np.array([0x7FF0000000000002], np.uint64).view(np.float64)
    body = encode_write_request([(Labels.of(name__="m"), [10], stale)])
    batch = decode_write_request(body, RemoteWriteDecoder())
    assert batch.values.view(np.uint64).tolist() == [0x7FF0000000000002]


def test_cached_label_sets_decode_the_same_on_a_second_request() -> None:
    dec = RemoteWriteDecoder()
    series = [(Labels.of(name__="m", i=str(i)), [i + 1], [float(i)]) for i in range(50)]
    first = _as_dict(dec.decode(encode_write_request(series)))
    second = _as_dict(dec.decode(encode_write_request(series)))
    assert first == second and len(first) == 50


def test_a_cached_invalid_series_is_set_aside_on_every_request() -> None:
    dec = RemoteWriteDecoder()
    series = [(Labels.of(name__="ok"), [1], [1.0]), ([("__name__", "m"), ("bad-name", "x")], [1], [2.0])]
    for _ in range(3):  # later requests hit the label cache for both entries
        batch = dec.decode(encode_write_request(series))
        assert batch.labels == [Labels.of(name__="ok")] and batch.values.tolist() == [1.0]
        assert batch.invalid_samples == 1 and "'bad-name'" in batch.label_errors[0]


def test_invalid_label_series_is_set_aside_with_a_message_naming_the_label() -> None:
    good = Labels.of(name__="ok")
    body = encode_write_request([(good, [1], [1.0]), ([("__name__", "m"), ("bad-name", "x")], [1, 2], [1.0, 2.0])])
    batch = decode_write_request(body, RemoteWriteDecoder())
    assert _as_dict(batch) == {good: [(1, 1.0)]}
    assert batch.invalid_samples == 2
    assert "bad-name" in batch.label_errors[0]


def test_missing_metric_name_is_invalid() -> None:
    body = encode_write_request([([("job", "x")], [1], [1.0])])
    batch = decode_write_request(body, RemoteWriteDecoder())
    assert batch.labels == [] and "__name__" in batch.label_errors[0]


def test_invalid_utf8_label_value_names_the_label() -> None:
    # Hand-encoded Label{name="job", value=b"\xff"}: protobuf would refuse to build it.
    label = b"\x0a\x03job\x12\x01\xff"
    name = b"\x0a\x08__name__\x12\x01m"
    entry = b"\x0a" + bytes([len(name)]) + name + b"\x0a" + bytes([len(label)]) + label
    entry += b"\x12\x0b\x09" + np.float64(1.0).tobytes() + b"\x10\x05"
    raw = b"\x0a" + bytes([len(entry)]) + entry
    batch = decode_write_request(_snappy(raw), RemoteWriteDecoder())
    assert batch.labels == [] and "'job'" in batch.label_errors[0] and "UTF-8" in batch.label_errors[0]


def test_histograms_and_exemplars_are_counted_and_dropped() -> None:
    req = WriteRequest()
    ts = req.timeseries.add()
    ts.labels.add(name="__name__", value="h")
    ts.histograms.add(count_int=3, timestamp=5)
    ts.exemplars.add(value=1.0, timestamp=5)
    batch = decode_write_request(_snappy(req.SerializeToString()), RemoteWriteDecoder())
    assert (batch.histograms, batch.exemplars, batch.samples) == (1, 1, 0)


def test_bad_snappy_is_a_400() -> None:
    with pytest.raises(RemoteWriteError) as e:
        decode_write_request(b"not snappy at all")
    assert e.value.status == 400 and "snappy" in e.value.message


def test_bad_protobuf_is_a_400() -> None:
    with pytest.raises(RemoteWriteError) as e:
        decode_write_request(_snappy(b"\x0a\x05\x0a\xff\xff"))
    assert e.value.status == 400 and "protobuf" in e.value.message


def test_decompression_bomb_is_refused_before_decompressing() -> None:
    body = _snappy(b"\x00" * 100_000)
    with pytest.raises(RemoteWriteError) as e:
        RemoteWriteDecoder(max_decoded_bytes=1000).decode(body)
    assert e.value.status == 400 and "declares a decompressed size of 100000 bytes" in e.value.message


def test_apply_stores_valid_series_and_reports_invalid_and_out_of_order() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="a"), [100], [1.0])
    body = encode_write_request([
        (Labels.of(name__="a"), [50, 200], [1.0, 2.0]),
        (Labels.of(name__="b"), [10], [3.0]),
        ([("__name__", "c"), ("__bad", "x")], [1], [1.0]),
    ])
    res = apply(st, decode_write_request(body, RemoteWriteDecoder()))
    assert res.appended == 2
    assert res.rejected == {RejectReason.OUT_OF_ORDER: 1, RejectReason.INVALID_LABELS: 1}
    assert any("out of order sample" in e for e in res.errors)
    assert any("__bad" in e for e in res.errors)
    assert st._data[Labels.of(name__="a")] == ([100, 200], [1.0, 2.0])
    assert st._data[Labels.of(name__="b")] == ([10], [3.0])


def test_apply_refuses_samples_too_far_in_the_future() -> None:
    st = MemoryStorage()
    body = encode_write_request([(Labels.of(name__="a"), [1, 2, 5000], [1.0, 2.0, 3.0])])
    res = apply(st, decode_write_request(body, RemoteWriteDecoder()), max_time_ms=1000)
    assert res.appended == 2 and res.rejected == {RejectReason.OUT_OF_BOUNDS: 1}
    assert st._data[Labels.of(name__="a")] == ([1, 2], [1.0, 2.0])


_names = st.sampled_from(["__name__", "job", "instance", "a", "b-c", "__x", ""])
_values = st.text(max_size=6)
_entry = st.tuples(
    st.lists(st.tuples(_names, _values), max_size=4),
    st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False)), max_size=3),
)


def _reference(raw: bytes) -> tuple[dict[Labels, list[tuple[int, float]]], int]:
    """What the protobuf library's own decoding implies: samples per valid series, and
    the number of samples of invalid series."""
    expected: dict[Labels, list[tuple[int, float]]] = {}
    invalid = 0
    for ts in WriteRequest.FromString(raw).timeseries:
        pairs = [(lb.name, lb.value) for lb in ts.labels]
        samples = [(s.timestamp, s.value) for s in ts.samples]
        try:
            check_labels(pairs)
        except InvalidLabelError:
            invalid += len(samples)
            continue
        expected.setdefault(Labels(pairs), []).extend(samples)
    return {k: v for k, v in expected.items() if v}, invalid


@settings(max_examples=150, deadline=None)
@given(st.lists(_entry, max_size=8))
def test_fast_path_agrees_with_the_protobuf_library(entries: list) -> None:
    req = WriteRequest()
    for labels, samples in entries:
        ts = req.timeseries.add()
        for n, v in labels:
            ts.labels.add(name=n, value=v)
        for t, v in samples:
            ts.samples.add(value=v, timestamp=t)
    raw = req.SerializeToString()
    expected, invalid = _reference(raw)
    dec = RemoteWriteDecoder()
    for _ in range(2):  # the second pass hits the label cache
        batch = dec.decode(_snappy(raw))
        assert _same(_as_dict(batch), expected)
        assert batch.invalid_samples == invalid


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_remote_write_error(data: bytes) -> None:
    for body in (data, _snappy(data)):
        try:
            decode_write_request(body, RemoteWriteDecoder())
        except RemoteWriteError as e:
            assert e.status in (400, 413)


_VALID = WriteRequest()
for _i in range(3):
    _ts = _VALID.timeseries.add()
    _ts.labels.add(name="__name__", value=f"m{_i}")
    _ts.labels.add(name="job", value="j")
    _ts.samples.add(value=1.5 * _i, timestamp=1_700_000_000_000 + _i)
_VALID_RAW = _VALID.SerializeToString()


_BYTE = st.one_of(st.sampled_from([0x0A, 0x12, 0x1A, 0x22, 0x08, 0x09, 0x10, 0x11, 0x00, 0x01, 0x7F, 0x80, 0xFF]), st.integers(0, 255))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID_RAW) - 1), _BYTE), min_size=1, max_size=4))
def test_mutated_valid_requests_decode_or_raise_remote_write_error(edits: list[tuple[int, int]]) -> None:
    raw = bytearray(_VALID_RAW)
    for pos, byte in edits:
        raw[pos] = byte
    try:
        expected: tuple[dict[Labels, list[tuple[int, float]]], int] | None = _reference(bytes(raw))
    except DecodeError:
        expected = None  # e.g. invalid UTF-8: a label error for us, a parse error for protobuf
    dec = RemoteWriteDecoder()
    for _ in range(2):
        try:
            batch = dec.decode(_snappy(bytes(raw)))
        except RemoteWriteError as e:
            assert e.status == 400 and expected is None
        else:
            assert len(batch.offsets) == len(batch.labels) + 1
            if expected is not None:
                assert _same(_as_dict(batch), expected[0]) and batch.invalid_samples == expected[1]


def test_one_series_sent_in_different_encodings_keeps_its_sample_order() -> None:
    name_first = [("__name__", "m"), ("job", "j")]
    job_first = [("job", "j"), ("__name__", "m")]  # same series, other wire bytes
    body = encode_write_request([
        (name_first, [1], [1.0]),
        (job_first, [2], [2.0]),
        (name_first, [3, 4], [3.0, 4.0]),  # two samples: the general path
        (job_first, [5], [5.0]),
    ])
    dec = RemoteWriteDecoder()
    for _ in range(2):
        batch = dec.decode(body)
        assert _as_dict(batch) == {Labels(name_first): [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0), (5, 5.0)]}
