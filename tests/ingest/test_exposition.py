"""Exposition parsing: text format 0.0.4 and OpenMetrics, with Prometheus' rules."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from sloguard.ingest.exposition import (
    NO_TIMESTAMP,
    ExpositionError,
    ExpositionParser,
    MetricMetadata,
    is_openmetrics,
    iter_lines,
    parse,
)
from sloguard.labels import Labels

OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"

TEXT = b"""# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf 3982045
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
"""


def test_text_format_samples_labels_and_timestamps() -> None:
    r = parse(TEXT, "text/plain; version=0.0.4")
    assert len(r) == 7
    assert r.labels[0] == Labels.of(name__="http_requests_total", method="post", code="200")
    assert r.values[0] == 1027.0 and r.timestamps[0] == 1395066363000
    assert r.labels[2].get("path") == "C:\\DIR\\FILE.TXT"
    assert r.labels[2].get("error") == 'Cannot find file:\n"FILE.TXT"'
    assert r.timestamps[2] == NO_TIMESTAMP
    assert r.values[4] == math.inf and r.timestamps[4] == 3982045
    assert r.values.dtype == np.float64 and r.timestamps.dtype == np.int64


def test_text_format_metadata_help_and_type() -> None:
    r = parse(TEXT)
    assert r.metadata["http_requests_total"] == MetricMetadata(
        "counter", "The total number of HTTP requests.", ""
    )
    assert r.metadata["rpc_duration_seconds"].type == "summary"


def test_help_or_type_without_anything_after_is_a_comment() -> None:
    assert parse(b"# HELP\n# TYPE\na 1\n").metadata == {}


def test_untyped_is_reported_as_unknown() -> None:
    assert parse(b"# TYPE a untyped\na 1\n").metadata["a"].type == "unknown"


def test_nan_values_use_prometheus_normal_nan_not_stale_marker() -> None:
    r = parse(b"a NaN\nb +Inf\nc -Inf\n")
    bits = struct.unpack("<Q", struct.pack("<d", float(r.values[0])))[0]
    assert bits == 0x7FF8000000000001
    assert r.values[1] == math.inf and r.values[2] == -math.inf


def test_text_format_allows_whitespace_between_tokens_and_trailing_comma() -> None:
    r = parse(b'a { b = "x y" , c="} 1", } 2 17\n\t\n')
    assert r.labels == [Labels.of(name__="a", b="x y", c="} 1")]
    assert r.values[0] == 2.0 and r.timestamps[0] == 17


def test_unknown_escape_is_kept_as_written() -> None:
    r = parse(b'a{b="x\\ty"} 1\n')
    assert r.labels[0].get("b") == "x\\ty"


def test_missing_final_newline_is_accepted() -> None:
    assert parse(b"a 1").values.tolist() == [1.0]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'a{b="c"} x\n', 'line 1: expected a number as sample value, got "x"'),
        (b"ok 1\na{b=c} 1\n", 'line 2: expected label value, got "c"'),
        (b'a{b="c",b="d"} 1\n', 'label name "b" is not unique'),
        (b"# TYPE a foo\n", 'invalid metric type "foo"'),
        (b"a 1 1.5\n", "expected timestamp (an integer in milliseconds)"),
        (b"a 1_000\n", "expected a number as sample value"),
        (b'a{b="\xff"} 1\n', "invalid UTF-8 label value"),
        (b"a 1 2 3\n", "expected timestamp or new record"),
        (b"{} 1\n", "line 1: expected a valid start token"),
        (b"a\n", "expected value after metric"),
        (b"a{1b=\"x\"} 1\n", "expected label name"),
        (b"a 1 99999999999999999999\n", "expected timestamp"),
        (b"  a 1\n", 'invalid metric name "a": whitespace before the metric name'),
        (b"a 1\r\n", 'expected a number as sample value, got "1\\r"'),
        (b"a 1 5\r\n", "expected timestamp (an integer in milliseconds)"),
        (b"# HELP \n", "expected metric name after HELP"),
    ],
)
def test_text_format_errors_name_line_and_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(ExpositionError) as ei:
        parse(data)
    assert fragment in str(ei.value)


OM_BODY = b"""# TYPE foo_seconds counter
# UNIT foo_seconds seconds
# HELP foo_seconds A \\"help\\" text
foo_seconds_total{a="b"} 1 1.5 # {trace_id="x"} 1 2
foo_seconds_created{a="b"} 1.6e9
foo_seconds_total{a="c"} 2
# TYPE s stateset
s{s="a"} 1
# EOF
"""


def test_openmetrics_timestamps_are_seconds_and_created_is_a_series() -> None:
    r = parse(OM_BODY, OM)
    assert r.labels[0] == Labels.of(name__="foo_seconds_total", a="b")
    assert r.timestamps[0] == 1500
    assert r.labels[1].metric_name == "foo_seconds_created"
    assert r.values[1] == 1.6e9
    assert r.timestamps[2] == NO_TIMESTAMP
    assert r.metadata["foo_seconds"] == MetricMetadata("counter", 'A "help" text', "seconds")
    assert r.metadata["s"].type == "stateset"


def test_content_type_selects_the_format() -> None:
    assert is_openmetrics("application/openmetrics-text;version=1.0.0")
    assert not is_openmetrics("text/plain; version=0.0.4")
    assert not is_openmetrics(None)
    # Without # EOF the same body parses as text but not as OpenMetrics.
    assert len(parse(b"a 1\n", "text/plain")) == 1
    with pytest.raises(ExpositionError, match="data does not end with # EOF"):
        parse(b"a 1\n", OM)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"a 1\n# EOF\nb 1\n", "line 3: unexpected data after # EOF"),
        (b"a  1\n# EOF\n", "expected value after exactly one space"),
        (b"a 1\n\n# EOF\n", "line 2: expected a valid start token"),
        (b"# random comment\n# EOF\n", "OpenMetrics allows only"),
        (b"a 1 NaN\n# EOF\n", "expected timestamp (a float in seconds)"),
        (b"# UNIT a_bytes seconds\n# EOF\n", 'unit "seconds" not a suffix of metric "a_bytes"'),
        (b'a_total{b="c"} 1 # {x="y"} z\n# EOF\n', "expected a number as sample value"),
        (b'a_total 1 # {x=y} 1\n# EOF\n', "in exemplar"),
        (b"a {b=\"c\"} 1\n# EOF\n", "expected a number as sample value, got \"{b="),
        (b"# TYPE a untyped\n# EOF\n", 'invalid metric type "untyped"'),
        (b'a{b="c",} 1\n# EOF\n', 'expected label name, got "}"'),
        (b'a 1 # {t="x"} 1\n# EOF\n', "metric name a does not support exemplars"),
    ],
)
def test_openmetrics_errors(data: bytes, fragment: str) -> None:
    with pytest.raises(ExpositionError) as ei:
        parse(data, OM)
    assert fragment in str(ei.value)


def test_openmetrics_eof_with_or_without_final_newline() -> None:
    assert len(parse(b"a 1\n# EOF", OM)) == 1
    assert len(parse(b"a 1\n# EOF\n", OM)) == 1


def test_iter_lines_streams_from_str_and_bytes_lines_and_keeps_metadata() -> None:
    p = ExpositionParser(openmetrics=True)
    lines: list[bytes | str] = ["# TYPE a gauge\n", "a 1 10\n", b'a{x="y"} 2\n', "# EOF\n"]
    out = list(iter_lines(lines, openmetrics=True, parser=p))
    assert out == [
        (Labels.of(name__="a"), 10_000, 1.0),
        (Labels.of(name__="a", x="y"), NO_TIMESTAMP, 2.0),
    ]
    assert p.metadata["a"].type == "gauge"


def test_series_cache_is_reused_across_parses() -> None:
    cache: dict[bytes, Labels] = {}
    parse(b'a{b="1"} 1\n', cache=cache)
    assert cache == {b'a{b="1"}': Labels.of(name__="a", b="1")}
    r = parse(b'a{b="1"} 2\n', cache=cache)
    assert r.labels[0] is cache[b'a{b="1"}']


def test_empty_label_value_means_absent_label() -> None:
    assert parse(b'a{b=""} 1\n').labels[0] == Labels.of(name__="a")


class _CountingParser(ExpositionParser):
    def __init__(self, openmetrics: bool) -> None:
        super().__init__(openmetrics)
        self.slow_lines = 0

    def feed(self, line: bytes) -> tuple[Labels, int, float] | None:
        self.slow_lines += 1
        return super().feed(line)


@pytest.mark.parametrize("om", [False, True])
def test_plain_sample_lines_from_a_file_stay_on_the_fast_path(om: bool) -> None:
    ts = b" 1700000000" if om else b" 1700000000000"
    lines = [b'a{b="1"} 1' + ts + b"\n", b"c 2\n", b'a{b="2"} 3' + ts + b"\n"] * 3
    p = _CountingParser(om)
    out = list(iter_lines([*lines, b"# EOF\n"] if om else lines, om, parser=p))
    assert len(out) == 9
    assert p.slow_lines == (1 if om else 0)  # only "# EOF"


@pytest.mark.parametrize("value", ["1e400", "-1E999", "1e309", "+17976931348623159e292"])
@pytest.mark.parametrize("om", [False, True])
def test_out_of_range_values_are_rejected_like_go_parse_float(value: str, om: bool) -> None:
    # Prometheus 2.42 passes on strconv.ParseFloat's range error; Python's float() gives inf
    ctype = "application/openmetrics-text; version=1.0.0" if om else "text/plain; version=0.0.4"
    data = f"ok 1\nbig{{a=\"b\"}} {value}\n{'# EOF' if om else ''}\n".encode()
    with pytest.raises(ExpositionError) as ei:
        parse(data, ctype)
    assert str(ei.value) == f'line 2: strconv.ParseFloat: parsing "{value}": value out of range'


def test_infinity_spellings_and_underflow_are_accepted() -> None:
    r = parse(b"a +Inf\nb -Inf\nc inf\nd Infinity\ne 1e-400\nf 1.7976931348623157e308\n")
    assert r.values.tolist() == [math.inf, -math.inf, math.inf, math.inf, 0.0, 1.7976931348623157e308]
