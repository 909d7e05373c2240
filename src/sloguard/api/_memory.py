"""The process' memory ceiling (``--query.memory-limit``): new queries are refused with
503 while the resident set is above it, before the machine swaps.

RSS comes from ``/proc/self/statm`` (one small read, cheap enough for every query). The
default ceiling is 80% of the smaller of the machine's ``MemTotal`` and the cgroup's
memory limit (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_FRACTION = 0.8
_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)
#: cgroup v1 reports "no limit" as a huge number near 2**63.
_UNLIMITED = 1 << 60


def rss_bytes() -> int:
    """This process' resident set size, or 0 where ``/proc`` is unavailable."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def machine_memory_bytes() -> int | None:
    """``MemTotal`` from ``/proc/meminfo``, or ``None``."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cgroup_memory_bytes() -> int | None:
    """The cgroup's memory limit, or ``None`` when there is none."""
    for path in _CGROUP_LIMITS:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _UNLIMITED:
            return int(text)
    return None


def default_memory_limit(fraction: float = DEFAULT_FRACTION) -> int:
    """``fraction`` of the smaller of RAM and the cgroup limit (0, "no limit", if neither is known)."""
    known = [b for b in (machine_memory_bytes(), cgroup_memory_bytes()) if b]
    return int(min(known) * fraction) if known else 0


def over_limit_message(rss: int, limit: int) -> str:
    return (
        f"the server refuses new queries while it uses {_mib(rss)} of its {_mib(limit)} memory "
        "limit (--query.memory-limit); retry later or raise the limit"
    )


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"
