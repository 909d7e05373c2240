"""What Sloth's built-in SLO plugins share: their contract and readers for their ``config``.

A built-in plugin is a small frozen object made from its config by a factory (Sloth's
``NewPlugin``) and run once per SLO (Sloth's ``ProcessSLO``)::

    def make(config: Mapping[str, Any]) -> BuiltinPlugin      # raises PluginConfigError
    plugin.process(request, rules) -> rules

A bad config raises ``PluginConfigError`` naming the key (``labels``, ``interval.default``),
so the spec reader can report it at ``...chain[i].config.<key>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sloguard.durations import DurationError, parse_duration_ms
from sloguard.slo._sloth_rules import SlothRequest
from sloguard.slo.sloth_plugins import SlothRules


class PluginConfigError(ValueError):
    """A built-in plugin refused its config; ``key`` is the dotted key under ``config``
    (empty for the config as a whole), the message a sentence about its value."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class BuiltinPlugin(Protocol):
    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules: ...


@dataclass(frozen=True, slots=True)
class BuiltinSpec:
    """One built-in plugin: its Sloth id, the config keys it reads, its factory, and which
    keys are label maps (their names are checked against Prometheus 2's rules, as a warning)."""

    id: str
    keys: frozenset[str]
    make: Callable[[Mapping[str, Any]], BuiltinPlugin]
    label_keys: frozenset[str] = frozenset()


def _kind(v: Any) -> str:
    return "a mapping" if isinstance(v, Mapping) else "a list" if isinstance(v, list) else repr(v)


def get_bool(cfg: Mapping[str, Any], key: str) -> bool:
    v = cfg.get(key, False)
    if not isinstance(v, bool):
        raise PluginConfigError(key, f"expected true or false, got {_kind(v)}")
    return v


def get_str(cfg: Mapping[str, Any], key: str, default: str = "") -> str:
    v = cfg.get(key)
    if v is None:
        return default
    if not isinstance(v, str):
        raise PluginConfigError(key, f"expected a string, got {_kind(v)}")
    return v


def get_float(cfg: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    v = cfg.get(key)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise PluginConfigError(key, f"expected a number, got {_kind(v)}")
    return float(v)


def get_labels(cfg: Mapping[str, Any], key: str) -> dict[str, str]:
    """A ``map[string]string`` of label names to values. Names are not held to Prometheus 2's
    ``[a-zA-Z_][a-zA-Z0-9_]*``: Sloth's own example writes ``plug-l1``, valid in Prometheus 3."""
    v = cfg.get(key)
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise PluginConfigError(key, f"expected a mapping of label names to string values, got {_kind(v)}")
    out = {}
    for name, value in v.items():
        if not isinstance(name, str) or not name:
            raise PluginConfigError(f"{key}.{name}", f"{name!r} is not a label name (a non-empty string)")
        if not isinstance(value, str):
            raise PluginConfigError(f"{key}.{name}", f"expected a string value, got {_kind(value)} (quote it)")
        out[name] = value
    return out


def get_strs(cfg: Mapping[str, Any], key: str) -> list[str]:
    v = cfg.get(key)
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise PluginConfigError(key, f"expected a list of strings, got {_kind(v)}")
    return list(v)


def get_duration_ms(cfg: Mapping[str, Any], key: str, path: str = "") -> int:
    """A Prometheus duration string (``5m``, ``1h30m``); 0 when absent."""
    v = cfg.get(key)
    where = f"{path}.{key}" if path else key
    if v is None:
        return 0
    if not isinstance(v, str):
        raise PluginConfigError(where, f"expected a duration such as \"5m\", got {_kind(v)}")
    try:
        return parse_duration_ms(v)
    except DurationError as e:
        raise PluginConfigError(where, str(e)) from None


def get_mapping(cfg: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    v = cfg.get(key)
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise PluginConfigError(key, f"expected a mapping, got {_kind(v)}")
    return v
