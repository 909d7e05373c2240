"""Metadata lines of the exposition formats: ``# HELP``, ``# TYPE``, ``# UNIT``, ``# EOF``."""

from __future__ import annotations

from dataclasses import dataclass

from sloguard.ingest._exposition_series import (
    METRIC_NAME_RE,
    SeriesSyntaxError,
    decode_value,
    show,
)

TEXT_TYPES = {
    b"counter": "counter",
    b"gauge": "gauge",
    b"histogram": "histogram",
    b"summary": "summary",
    b"untyped": "unknown",
}
OM_TYPES = {
    t: t.decode()
    for t in (
        b"counter",
        b"gauge",
        b"histogram",
        b"gaugehistogram",
        b"summary",
        b"info",
        b"stateset",
        b"unknown",
    )
}

#: (metric family name, field of MetricMetadata, value)
MetaEntry = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class MetricMetadata:
    """What the exposition said about a metric family. ``type`` uses OpenMetrics' words."""

    type: str = "unknown"
    help: str = ""
    unit: str = ""


def _help_text_unescape(raw: bytes) -> str:
    # The text format's HELP escapes only backslash and newline.
    out = raw.replace(b"\\\\", b"\x00\x01").replace(b"\\n", b"\n").replace(b"\x00\x01", b"\\")
    return out.decode("utf-8", "replace")


def parse_comment_text(line: bytes) -> MetaEntry | None:
    """A ``#`` line of the text format; ``None`` for a plain comment."""
    body = line[1:]
    if body[:1] not in (b" ", b"\t"):
        return None
    parts = body.split(None, 2)
    if not parts or parts[0] not in (b"HELP", b"TYPE"):
        return None
    after = body.lstrip(b" \t")[4:5]
    if after not in (b" ", b"\t"):
        return None  # "# HELP" alone is a plain comment, as in Prometheus' lexer
    kw = parts[0].decode()
    if len(parts) < 2 or METRIC_NAME_RE.fullmatch(parts[1]) is None:
        got = show(parts[1]) if len(parts) > 1 else "end of line"
        raise SeriesSyntaxError(f"expected metric name after {kw}, got {got}")
    name = parts[1].decode("ascii")
    text = parts[2] if len(parts) > 2 else b""
    if kw == "HELP":
        return name, "help", _help_text_unescape(text)
    mtype = TEXT_TYPES.get(text.strip())
    if mtype is None:
        raise SeriesSyntaxError(f"invalid metric type {show(text)}")
    return name, "type", mtype


def parse_comment_om(line: bytes) -> MetaEntry | None:
    """A ``#`` line of OpenMetrics; ``None`` for ``# EOF``; other comments are errors."""
    if line == b"# EOF":
        return None
    kw = line[2:6]
    if line[:2] != b"# " or kw not in (b"HELP", b"TYPE", b"UNIT") or line[6:7] != b" ":
        raise SeriesSyntaxError(
            f"expected a valid start token, got {show(line)} "
            "(OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF comments)"
        )
    kws = kw.decode()
    m = METRIC_NAME_RE.match(line, 7)
    if m is None:
        raise SeriesSyntaxError(f"expected metric name after {kws}, got {show(line[7:])}")
    name = m.group(0).decode("ascii")
    if line[m.end() : m.end() + 1] != b" ":
        raise SeriesSyntaxError(f"expected text in {kws}")
    text = line[m.end() + 1 :]
    if kws == "HELP":
        return name, "help", decode_value(text, "help text")
    if kws == "TYPE":
        mtype = OM_TYPES.get(text)
        if mtype is None:
            raise SeriesSyntaxError(f"invalid metric type {show(text)}")
        return name, "type", mtype
    unit = decode_value(text, "unit")
    if unit and not (name.endswith("_" + unit)):
        raise SeriesSyntaxError(f'unit "{unit}" not a suffix of metric "{name}"')
    return name, "unit", unit
