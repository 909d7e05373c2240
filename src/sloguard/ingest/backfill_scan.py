"""Fast scanning of OpenMetrics sample lines for backfill, a chunk of lines at a time.

Backfill files hold millions of lines of one shape: ``series value timestamp``. This
scanner finds the two last spaces of every line with numpy, parses all values and
timestamps of a chunk in one ``np.fromstring`` call and maps each series text to a
series id through a cache. It is only a fast path in front of the exact parser
(``ingest.exposition.ExpositionParser``): comment lines, lines with ``#`` or tabs, new
series, and anything it is not sure about go through ``ExpositionParser.feed``, which
gives Prometheus' semantics and error messages (with the line number).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sloguard.ingest.exposition import NO_TIMESTAMP, ExpositionError, ExpositionParser
from sloguard.labels import Labels

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# Bytes a plain decimal value or timestamp may contain (anything else: exact path).
_NUMERIC = np.zeros(256, np.bool_)
_NUMERIC[list(b"0123456789.eE+- \n")] = True
_MAX_SECONDS = 9.2e15  # seconds * 1000 must fit in int64


@dataclass(frozen=True, slots=True)
class ChunkSamples:
    """Samples of one chunk in line order: series id, ms timestamp, value."""

    ids: I64
    timestamps: I64
    values: F64


class MissingTimestampError(ExpositionError):
    """Backfill needs a timestamp on every sample (as promtool does)."""


class ChunkScanner:
    """Turns chunks of whole lines into ``ChunkSamples``; keeps the series registry.

    ``labels[i]`` is the label set of series id ``i``.
    """

    def __init__(self) -> None:
        self.parser = ExpositionParser(openmetrics=True)
        self.labels: list[Labels] = []
        self._label_ids: dict[Labels, int] = {}
        self._text_ids: dict[bytes, int] = {}

    def scan(self, chunk: bytes, first_line: int) -> ChunkSamples:
        """``chunk`` is whole lines, each ending in ``\\n``; its first line is ``first_line``."""
        arr = np.frombuffer(chunk, np.uint8)
        ends = np.flatnonzero(arr == 10)
        starts = np.concatenate(([0], ends[:-1] + 1))
        if self.parser.eof and len(ends):  # # EOF ended an earlier chunk
            self._after_eof(chunk, starts, ends, first_line, 0)
        sp = np.flatnonzero(arr == 32)
        k = np.searchsorted(sp, ends) - 1
        last = np.where(k >= 0, sp[np.maximum(k, 0)] if len(sp) else 0, -1)
        second = np.where(k >= 1, sp[np.maximum(k - 1, 0)] if len(sp) else 0, -1)
        ok = (second > starts) & (last > second + 1) & (ends > last + 1)
        ok &= ~_lines_with(arr, starts, b"#\t")
        fast = np.flatnonzero(ok)
        nums = _numbers(arr, second[fast], ends[fast]) if len(fast) else np.empty((0, 2))
        if nums is None:
            fast, nums = fast[:0], np.empty((0, 2))
        else:
            good = np.isfinite(nums).all(axis=1) & (np.abs(nums[:, 1]) < _MAX_SECONDS)
            fast, nums = fast[good], nums[good]
        return self._assemble(chunk, first_line, starts, ends, second, fast, nums)

    def finish(self, lines: int) -> None:
        """End of input after ``lines`` lines: OpenMetrics must have ended with ``# EOF``."""
        self.parser.lineno = lines
        self.parser.finish()

    def _assemble(
        self, chunk: bytes, first_line: int, starts: I64, ends: I64, second: I64,
        fast: I64, nums: npt.NDArray[np.float64],
    ) -> ChunkSamples:
        n = len(ends)
        ids = np.full(n, -1, np.int64)
        ts = np.zeros(n, np.int64)
        vs = np.zeros(n, np.float64)
        sers = [chunk[a:b] for a, b in zip(starts[fast].tolist(), second[fast].tolist(), strict=True)]
        got = np.array(list(map(self._text_ids.get, sers)), dtype=np.float64)
        known = ~np.isnan(got)
        ids[fast[known]] = got[known].astype(np.int64)
        ts[fast] = (nums[:, 1] * 1000).astype(np.int64)
        vs[fast] = nums[:, 0]
        pending = np.ones(n, np.bool_)
        pending[fast[known]] = False
        text_of = dict(zip(fast[~known].tolist(), [sers[j] for j in np.flatnonzero(~known).tolist()], strict=True))
        text_ids = self._text_ids
        for i in np.flatnonzero(pending).tolist():  # in line order: EOF and metadata see order
            text = text_of.get(i)
            if text is not None and text in text_ids:  # a series first seen earlier in this chunk
                ids[i] = text_ids[text]
                continue
            self._feed(chunk[starts[i] : ends[i]], first_line + i, i, ids, ts, vs)
            if self.parser.eof and i + 1 < n:
                self._after_eof(chunk, starts, ends, first_line, i + 1)
        keep = ids >= 0
        return ChunkSamples(ids[keep], ts[keep], vs[keep])

    def _feed(self, line: bytes, lineno: int, i: int, ids: I64, ts: I64, vs: F64) -> None:
        p = self.parser
        p.lineno = lineno - 1
        sample = p.feed(line)
        if sample is None:
            return
        labels, t, v = sample
        if t == NO_TIMESTAMP:
            raise MissingTimestampError(lineno, f"expected timestamp for series {labels}, got none")
        sid = self._label_ids.setdefault(labels, len(self._label_ids))
        if sid == len(self.labels):
            self.labels.append(labels)
        space = line.rfind(b" ", 0, line.rfind(b" "))
        if space > 0 and b"#" not in line:
            self._text_ids[line[:space]] = sid
        ids[i], ts[i], vs[i] = sid, t, v

    def _after_eof(self, chunk: bytes, starts: I64, ends: I64, first_line: int, i: int) -> None:
        """A line after ``# EOF``: the exact parser reports it as an error."""
        self.parser.lineno = first_line + i - 1
        self.parser.feed(chunk[starts[i] : ends[i]])


def _lines_with(arr: npt.NDArray[np.uint8], starts: I64, chars: bytes) -> npt.NDArray[np.bool_]:
    """Which lines contain any of ``chars`` (rare bytes: found by position)."""
    hit = np.zeros(len(starts), np.bool_)
    for c in chars:
        pos = np.flatnonzero(arr == c)
        if len(pos):
            hit[np.searchsorted(starts, pos, side="right") - 1] = True
    return hit


def _numbers(arr: npt.NDArray[np.uint8], second: I64, ends: I64) -> npt.NDArray[np.float64] | None:
    """Parse ``value timestamp`` of each line at once; ``None`` if anything is unusual."""
    delta = np.zeros(len(arr) + 1, np.int8)
    delta[second + 1] += 1
    delta[ends + 1] -= 1
    tails = arr[np.cumsum(delta[:-1], dtype=np.int8).view(np.bool_)]
    if not _NUMERIC[tails].all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            nums = np.fromstring(tails.tobytes(), sep=" ")
        except (DeprecationWarning, ValueError):
            return None
    if len(nums) != 2 * len(second):
        return None
    return nums.reshape(-1, 2)
