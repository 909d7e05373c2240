"""Validation of dashboard JSON against Grafana's dashboard schema, as the types of
``grafana-foundation-sdk`` carry it (they are generated from Grafana's own CUE schema).

``problems(data)`` decodes the JSON with the SDK (``Dashboard.from_json``, panel options
and field configs by the panel plugin's own types, targets by the data source's query
type) and reports, each with its JSON path:

* a field the schema does not know (it does not survive decoding and encoding again);
* a value of the wrong type for its field (checked against the SDK types' annotations:
  strings, numbers, booleans, enums and literals, lists and maps, nested types);
* a target that does not decode as a Prometheus query, or a panel of a type with no
  schema in the SDK.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

SDK_MODELS = "grafana_foundation_sdk.models"
KNOWN_PANELS = {"row", "stat", "timeseries", "table", "state-timeline"}
register_default_plugins()  # panel options and queries decode by their plugin's own types


def problems(data: dict[str, Any]) -> list[str]:
    try:
        model = dm.Dashboard.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return [f"$: does not decode as a Grafana dashboard: {e!r}"]
    back = json.loads(json.dumps(model, cls=JSONEncoder))
    out = list(_unknown(data, back, "$"))
    out += _check(model, "$")
    out += _targets(model)
    return out


def _unknown(given: Any, back: Any, path: str) -> typing.Iterator[str]:
    if isinstance(given, dict) and isinstance(back, dict):
        for k, v in given.items():
            if k not in back:
                yield f"{path}.{k}: not a field of Grafana's schema here"
            else:
                yield from _unknown(v, back[k], f"{path}.{k}")
    elif isinstance(given, list) and isinstance(back, list) and len(given) == len(back):
        for i, (g, b) in enumerate(zip(given, back, strict=True)):
            yield from _unknown(g, b, f"{path}[{i}]")
    elif given != back and not (_number(given) and _number(back) and float(given) == float(back)):
        yield f"{path}: {given!r} does not survive decoding (read back as {back!r})"


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_HINTS: dict[str, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    key = f"{cls.__module__}.{cls.__qualname__}"
    if key not in _HINTS:
        _HINTS[key] = typing.get_type_hints(cls)
    return _HINTS[key]


def _check(obj: Any, path: str) -> list[str]:
    """Every attribute of an SDK model against its annotation, recursively."""
    if not type(obj).__module__.startswith(SDK_MODELS) or isinstance(obj, enum.Enum):
        return []
    out = []
    for name, hint in _hints(type(obj)).items():
        out += _value(getattr(obj, name, None), hint, f"{path}.{name}")
    return out


def _value(v: Any, hint: Any, path: str) -> list[str]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any or hint is object:
        return _check(v, path)
    if origin in (typing.Union, types.UnionType):
        if v is None and type(None) in args:
            return []
        args = tuple(a for a in args if a is not type(None))
        same = [a for a in args if isinstance(a, type) and type(v) is a]
        results = [_value(v, a, path) for a in (same or args)]
        return [] if any(not r for r in results) else min(results, key=len)
    if origin is typing.Literal:
        return [] if v in args else [f"{path}: {v!r} is not one of {args}"]
    if origin is list:
        if not isinstance(v, list):
            return [f"{path}: expected a list, got {v!r}"]
        return [p for i, item in enumerate(v) for p in _value(item, args[0], f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(v, dict):
            return [f"{path}: expected an object, got {v!r}"]
        return [p for k, item in v.items() for p in _value(item, args[1], f"{path}.{k}")]
    return _leaf(v, hint, path)


def _leaf(v: Any, hint: Any, path: str) -> list[str]:
    if hint is type(None):
        return [] if v is None else [f"{path}: expected null, got {v!r}"]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            hint(v)
        except ValueError:
            return [f"{path}: {v!r} is not a {hint.__name__} ({', '.join(str(m.value) for m in hint)})"]
        return []
    if hint is float:
        return [] if _number(v) else [f"{path}: expected a number, got {v!r}"]
    if hint is int:
        return [] if isinstance(v, int) and not isinstance(v, bool) else [f"{path}: expected an integer, got {v!r}"]
    if hint is str:
        return [] if isinstance(v, str) else [f"{path}: expected a string, got {v!r}"]
    if hint is bool:
        return [] if isinstance(v, bool) else [f"{path}: expected a boolean, got {v!r}"]
    if isinstance(hint, type) and isinstance(v, dict) and hasattr(hint, "from_json"):
        v = hint.from_json(v)  # a few fields stay plain JSON after decoding (transformations)
    if isinstance(hint, type) and not isinstance(v, hint):
        return [f"{path}: expected {hint.__name__}, got {type(v).__name__}"]
    return _check(v, path)


def _targets(model: dm.Dashboard) -> list[str]:
    out = []
    for i, panel in enumerate(model.panels or []):
        if panel.type_val not in KNOWN_PANELS:
            out.append(f"$.panels[{i}]: panel type {panel.type_val!r} is not one sloguard exports")
        for j, t in enumerate(getattr(panel, "targets", None) or []):
            if isinstance(t, UnknownDataquery) or not isinstance(t, pm.Dataquery):
                out.append(f"$.panels[{i}].targets[{j}]: not a Prometheus query ({type(t).__name__})")
    return out
