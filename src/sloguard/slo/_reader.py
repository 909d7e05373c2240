"""Reading untyped YAML documents while collecting every problem with its key path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.slo._durations import DurationError, parse_duration_ms
from sloguard.slo._errors import Problem
from sloguard.slo.model import ratio_from_percent


class Reader:
    """Typed getters over nested dicts; each failure becomes a ``Problem`` (never raises)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.source, path, message))

    def mapping(self, d: Any, path: str) -> Mapping[str, Any]:
        if d is None:
            return {}
        if not isinstance(d, Mapping):
            self.problem(path, f"expected a mapping, got {type(d).__name__}")
            return {}
        return d

    def known(self, d: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for k in d:
            if k not in allowed:
                self.problem(_join(path, str(k)), f"unknown field (expected one of {', '.join(sorted(allowed))})")

    def str_(self, d: Mapping[str, Any], key: str, path: str, *, required: bool = False, default: str = "") -> str:
        v = d.get(key)
        if v is None or v == "":
            if required:
                self.problem(_join(path, key), "is required")
            return default
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            self.problem(_join(path, key), f"expected a string, got {type(v).__name__}")
            return default
        return str(v)

    def float_(self, d: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> float | None:
        v = d.get(key)
        if v is None:
            if required:
                self.problem(_join(path, key), "is required")
            return None
        if isinstance(v, str) and v.strip().endswith("%"):
            try:
                return ratio_from_percent(float(v.strip()[:-1]))
            except ValueError:
                pass
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            self.problem(_join(path, key), f"expected a number, got {v!r}")
            return None
        try:
            return float(v)
        except ValueError:
            self.problem(_join(path, key), f"expected a number, got {v!r}")
            return None

    def bool_(self, d: Mapping[str, Any], key: str, path: str, default: bool = False) -> bool:
        v = d.get(key, default)
        if not isinstance(v, bool):
            self.problem(_join(path, key), f"expected true or false, got {v!r}")
            return default
        return v

    def duration(self, d: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> int | None:
        v = d.get(key)
        if v is None:
            if required:
                self.problem(_join(path, key), "is required")
            return None
        try:
            return parse_duration_ms(str(v))
        except DurationError as e:
            self.problem(_join(path, key), str(e))
            return None

    def labels(self, d: Mapping[str, Any], key: str, path: str) -> tuple[tuple[str, str], ...]:
        m = self.mapping(d.get(key), _join(path, key))
        out = []
        for k, v in m.items():
            if not isinstance(v, str | int | float) or isinstance(v, bool):
                self.problem(_join(path, f"{key}.{k}"), f"expected a string value, got {v!r}")
                continue
            out.append((str(k), str(v)))
        return tuple(out)

    def list_(self, d: Mapping[str, Any], key: str, path: str) -> list[Any]:
        v = d.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            self.problem(_join(path, key), f"expected a list, got {type(v).__name__}")
            return []
        return v


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
