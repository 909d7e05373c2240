"""Label limits and the decompressed-size limit of the remote-write decoder."""

from __future__ import annotations

import tempfile

import cramjam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloguard.ingest import _remote_write_decode
from sloguard.ingest.remote_write import (
    LabelLimits,
    RemoteWriteDecoder,
    RemoteWriteError,
    apply,
    encode_write_request,
)
from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import TSDB, RejectReason

OK = Labels.of(name__="up", job="ok")


def _labels(n: int, name_len: int = 1, value_len: int = 1) -> Labels:
    return Labels([("__name__", "m"), *((f"{'n' * name_len}{i}", "v" * value_len) for i in range(n - 1))])


@pytest.mark.parametrize(("labels", "limits", "refused"), [
    (_labels(5), LabelLimits(label_limit=5), False),
    (_labels(6), LabelLimits(label_limit=5), True),
    (_labels(2, name_len=9), LabelLimits(label_name_length_limit=10), False),
    (_labels(2, name_len=10), LabelLimits(label_name_length_limit=10), True),
    (_labels(2, value_len=10), LabelLimits(label_value_length_limit=10), False),
    (_labels(2, value_len=11), LabelLimits(label_value_length_limit=10), True),
    (_labels(500, name_len=2000, value_len=100_000), LabelLimits(0, 0, 0), False),
])
def test_label_limits_are_inclusive_and_zero_turns_them_off(labels: Labels, limits: LabelLimits, refused: bool) -> None:
    batch = RemoteWriteDecoder(limits=limits).decode(encode_write_request([(labels, [1], [1.0]), (OK, [1], [2.0])]))
    assert (labels not in batch.labels) == refused and OK in batch.labels
    assert bool(batch.label_errors) == refused and batch.invalid_samples == int(refused)


def test_lengths_are_counted_in_bytes_like_prometheus() -> None:
    labels = Labels.of(name__="m", city="é" * 6)  # 6 characters, 12 bytes
    batch = RemoteWriteDecoder(limits=LabelLimits(label_value_length_limit=11)).decode(
        encode_write_request([(labels, [1], [1.0])]))
    assert batch.labels == [] and "length: 12, limit: 11" in batch.label_errors[0]


def test_label_sets_are_checked_once_then_served_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    dec = RemoteWriteDecoder()
    calls: list[int] = []
    real = _remote_write_decode._decode_labels

    def counting(raw: list[bytes], limits: LabelLimits) -> tuple[Labels | None, str]:
        calls.append(len(raw))
        return real(raw, limits)

    monkeypatch.setattr(_remote_write_decode, "_decode_labels", counting)
    series = [(Labels.of(name__="m", i=str(i)), [1], [1.0]) for i in range(50)]
    for t in range(3):
        dec.decode(encode_write_request([(ls, [t + 1], v) for ls, _, v in series]))
    assert len(calls) == 50


def test_new_limits_apply_to_cached_label_sets_too() -> None:
    dec = RemoteWriteDecoder()
    body = encode_write_request([(_labels(10), [1], [1.0])])
    assert dec.decode(body).labels == [_labels(10)]
    dec.configure(dec.max_decoded_bytes, LabelLimits(label_limit=5))
    assert dec.decode(body).labels == [] and "label_limit exceeded" in dec.decode(body).label_errors[0]


def test_declared_size_over_the_limit_is_refused_even_if_the_data_is_cut_short() -> None:
    body = bytes(cramjam.snappy.compress_raw(bytes(50_000)))[:20]
    with pytest.raises(RemoteWriteError) as e:
        RemoteWriteDecoder(max_decoded_bytes=49_999).decode(body)
    assert e.value.status == 400 and "50000 bytes" in e.value.message and "49999 bytes" in e.value.message
    with pytest.raises(RemoteWriteError) as e:  # under the limit: the decompressor refuses the cut data
        RemoteWriteDecoder(max_decoded_bytes=50_000).decode(body)
    assert e.value.status == 400 and "not valid snappy" in e.value.message


_NAMES = st.one_of(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True),
                   st.sampled_from(["a" * 65_535, "a" * 65_536, "b" * 1025, "bad-name", "__r", "é"]))
_VALUES = st.one_of(st.text(max_size=8), st.sampled_from(["x" * 65_537, "\x00", "é" * 32_769]))
_SERIES = st.builds(lambda pairs: Labels([("__name__", "m"), *pairs]), st.lists(st.tuples(_NAMES, _VALUES), max_size=3))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(requests=st.lists(st.lists(_SERIES, min_size=1, max_size=4), min_size=1, max_size=3),
       limits=st.sampled_from([LabelLimits(), LabelLimits(0, 0, 0), LabelLimits(2, 8, 8)]))
def test_random_requests_store_or_refuse_each_series_and_replay_the_same(
    requests: list[list[Labels]], limits: LabelLimits
) -> None:
    dec = RemoteWriteDecoder(limits=limits)
    with tempfile.TemporaryDirectory(prefix="sloguard-rw-limits-") as tmp:
        with TSDB.open(tmp) as db:
            for k, series in enumerate(requests):
                uniq = list(dict.fromkeys(series))
                res = apply(db, dec.decode(encode_write_request([(ls, [k], [1.0]) for ls in uniq])))
                assert res.appended + res.rejected_total == len(uniq)
                assert set(res.rejected) <= {RejectReason.INVALID_LABELS} and len(res.errors) <= res.MAX_ERRORS
                assert all(len(e) < 3000 for e in res.errors) and (res.errors or not res.rejected)
            stored = _dump(db)
        with TSDB.open(tmp) as db:
            assert _dump(db) == stored


def _dump(db: TSDB) -> dict[Labels, list[int]]:
    batch = db.querier().select([Matcher(MatchType.REGEX, "__name__", ".+")], -(2**62), 2**62)
    return {batch.series(i)[0]: batch.series(i)[1].tolist() for i in range(len(batch))}
