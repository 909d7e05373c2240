"""Parsing the Prometheus text format 0.0.4 and OpenMetrics 1.0 text, as Prometheus 2.42 does.

Two entry points: ``parse`` for a whole scrape body, ``iter_lines`` for streaming a large
file (backfill). Both share ``ExpositionParser``, which keeps a cache from the raw series
text (``name{...}``) to its ``Labels`` so each distinct series is parsed once; a sample
line then costs a split, a dict lookup and a ``float()``.

Semantics that follow Prometheus: text-format timestamps are integer milliseconds,
OpenMetrics timestamps are float seconds (truncated to ms) and OpenMetrics input must end
with ``# EOF``; NaN values are normalised to Prometheus' ``NormalNaN`` bit pattern (so a
scraped NaN is never a staleness marker); exemplars are checked and skipped; ``_created``
series are kept as ordinary series; the text type ``untyped`` is reported as ``unknown``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from sloguard.ingest._exposition_fast import fast_samples
from sloguard.ingest._exposition_meta import MetricMetadata
from sloguard.ingest._exposition_parser import (
    NO_TIMESTAMP,
    NORMAL_NAN,
    ExpositionError,
    ExpositionParser,
)
from sloguard.labels import Labels

__all__ = [
    "NO_TIMESTAMP",
    "NORMAL_NAN",
    "ExpositionError",
    "ExpositionParser",
    "MetricMetadata",
    "ParsedScrape",
    "is_openmetrics",
    "iter_lines",
    "parse",
]

_OM_MEDIA_TYPE = "application/openmetrics-text"


@dataclass(frozen=True, slots=True)
class ParsedScrape:
    """One parsed exposition: sample ``i`` is ``labels[i]`` = ``values[i]`` at ``timestamps[i]``.

    ``timestamps`` are milliseconds, ``NO_TIMESTAMP`` where the line had none. ``labels``
    include ``__name__``. ``metadata`` maps a metric family name to its type, help and unit.
    """

    labels: list[Labels]
    values: npt.NDArray[np.float64]
    timestamps: npt.NDArray[np.int64]
    metadata: dict[str, MetricMetadata]

    def __len__(self) -> int:
        return len(self.labels)


def is_openmetrics(content_type: str | None) -> bool:
    """Whether a Content-Type selects OpenMetrics (anything else is text 0.0.4)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == _OM_MEDIA_TYPE


def iter_lines(
    lines: Iterable[bytes | str],
    openmetrics: bool,
    parser: ExpositionParser | None = None,
) -> Iterator[tuple[Labels, int, float]]:
    """Stream ``(labels, timestamp_ms or NO_TIMESTAMP, value)`` from lines of a file.

    Lines may keep their trailing newline (iterate a file opened in binary mode for
    speed; ``str`` lines are encoded). Pass a ``parser`` to read its ``metadata``
    afterwards. Raises ``ExpositionError`` on the first malformed line.
    """
    p = parser if parser is not None else ExpositionParser(openmetrics)
    it = iter(lines)
    first = next(it, None)
    if first is not None:
        raw: Iterable[bytes]
        if isinstance(first, str):
            raw = (ln.encode("utf-8", "surrogateescape") if isinstance(ln, str) else ln
                   for ln in itertools.chain((first,), it))
        else:
            raw = itertools.chain((first,), cast("Iterator[bytes]", it))
        yield from fast_samples(p, raw, NO_TIMESTAMP, NORMAL_NAN)
    p.finish()


def parse(
    data: bytes,
    content_type: str | None = None,
    cache: dict[bytes, Labels] | None = None,
) -> ParsedScrape:
    """Parse a whole exposition body; the Content-Type selects the format."""
    p = ExpositionParser(is_openmetrics(content_type), cache)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    labels: list[Labels] = []
    ts: list[int] = []
    vs: list[float] = []
    add_l, add_t, add_v = labels.append, ts.append, vs.append
    for lset, t, v in fast_samples(p, lines, NO_TIMESTAMP, NORMAL_NAN):
        add_l(lset)
        add_t(t)
        add_v(v)
    p.finish()
    return ParsedScrape(
        labels, np.array(vs, dtype=np.float64), np.array(ts, dtype=np.int64), p.metadata
    )
