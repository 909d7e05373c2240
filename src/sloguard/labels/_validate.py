"""Label validation with Prometheus' rules and error wording."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sloguard.labels._labels import METRIC_NAME

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


#: Longest label name or value shown whole in an error message.
MESSAGE_TEXT_CHARS = 200
#: Most labels of one series shown in an error message.
MESSAGE_LABELS = 20


class InvalidLabelError(ValueError):
    """A label name or value that Prometheus would refuse; the message names it."""


def is_valid_label_name(name: str) -> bool:
    return _LABEL_NAME.fullmatch(name) is not None


def is_valid_metric_name(name: str) -> bool:
    return _METRIC_NAME.fullmatch(name) is not None


def check_label_name(name: str) -> None:
    if not is_valid_label_name(name):
        raise InvalidLabelError(
            f"invalid label name {shorten(name)!r}: must match [a-zA-Z_][a-zA-Z0-9_]*"
        )
    if name.startswith("__") and name != METRIC_NAME:
        raise InvalidLabelError(
            f"invalid label name {shorten(name)!r}: names starting with '__' are reserved"
        )


def check_label_value(name: str, value: str | bytes) -> str:
    """Return the value as str; raise if it is not valid UTF-8."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidLabelError(
                f"invalid label value for label {shorten(name)!r}: {value[:MESSAGE_TEXT_CHARS]!r} is not valid UTF-8"
            ) from None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidLabelError(
            f"invalid label value for label {shorten(name)!r}: {value[:MESSAGE_TEXT_CHARS]!r} is not valid UTF-8"
        ) from None
    return value


def check_labels(pairs: Iterable[tuple[str, str]]) -> None:
    """Validate a whole label set: names, values, duplicates and the metric name."""
    seen: set[str] = set()
    has_name = False
    for name, value in pairs:
        check_label_name(name)
        check_label_value(name, value)
        if name in seen:
            raise InvalidLabelError(f"duplicate label name {shorten(name)!r} in label set")
        seen.add(name)
        if name == METRIC_NAME:
            has_name = True
            if not is_valid_metric_name(value):
                raise InvalidLabelError(
                    f"invalid metric name {shorten(value)!r}: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
                )
    if not has_name:
        raise InvalidLabelError("label set has no metric name (label '__name__' missing)")



def shorten(text: str, max_chars: int = MESSAGE_TEXT_CHARS) -> str:
    """``text`` for an error message: cut after ``max_chars`` characters with a note of
    its full size in bytes, e.g. ``aaaa...(65536 bytes)``."""
    if len(text) <= max_chars:
        return text
    size = len(text.encode("utf-8", "surrogatepass"))
    return f"{text[:max_chars]}...({size} bytes)"


def describe_labels(pairs: Iterable[tuple[str, str]]) -> str:
    """A label set in Prometheus' text form for error messages, bounded in size: long
    names and values are shortened, and at most ``MESSAGE_LABELS`` labels are shown."""
    items = list(pairs)
    name = next((v for n, v in items if n == METRIC_NAME), "")
    rest = [(n, v) for n, v in items if n != METRIC_NAME]
    shown = [f'{shorten(n)}="{_escape(shorten(v))}"' for n, v in rest[:MESSAGE_LABELS]]
    if len(rest) > MESSAGE_LABELS:
        shown.append(f"...and {len(rest) - MESSAGE_LABELS} more labels")
    inner = ", ".join(shown)
    return shorten(name) if name and not inner else f"{shorten(name)}{{{inner}}}"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
