"""Property tests: arbitrary input only ever raises ExpositionError; valid input round-trips."""

from __future__ import annotations

import contextlib
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.ingest.exposition import NO_TIMESTAMP, ExpositionError, ExpositionParser, parse
from sloguard.labels import Labels

OM = "application/openmetrics-text"

metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n != "__name__"
)
label_values = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
values = st.floats(allow_nan=True, allow_infinity=True)
timestamps = st.one_of(st.none(), st.integers(0, 2**53))


@st.composite
def samples(draw: st.DrawFn) -> tuple[str, dict[str, str], float, int | None]:
    labels = draw(st.dictionaries(label_names, label_values, max_size=4))
    return draw(metric_names), labels, draw(values), draw(timestamps)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _render(name: str, labels: dict[str, str], v: float, ts: str | None, sep: str) -> str:
    inner = ",".join(f'{k}="{_esc(x)}"' for k, x in labels.items())
    series = f"{name}{{{inner}}}" if labels else name
    line = f"{series}{sep}{v!r}"
    return line if ts is None else f"{line}{sep}{ts}"


def _check(result_value: float, v: float) -> None:
    assert (math.isnan(result_value) and math.isnan(v)) or result_value == v


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_arbitrary_bytes_raise_only_exposition_error(data: bytes, om: bool) -> None:
    with contextlib.suppress(ExpositionError):
        parse(data, OM if om else None)


@settings(max_examples=300, deadline=None)
@given(st.lists(samples(), max_size=5), st.data())
def test_mutated_valid_input_raises_only_exposition_error(
    rows: list[tuple[str, dict[str, str], float, int | None]], data: st.DataObject
) -> None:
    body = "".join(_render(n, lb, v, None if t is None else str(t), " ") + "\n" for n, lb, v, t in rows)
    raw = bytearray(body.encode() + b"# EOF\n")
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw)))
        raw[pos:pos] = data.draw(st.sampled_from([b"{", b"}", b'"', b"\\", b" ", b",", b"=", b"#", b"\n", b"\xff", b"\t"]))
    for ct in (None, OM):
        with contextlib.suppress(ExpositionError):
            parse(bytes(raw), ct)


@settings(max_examples=200, deadline=None)
@given(st.lists(samples(), max_size=8), st.sampled_from([" ", "\t", "  "]))
def test_text_format_round_trips(
    rows: list[tuple[str, dict[str, str], float, int | None]], sep: str
) -> None:
    body = "".join(_render(n, lb, v, None if t is None else str(t), sep) + "\n" for n, lb, v, t in rows)
    r = parse(body.encode())
    assert len(r) == len(rows)
    for i, (name, labels, v, t) in enumerate(rows):
        assert r.labels[i] == Labels([("__name__", name), *labels.items()])
        _check(float(r.values[i]), v)
        assert int(r.timestamps[i]) == (NO_TIMESTAMP if t is None else t)


@settings(max_examples=200, deadline=None)
@given(st.lists(samples(), max_size=8))
def test_openmetrics_round_trips_with_seconds_timestamps(
    rows: list[tuple[str, dict[str, str], float, int | None]],
) -> None:
    body = "".join(
        _render(n, lb, v, None if t is None else str(t // 1000), " ") + "\n" for n, lb, v, t in rows
    )
    r = parse((body + "# EOF\n").encode(), OM)
    for i, (name, labels, v, t) in enumerate(rows):
        assert r.labels[i] == Labels([("__name__", name), *labels.items()])
        _check(float(r.values[i]), v)
        assert int(r.timestamps[i]) == (NO_TIMESTAMP if t is None else (t // 1000) * 1000)


@settings(max_examples=300, deadline=None)
@given(samples(), st.booleans())
def test_fast_path_agrees_with_exact_path(
    row: tuple[str, dict[str, str], float, int | None], om: bool
) -> None:
    name, labels, v, t = row
    line = _render(name, labels, v, None if t is None else str(t), " ").encode()
    fast = ExpositionParser(om).feed(line)
    exact = ExpositionParser(om)._exact(line)
    assert fast is not None
    assert fast[0] == exact[0] and fast[1] == exact[1]
    _check(fast[2], exact[2])


class _ExactOnly(ExpositionParser):
    """Reference: every line through the exact, token-by-token path."""

    def _fast(self, line: bytes) -> tuple[Labels, int, float]:
        raise ValueError("exact path only")


def _reference(data: bytes, om: bool) -> list[tuple[Labels, int, float]] | str:
    p = _ExactOnly(om)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    try:
        for line in lines:
            s = p.feed(line)
            if s is not None:
                out.append(s)
        p.finish()
    except ExpositionError as e:
        return str(e)
    return out


_pieces = st.sampled_from(
    [b"a", b"b_total", b"{", b"}", b'"', b'x="y"', b",", b"=", b" ", b"  ", b"\t", b"\r", b"\x0b",
     b"1", b"-2.5", b"NaN", b"+Inf", b"1e3", b"_", b"123", b"# {t=\"1\"} 1", b"#", b"\\"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_pieces, max_size=8).map(b"".join), max_size=4), st.booleans())
def test_fast_path_never_disagrees_with_the_exact_path(lines: list[bytes], om: bool) -> None:
    data = b"\n".join(lines) + (b"\n# EOF\n" if om else b"\n")
    ref = _reference(data, om)
    try:
        r = parse(data, OM if om else None)
    except ExpositionError as e:
        got: list[tuple[Labels, int, float]] | str = str(e)
    else:
        got = list(zip(r.labels, r.timestamps.tolist(), r.values.tolist(), strict=True))
    if isinstance(ref, str) or isinstance(got, str):
        assert isinstance(ref, str) and isinstance(got, str), (data, ref, got)
        assert ref.split(":")[0] == got.split(":")[0]  # same line number
    else:
        assert len(ref) == len(got)
        for (l1, t1, v1), (l2, t2, v2) in zip(ref, got, strict=True):
            assert l1 == l2 and t1 == t2
            _check(v1, v2)
