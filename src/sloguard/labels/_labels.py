"""The label set: a sorted, immutable, hashable tuple of (name, value) pairs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import overload

METRIC_NAME = "__name__"


class Labels(tuple[tuple[str, str], ...]):
    """A series identity: (name, value) pairs sorted by name, names unique.

    Empty values are dropped (Prometheus treats an empty value as an absent label).
    Being a tuple, a ``Labels`` is hashable and compares by value, so it is used
    directly as a dict key for series lookups.
    """

    __slots__ = ()

    def __new__(cls, pairs: Iterable[tuple[str, str]] = ()) -> Labels:
        return super().__new__(cls, sorted((n, v) for n, v in pairs if v != ""))

    @classmethod
    def from_dict(cls, d: Mapping[str, str]) -> Labels:
        return cls(d.items())

    @classmethod
    def of(cls, **kw: str) -> Labels:
        """Labels from keyword arguments; ``__name__`` can be given as ``name__``."""
        return cls((METRIC_NAME if k == "name__" else k, v) for k, v in kw.items())

    @classmethod
    def _sorted_unchecked(cls, pairs: tuple[tuple[str, str], ...]) -> Labels:
        """Wrap pairs already sorted, unique and non-empty (hot paths)."""
        return super().__new__(cls, pairs)

    def get(self, name: str, default: str = "") -> str:
        for n, v in self:
            if n == name:
                return v
        return default

    def has(self, name: str) -> bool:
        return any(n == name for n, _ in self)

    @property
    def metric_name(self) -> str:
        return self.get(METRIC_NAME)

    def names(self) -> list[str]:
        return [n for n, _ in self]

    def to_dict(self) -> dict[str, str]:
        return dict(self)

    def without(self, *names: str) -> Labels:
        drop = set(names)
        return Labels._sorted_unchecked(tuple(p for p in self if p[0] not in drop))

    def keep(self, *names: str) -> Labels:
        want = set(names)
        return Labels._sorted_unchecked(tuple(p for p in self if p[0] in want))

    def drop_metric_name(self) -> Labels:
        if self and tuple.__getitem__(self, 0)[0] == METRIC_NAME:  # where it usually sorts
            return Labels._sorted_unchecked(tuple.__getitem__(self, slice(1, None)))
        return self.without(METRIC_NAME)

    def with_(self, **updates: str) -> Labels:
        d = dict(self)
        d.update(updates)
        return Labels(d.items())

    def set(self, name: str, value: str) -> Labels:
        d = dict(self)
        d[name] = value
        return Labels(d.items())

    @overload  # type: ignore[override]
    def __getitem__(self, key: int) -> tuple[str, str]: ...
    @overload
    def __getitem__(self, key: slice) -> tuple[tuple[str, str], ...]: ...
    def __getitem__(self, key: int | slice) -> tuple[str, str] | tuple[tuple[str, str], ...]:
        return super().__getitem__(key)

    def __str__(self) -> str:
        """Prometheus' text form: ``name{a="b", c="d"}`` (name outside braces)."""
        name = self.metric_name
        inner = ", ".join(f'{n}="{escape_value(v)}"' for n, v in self if n != METRIC_NAME)
        if name and not inner:
            return name
        return f"{name}{{{inner}}}"

    def __repr__(self) -> str:
        return f"Labels({str(self)})"


def escape_value(v: str) -> str:
    """A label value as it stands between double quotes in Prometheus' text forms."""
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class LabelsBuilder:
    """Mutable scratch space for building a label set (relabeling, rule labels)."""

    __slots__ = ("_d",)

    def __init__(self, base: Iterable[tuple[str, str]] = ()) -> None:
        self._d: dict[str, str] = dict(base)

    def set(self, name: str, value: str) -> LabelsBuilder:
        if value == "":
            self._d.pop(name, None)
        else:
            self._d[name] = value
        return self

    def delete(self, *names: str) -> LabelsBuilder:
        for n in names:
            self._d.pop(n, None)
        return self

    def get(self, name: str) -> str:
        return self._d.get(name, "")

    def items(self) -> list[tuple[str, str]]:
        return list(self._d.items())

    def labels(self) -> Labels:
        return Labels(self._d.items())
