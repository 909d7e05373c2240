"""Prometheus durations, shared by every package: ``model.Duration`` and Go's ``time.Duration``.

``parse_duration_ms`` reads the ``model.ParseDuration`` grammar (``1h30m``, ``5m``, ``30d``,
``100ms``; units ``y w d h m s ms`` in that order, each at most once; ``"0"`` is zero).
``format_duration_ms`` is ``model.Duration.String()`` (years and weeks only when exact, so
``90d`` rather than ``12w6d``); ``format_go_duration`` is ``time.Duration.String()``
(``5m0s``). Packages that need their own error wording catch ``DurationError`` and re-word.
"""

from __future__ import annotations

import re

__all__ = ["DurationError", "format_duration_ms", "format_go_duration", "parse_duration_ms"]

_RE = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_UNIT_NAMES = ("y", "w", "d", "h", "m", "s", "ms")
_EXACT_ONLY = frozenset({"y", "w"})


class DurationError(ValueError):
    """A string that is not a Prometheus duration; the message is Prometheus' wording."""


def parse_duration_ms(text: str) -> int:
    """``"1h30m"`` -> 5_400_000 ms. Raises ``DurationError`` (``not a valid duration string: "x"``)."""
    if text == "0":
        return 0
    m = _RE.fullmatch(text)
    if not text or m is None:
        raise DurationError(f'not a valid duration string: "{text}"')
    return sum(int(g) * u for g, u in zip(m.groups(), _UNITS_MS, strict=True) if g)


def format_duration_ms(ms: int) -> str:
    """``model.Duration.String()``: ``5_400_000`` -> ``1h30m``, ``0`` -> ``0s``; negative with a ``-``."""
    if ms < 0:
        return "-" + format_duration_ms(-ms)
    if ms == 0:
        return "0s"
    out = []
    for name, size in zip(_UNIT_NAMES, _UNITS_MS, strict=True):
        if name in _EXACT_ONLY and ms % size:
            continue
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{name}")
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
