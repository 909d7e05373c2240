"""Prometheus' ``model.Duration``: parsing (``1h30m``, ``100d``) and its exact spelling."""

from __future__ import annotations

import re

_RE = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNITS_MS = (365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1)


def parse_duration_ms(text: str) -> int:
    """``"1h30m"`` -> 5_400_000 ms. Raises ``ValueError`` with Prometheus' wording."""
    if text == "0":
        return 0
    m = _RE.fullmatch(text)
    if not text or m is None:
        raise ValueError(f'not a valid duration string: "{text}"')
    return sum(int(g) * u for g, u in zip(m.groups(), _UNITS_MS, strict=True) if g)


def format_duration_ms(ms: int) -> str:
    """Like ``model.Duration.String()``: years and weeks only when exact (``90d``, not ``12w6d``)."""
    if ms == 0:
        return "0s"
    out = []
    for unit, mult, exact in (
        ("y", _UNITS_MS[0], True), ("w", _UNITS_MS[1], True), ("d", _UNITS_MS[2], False),
        ("h", _UNITS_MS[3], False), ("m", _UNITS_MS[4], False), ("s", _UNITS_MS[5], False),
        ("ms", 1, False),
    ):
        if exact and ms % mult != 0:
            continue
        n = ms // mult
        if n > 0:
            out.append(f"{n}{unit}")
            ms -= n * mult
    return "".join(out)


def format_go_duration(ns: int) -> str:
    """Go's ``time.Duration.String()`` for whole-ms-or-coarser values (``5m0s``, ``1h0m0s``, ``0s``)."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        if ns % 1_000_000 == 0:
            return f"{sign}{ns // 1_000_000}ms"
        return f"{sign}{ns / 1e6:g}ms"
    h, rem = divmod(ns, 3600 * 10**9)
    m, rem = divmod(rem, 60 * 10**9)
    secs = _trim_frac(rem / 1e9) if rem % 10**9 else str(rem // 10**9)
    if h:
        return f"{sign}{h}h{m}m{secs}s"
    if m:
        return f"{sign}{m}m{secs}s"
    return f"{sign}{secs}s"


def _trim_frac(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")
