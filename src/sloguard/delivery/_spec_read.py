"""Field readers shared by the rollout spec's formats, over the slo package's ``Reader``
(every problem collected with its key path; positions are added later by ``locate``)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from sloguard.delivery.analysis._template_fields import parse_go_duration_ms
from sloguard.slo._reader import Reader

_DIGITS = re.compile(r"^[+-]?\d+$")


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def known(r: Reader, d: Mapping[str, Any], path: str, allowed: set[str],
          ignored: Mapping[str, str] | None = None, refused: Mapping[str, str] | None = None) -> None:
    """Unknown keys are errors with a suggestion; ``ignored`` ones (key -> why) warnings,
    ``refused`` ones (key -> why sloguard cannot honour them) errors."""
    ignored, refused = ignored or {}, refused or {}
    for k in d:
        key = str(k)
        if key in allowed:
            continue
        if key in ignored:
            r.warning(join(path, key), f"is not supported and is ignored: {ignored[key]}")
        elif key in refused:
            r.problem(join(path, key), f"is not supported: {refused[key]}")
        else:
            r.problem(join(path, key), f"unknown field{suggest(key, allowed | set(ignored) | set(refused))}")


def suggest(key: str, choices: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(choices), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (expected one of {', '.join(sorted(choices))})" if choices else ""


def integer(r: Reader, d: Mapping[str, Any], key: str, path: str, *, low: int | None = None,
            high: int | None = None, required: bool = False) -> int | None:
    """A whole number in ``low..high`` (inclusive) at ``path.key``."""
    v = d.get(key)
    where = join(path, key)
    if v is None:
        if required:
            r.problem(where, "is required")
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        r.problem(where, f"expected a whole number, got {v!r}")
        return None
    if (low is not None and v < low) or (high is not None and v > high):
        bounds = f"{low}..{high}" if high is not None else f"at least {low}"
        r.problem(where, f"{v} is outside {bounds}")
        return None
    return v


def pause_seconds(r: Reader, v: Any, where: str) -> int | None:
    """Argo's pause duration: whole seconds (a number, or digits in a string), else a Go
    duration (``30s``, ``5m``, ``1h``, ``1m30s``) truncated to whole seconds, as Argo does."""
    seconds: int | None = None
    if isinstance(v, int) and not isinstance(v, bool):
        seconds = v
    elif isinstance(v, str) and _DIGITS.match(v):
        seconds = int(v)
    elif isinstance(v, str):
        try:
            seconds = int(parse_go_duration_ms(v) / 1000)
        except ValueError:
            seconds = None
    if seconds is None or seconds < 0 or (isinstance(v, str) and v.strip().startswith("-")):
        r.problem(where, f"invalid duration {v!r}: expected whole seconds or a duration such as 30s, 5m, 1h (not negative)")
        return None
    return seconds


def scalar_text(v: Any) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str | int | float):
        return str(v)
    return None


def split_where(message: str, fallback: str) -> tuple[str, str]:
    """(key path, message) of a ``"path: message"`` error from the routers or judges."""
    head, sep, rest = message.partition(": ")
    if sep and head.startswith(fallback.split(".")[0]) and " " not in head:
        return head, rest.rstrip(".")
    return fallback, message.rstrip(".")
