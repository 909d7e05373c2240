"""Give a big query's freed memory back to the operating system.

glibc serves large allocations from ``mmap`` only until one is freed; then it raises its
``mmap`` threshold (up to 32 MiB), so a query's later arrays come from heap arenas that
are not returned when freed. After a query that held many samples (or was cancelled
half-way) the process would keep that memory; ``malloc_trim(0)`` releases the free pages
of every arena. On other C libraries this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

#: Queries that held at least this many samples at once are followed by a trim.
TRIM_AFTER_SAMPLES = 1_000_000


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def trim_after(peak_samples: int, cancelled: bool) -> None:
    """Trim the C heap if the query was big or stopped half-way."""
    if peak_samples < TRIM_AFTER_SAMPLES and not cancelled:
        return
    fn = _malloc_trim()
    if fn is not None:
        fn(0)
