"""The backfill scanner's fast path gives exactly what the exact exposition parser gives:
the same samples in the same order, or an error on the same line."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.ingest.backfill import iter_line_chunks
from sloguard.ingest.backfill_scan import ChunkScanner, MissingTimestampError
from sloguard.ingest.exposition import NO_TIMESTAMP, ExpositionError, iter_lines

_GOOD_SERIES = ["a", 'b{x="1",y="two words"}', 'c{le="+Inf"}']
_ODD_SERIES = ['d{x="#"}', 'b{x="1"', "0bad", 'e{x="é"}', "a{}"]
_GOOD_VALUES = ["1", "-2.5", "1.5e3", "0", "-0", "+7", ".5", "5.", "1E-2"]
_ODD_VALUES = ["NaN", "+Inf", "-Inf", "1e400", "1_000", "0x1p3", "1..2", "abc", "--1", "", "1e", "+-1"]
_GOOD_TS = ["1700000000", "1700000000.5", "1700000000.123", "+1700000001"]
_ODD_TS = ["-5", "1e9", "1e20", "-1e20", "abc", "", "1_7", "0x10", "1700000000 "]


def _line(series: list[str], values: list[str], ts: list[str], seps: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda s, v, t, sep: f"{s}{sep}{v} {t}".rstrip() if t else f"{s}{sep}{v}",
                     st.sampled_from(series), st.sampled_from(values), st.sampled_from(ts), st.sampled_from(seps))


_good = _line(_GOOD_SERIES, _GOOD_VALUES, _GOOD_TS, [" "])
_odd = st.one_of(
    _line(_GOOD_SERIES + _ODD_SERIES, _GOOD_VALUES + _ODD_VALUES, _GOOD_TS + _ODD_TS, [" ", "  ", "\t"]),
    st.sampled_from(["# TYPE a counter", "# HELP a Some help.", "# comment", "#", "", "# EOF",
                     'a 1 1700000000 # {t="x"} 1 1700000000', "a 1 1700000000 ", " a 1 1700000000"]),
)


def _exact(text: bytes) -> tuple[list[tuple[object, int, float]], int | None]:
    out = []
    try:
        for labels, t, v in iter_lines(text.split(b"\n")[:-1], openmetrics=True):
            out.append((labels, t, v))
    except ExpositionError as e:
        return out, e.line
    return out, None


def _scanned(text: bytes, chunk: int) -> tuple[list[tuple[object, int, float]], int | None]:
    sc = ChunkScanner()
    out = []
    line = 1
    try:
        for part, _ in iter_line_chunks(io.BytesIO(text), chunk):
            cs = sc.scan(part, line)
            out += [(sc.labels[i], t, v) for i, t, v in zip(cs.ids.tolist(), cs.timestamps.tolist(), cs.values.tolist(), strict=True)]
            line += part.count(b"\n")
        sc.finish(line - 1)
    except ExpositionError as e:
        return out, e.line
    return out, None


def _same_samples(a: list[tuple[object, int, float]], b: list[tuple[object, int, float]]) -> bool:
    if len(a) != len(b):
        return False
    for (la, ta, va), (lb, tb, vb) in zip(a, b, strict=True):
        if la != lb or ta != tb or np.float64(va).tobytes() != np.float64(vb).tobytes():
            return False
    return True


@settings(max_examples=400, deadline=None)
@given(st.lists(_good, min_size=1, max_size=20), st.lists(st.tuples(st.integers(0, 20), _odd), max_size=2),
       st.booleans(), st.sampled_from([16, 64, 1 << 20]))
def test_scanner_matches_the_exact_parser(
    lines: list[str], odd: list[tuple[int, str]], eof: bool, chunk: int
) -> None:
    for pos, line in odd:  # a valid file with one or two odd lines in it
        lines.insert(pos, line)
    text = ("\n".join(lines + (["# EOF"] if eof else [])) + "\n").encode()
    want, want_err = _exact(text)
    missing_ts = next((i for i, s in enumerate(want) if s[1] == NO_TIMESTAMP), None)
    got, got_err = _scanned(text, chunk)
    if missing_ts is not None:
        # backfill refuses a sample without timestamp: an error no later than the exact
        # parser's own first error
        assert got_err is not None and (want_err is None or got_err <= want_err)
        return
    assert got_err == want_err
    if want_err is None:
        assert _same_samples(got, want)


def test_clean_file_scans_like_the_exact_parser_across_chunk_sizes() -> None:
    lines = ["# TYPE a counter"] + [
        f'{s} {v} {1700000000 + k}' for k in range(40) for s, v in (("a_total", k), ('b{x="1 2"}', -k / 3))
    ] + ["# EOF"]
    text = ("\n".join(lines) + "\n").encode()
    want, err = _exact(text)
    assert err is None and len(want) == 80
    for chunk in (7, 100, 1 << 20):
        got, err = _scanned(text, chunk)
        assert err is None and _same_samples(got, want)


def test_missing_timestamp_error_is_its_own_type() -> None:
    sc = ChunkScanner()
    try:
        sc.scan(b"a 1\n", 1)
    except MissingTimestampError as e:
        assert e.line == 1 and "expected timestamp" in str(e)
    else:
        raise AssertionError("no error")


def test_data_after_eof_in_a_later_chunk_is_an_error() -> None:
    text = b"a 1 1700000000\n# EOF\na 1 1700000000\n"
    assert _exact(text)[1] == 3
    for chunk in (16, 1 << 20):
        assert _scanned(text, chunk)[1] == 3
