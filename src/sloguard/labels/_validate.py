"""Label validation with Prometheus' rules and error wording."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sloguard.labels._labels import METRIC_NAME

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


class InvalidLabelError(ValueError):
    """A label name or value that Prometheus would refuse; the message names it."""


def is_valid_label_name(name: str) -> bool:
    return _LABEL_NAME.fullmatch(name) is not None


def is_valid_metric_name(name: str) -> bool:
    return _METRIC_NAME.fullmatch(name) is not None


def check_label_name(name: str) -> None:
    if not is_valid_label_name(name):
        raise InvalidLabelError(
            f"invalid label name {name!r}: must match [a-zA-Z_][a-zA-Z0-9_]*"
        )
    if name.startswith("__") and name != METRIC_NAME:
        raise InvalidLabelError(
            f"invalid label name {name!r}: names starting with '__' are reserved"
        )


def check_label_value(name: str, value: str | bytes) -> str:
    """Return the value as str; raise if it is not valid UTF-8."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidLabelError(
                f"invalid label value for label {name!r}: {value!r} is not valid UTF-8"
            ) from None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidLabelError(
            f"invalid label value for label {name!r}: {value!r} is not valid UTF-8"
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
            raise InvalidLabelError(f"duplicate label name {name!r} in label set")
        seen.add(name)
        if name == METRIC_NAME:
            has_name = True
            if not is_valid_metric_name(value):
                raise InvalidLabelError(
                    f"invalid metric name {value!r}: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
                )
    if not has_name:
        raise InvalidLabelError("label set has no metric name (label '__name__' missing)")
