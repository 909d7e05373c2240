"""Router configs from the mappings a spec file holds: camelCase keys for the config
dataclass' fields (``stickyCookie`` for ``sticky_cookie``), nested mappings for nested
configs, lists for tuples, and ``{name: value}`` mappings for ``(name, value)`` pairs.
Every problem is a RouterError naming its key path and the value as written."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from sloguard.delivery.routers._types import RouterError


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def from_mapping(cls: type[Any], data: object, where: str) -> Any:
    """An instance of dataclass ``cls`` built from ``data`` (a mapping)."""
    if not isinstance(data, dict):
        raise RouterError(f"{where}: expected a mapping, got {data!r}.")
    hints = typing.get_type_hints(cls)
    fields = {camel(f.name): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RouterError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(fields)}.")
    kwargs = {}
    for key, f in fields.items():
        if key in data:
            kwargs[f.name] = convert(hints[f.name], data[key], f"{where}.{key}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RouterError(f"{where}: missing required key {key!r}.")
    try:
        return cls(**kwargs)
    except RouterError as e:
        raise RouterError(f"{where}: {e}") from e


def convert(tp: Any, value: object, where: str) -> Any:
    """``value`` as type ``tp`` (the annotation of a config field)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return convert(next(a for a in args if a is not type(None)), value, where)
    if origin is tuple:
        return _tuple(args, value, where)
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, where)  # type: ignore[arg-type]  # a dataclass type here
    return _scalar(tp, value, where)


def _tuple(args: tuple[Any, ...], value: object, where: str) -> tuple[Any, ...]:
    item = args[0]
    if typing.get_origin(item) is tuple:  # tuple[tuple[str, X], ...]: a {name: X} mapping
        if not isinstance(value, dict):
            raise RouterError(f"{where}: expected a mapping of names to values, got {value!r}.")
        inner = typing.get_args(item)[1]
        return tuple((str(k), convert(inner, v, f"{where}.{k}")) for k, v in value.items())
    if not isinstance(value, list):
        raise RouterError(f"{where}: expected a list, got {value!r}.")
    return tuple(convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))


def _scalar(tp: Any, value: object, where: str) -> Any:
    if tp is Path and isinstance(value, str):
        return Path(value)
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp in (str, int, bool) and type(value) is tp:
        return value
    name = getattr(tp, "__name__", str(tp))
    raise RouterError(f"{where}: expected {'a path' if tp is Path else name}, got {value!r}.")
