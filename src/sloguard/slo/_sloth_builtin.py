"""The registry of Sloth's built-in SLO plugins that sloguard runs, by Sloth's ids, and of
those it refuses with the reason."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sloguard.slo import _sloth_plugins_contrib, _sloth_plugins_core
from sloguard.slo._sloth_plugin_config import BuiltinPlugin, BuiltinSpec, PluginConfigError

_LEGACY_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

BUILTIN: dict[str, BuiltinSpec] = {s.id: s for s in (*_sloth_plugins_core.SPECS, *_sloth_plugins_contrib.SPECS)}

#: Built-in Sloth plugins sloguard does not run, with the reason given to the user.
REFUSED: dict[str, str] = {
    "sloth.dev/contrib/validate_victoria_metrics/v1": (
        "it checks the SLI queries as MetricsQL instead of PromQL, and sloguard has no MetricsQL parser: it "
        "checks every SLI query as PromQL, so MetricsQL-only queries (histogram_share, a range on vector(1)) "
        "are refused whatever the chain says; generate VictoriaMetrics rules with Sloth itself, or write the "
        "SLIs in PromQL and drop this plugin from the chain"),
}


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One finding about a plugin's config: the dotted key under ``config`` ("" for the whole)."""

    key: str
    message: str
    is_error: bool = True


def _config(raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PluginConfigError("", f"expected a mapping, got {raw!r}")
    return raw


def check(plugin_id: str, raw: Any) -> list[ConfigProblem]:
    """What is wrong with ``raw`` as the config of built-in ``plugin_id``: unknown keys
    (warnings: Sloth ignores them too) and values the plugin would refuse (errors)."""
    spec = BUILTIN[plugin_id]
    try:
        cfg = _config(raw)
        spec.make(cfg)
    except PluginConfigError as e:
        return [ConfigProblem(e.key, e.message)]
    out = [ConfigProblem(str(k), f"is not a config key of {plugin_id!r} (it reads "
                         f"{', '.join(sorted(spec.keys)) or 'none'}): ignored, as Sloth does", is_error=False)
           for k in cfg if k not in spec.keys]
    for key in sorted(spec.label_keys):
        out += [ConfigProblem(f"{key}.{name}", f"label name {name!r} is valid only where UTF-8 label names are "
                              "(Prometheus 3); Prometheus 2 and sloguard's ruler refuse the rule", is_error=False)
                for name in cfg.get(key) or {} if not _LEGACY_NAME.fullmatch(name)]
    return out


def make(plugin_id: str, raw: Any) -> BuiltinPlugin | None:
    """The built-in plugin ``plugin_id`` made from ``raw``; None when sloguard has none.
    Raises ``PluginConfigError`` for a config ``check`` reports as an error."""
    spec = BUILTIN.get(plugin_id)
    return None if spec is None else spec.make(_config(raw))
