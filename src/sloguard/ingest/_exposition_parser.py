"""The line parser behind ``ingest.exposition``: state, fast path per line, exact path.

``ExpositionParser.feed`` parses one line. Sample lines first try a split from the right
and the series cache; anything unusual goes through ``_exact``, which walks the tokens
and raises ``ExpositionError`` with Prometheus' wording and the line number.
"""

from __future__ import annotations

import re
import struct
from dataclasses import replace

import numpy as np

from sloguard.ingest._errors import IngestError
from sloguard.ingest._exposition_meta import (
    MetricMetadata,
    parse_comment_om,
    parse_comment_text,
)
from sloguard.ingest._exposition_series import (
    SeriesSyntaxError,
    parse_series_text,
    scan_exemplar,
    scan_series,
    show,
)
from sloguard.labels import Labels

#: Timestamp of a sample whose line carried none (the scraper uses the scrape time).
NO_TIMESTAMP = int(np.iinfo(np.int64).min)
#: Prometheus' canonical NaN (``value.NormalNaN``), distinct from the staleness marker.
NORMAL_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
_MAX_TS = 2**63 - 1
_TEXT_WS = re.compile(rb"[ \t]+")  # the text format's only separators

class ExpositionError(IngestError, ValueError):
    """Malformed exposition input; the message starts with ``line N:`` and names the problem."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


class _OutOfRange(ValueError):
    """A number too large for a float64 (Go's ``strconv.ErrRange``), e.g. ``1e400``."""


_INF_SPELLINGS = frozenset((b"inf", b"infinity"))


def _float(tok: bytes) -> float:
    """Go's ``strconv.ParseFloat`` as Prometheus restricts it (no ``_``, no hex, and no
    surrounding whitespace, which Python's ``float`` would strip). A finite number too
    large for a float64 raises ``_OutOfRange`` where Python's ``float`` gives ±inf."""
    if b"_" in tok or tok.strip() != tok:
        raise ValueError(tok)
    v = float(tok)
    if v != v:
        return NORMAL_NAN
    if v - v and tok.lstrip(b"+-").lower() not in _INF_SPELLINGS:  # ±inf from a number
        raise _OutOfRange(tok)
    return v


class ExpositionParser:
    """Line-by-line parser state: format, series cache, metadata, ``# EOF`` seen.

    ``cache`` may be shared across scrapes of one target (like Prometheus' scrape cache);
    it maps the raw series bytes to ``Labels``.
    """

    def __init__(self, openmetrics: bool, cache: dict[bytes, Labels] | None = None) -> None:
        self.openmetrics = openmetrics
        self.cache: dict[bytes, Labels] = {} if cache is None else cache
        self.metadata: dict[str, MetricMetadata] = {}
        self.eof = False
        self.lineno = 0

    def feed(self, line: bytes) -> tuple[Labels, int, float] | None:
        """Parse one line (without its newline); return a sample or ``None``."""
        self.lineno += 1
        if self.eof:
            raise ExpositionError(self.lineno, "unexpected data after # EOF")
        if line[:1] == b"#":
            self._comment(line)
            return None
        if not line:
            if self.openmetrics:
                raise ExpositionError(self.lineno, "expected a valid start token, got empty line")
            return None
        if line[0] not in (32, 9):  # leading space or tab: exact path
            try:
                return self._fast(line)
            except (ValueError, KeyError, IndexError):
                pass
        if not self.openmetrics and line[:1] in (b" ", b"\t"):
            stripped = line.lstrip(b" \t")
            if not stripped:
                return None  # a blank line
            if stripped[:1] == b"#":
                self._comment(stripped)
                return None
            # Prometheus 2.42 keeps the leading whitespace in the metric name and then
            # rejects the name; say so plainly.
            raise ExpositionError(
                self.lineno, f"invalid metric name {show(line.split()[0] if line.split() else line)}: "
                "whitespace before the metric name"
            )
        return self._exact(line)

    def finish(self) -> None:
        """Call at end of input: OpenMetrics must have ended with ``# EOF``."""
        if self.openmetrics and not self.eof:
            raise ExpositionError(self.lineno + 1, "data does not end with # EOF")

    # -- comments --------------------------------------------------------------------

    def _comment(self, line: bytes) -> None:
        try:
            if self.openmetrics:
                entry = parse_comment_om(line)
                if entry is None:
                    self.eof = True
                    return
            else:
                entry = parse_comment_text(line)
                if entry is None:
                    return
        except SeriesSyntaxError as e:
            raise ExpositionError(self.lineno, str(e)) from None
        name, field, value = entry
        old = self.metadata.get(name, MetricMetadata())
        self.metadata[name] = replace(old, **{field: value})

    # -- samples ---------------------------------------------------------------------

    def _labels(self, series: bytes) -> Labels:
        labels = self.cache.get(series)
        if labels is None:
            labels = parse_series_text(series, self.openmetrics)
            self.cache[series] = labels
        return labels

    def _fast(self, line: bytes) -> tuple[Labels, int, float]:
        """Split from the right; any surprise falls back to ``_exact``."""
        om = self.openmetrics
        if om and b"#" in line:
            raise ValueError("exact path")
        sep = b" "  # tabs and repeated spaces take the exact path
        if b"{" in line:
            rest, last = line.rsplit(sep, 1)
            if rest[-1:] == b"}":
                series, vtok, ttok = rest, last, b""
            else:
                series, vtok = rest.rsplit(sep, 1)
                ttok = last
        else:
            parts = line.split(sep)
            if len(parts) == 2:
                (series, vtok), ttok = parts, b""
            else:
                series, vtok, ttok = parts
        return self._labels(series), self._timestamp(ttok), _float(vtok)

    def _timestamp(self, tok: bytes) -> int:
        if not tok:
            return NO_TIMESTAMP
        if self.openmetrics:
            secs = _float(tok)
            if secs != secs or secs in (float("inf"), float("-inf")):
                raise ValueError(tok)
            t = int(secs * 1000)
            if not -_MAX_TS <= t <= _MAX_TS:
                raise ValueError(tok)
            return t
        if not tok.isdigit():
            raise ValueError(tok)
        t = int(tok)
        if t > _MAX_TS:
            raise ValueError(tok)
        return t

    def _exact(self, line: bytes) -> tuple[Labels, int, float]:
        """Token-by-token parse with Prometheus' error wording."""
        om = self.openmetrics
        try:
            labels, end = scan_series(line, om)
        except SeriesSyntaxError as e:
            raise ExpositionError(self.lineno, f"{e} while parsing {show(line)}") from None
        self.cache.setdefault(line[:end], labels)
        rest = line[end:]
        if om:
            if rest[:1] != b" ":
                raise self._err("expected value after metric", rest)
            toks = self._om_tokens(rest[1:], labels.metric_name)
        else:
            toks = _TEXT_WS.split(rest.strip(b" \t"))
            if len(toks) > 2:
                raise self._err("expected timestamp or new record", b" ".join(toks[2:]))
        if not toks or not toks[0]:
            raise self._err("expected value after metric", rest)
        return labels, self._checked_ts(toks[1] if len(toks) > 1 else b""), self._checked_value(toks[0])

    def _om_tokens(self, rest: bytes, name: str) -> list[bytes]:
        idx = rest.find(b" # {")
        main = rest if idx < 0 else rest[:idx]
        toks = main.split(b" ")
        if not toks[0]:
            raise self._err("expected value after exactly one space", main)
        if len(toks) > 2 or any(not t for t in toks):
            raise self._err("expected timestamp or comment", main)
        if idx >= 0:
            if not name.endswith(("_total", "_bucket")):
                raise ExpositionError(self.lineno, f"metric name {name} does not support exemplars")
            self._exemplar(rest[idx + 3 :])
        return toks

    def _exemplar(self, ex: bytes) -> None:
        try:
            end = scan_exemplar(ex, 0)
        except SeriesSyntaxError as e:
            raise ExpositionError(self.lineno, f"{e} in exemplar {show(ex)}") from None
        toks = ex[end:].split(b" ")
        if toks[0] != b"" or not 2 <= len(toks) <= 3 or any(not t for t in toks[1:]):
            raise self._err("expected exemplar value and optional timestamp", ex[end:])
        self._checked_value(toks[1])
        if len(toks) == 3:
            self._checked_ts(toks[2])

    def _checked_value(self, tok: bytes) -> float:
        try:
            return _float(tok)
        except _OutOfRange:
            # Prometheus passes on strconv's error as it is
            raise ExpositionError(
                self.lineno, f"strconv.ParseFloat: parsing {show(tok)}: value out of range"
            ) from None
        except ValueError:
            raise self._err("expected a number as sample value", tok) from None

    def _checked_ts(self, tok: bytes) -> int:
        try:
            return self._timestamp(tok)
        except ValueError:
            unit = "a float in seconds" if self.openmetrics else "an integer in milliseconds"
            raise self._err(f"expected timestamp ({unit})", tok) from None

    def _err(self, expected: str, got: bytes) -> ExpositionError:
        return ExpositionError(self.lineno, f"{expected}, got {show(got) if got else 'end of line'}")
