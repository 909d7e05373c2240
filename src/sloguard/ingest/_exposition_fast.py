"""The per-line hot loop shared by ``parse`` and ``iter_lines``.

A sample line is split from the right (the value and timestamp never contain spaces,
quotes or braces), the series text is looked up in the parser's cache, and the value is
converted with ``float``. Anything unusual (comments, cache misses that fail, exemplars,
odd spacing, bad numbers, infinities) goes to ``ExpositionParser.feed``, the exact path, which either
returns the same sample or raises ``ExpositionError`` with the line number. Cache keys
are only ever series texts that the exact scanner accepted in full, so a cache hit is
always a valid series.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sloguard.ingest.exposition import ExpositionParser
    from sloguard.labels import Labels

_MAX_TS = 2**63 - 1


def fast_samples(
    p: ExpositionParser, lines: Iterable[bytes], no_ts: int, normal_nan: float
) -> Iterator[tuple[Labels, int, float]]:
    """Yield the samples of ``lines`` (bytes, trailing newline optional) in order."""
    om = p.openmetrics
    sep = b" "  # tabs, double spaces and other whitespace take the exact path
    get = p.cache.get
    labels_of = p._labels
    feed = p.feed
    it = iter(lines)
    n = p.lineno
    for n, line in enumerate(it, p.lineno + 1):  # noqa: B007 - n is read after the loop
        try:
            if line[0] == 35:  # '#': metadata, comments, # EOF
                raise ValueError
            rest, last = line.rsplit(sep, 1)
            # float() and int() accept surrounding whitespace that Prometheus rejects
            # ("1\r", "\v1"): tokens must start and end with a printable byte; one
            # trailing newline (from iterating a file) is the line end.
            if last[-1] == 10:
                last = last[:-1]
            if last[-1] <= 32 or last[0] <= 32:
                raise ValueError
            if rest[-1] == 125 or b" " not in rest:  # '}' or bare name: no timestamp
                series, vtok, t = rest, last, no_ts
            else:
                series, vtok = rest.rsplit(sep, 1)
                if vtok[0] <= 32 or vtok[-1] <= 32:
                    raise ValueError
                if b"_" in last:
                    raise ValueError
                if om:
                    t = int(float(last) * 1000)
                    if not -_MAX_TS <= t <= _MAX_TS:
                        raise ValueError
                else:
                    if not last.isdigit():
                        raise ValueError
                    t = int(last)
                    if t > _MAX_TS:
                        raise ValueError
            labels = get(series) or labels_of(series)
            if b"_" in vtok:
                raise ValueError
            v = float(vtok)
            if v != v:
                v = normal_nan
            elif v - v:  # ±inf: the exact path tells "+Inf" from an out-of-range "1e400"
                raise ValueError
        except (ValueError, IndexError, OverflowError):
            p.lineno = n - 1  # feed counts the line itself
            sample = feed(line[:-1] if line[-1:] == b"\n" else line)
            if sample is not None:
                yield sample
            if p.eof:
                break
            continue
        yield labels, t, v
    p.lineno = n
    for line in it:  # only after # EOF: feed raises on the first line
        feed(line[:-1] if line[-1:] == b"\n" else line)
