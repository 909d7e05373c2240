"""Python equivalents of Sloth SLI plugins (``sli.plugin.id`` in a Sloth spec).

Sloth runs SLI plugins (Go source loaded by yaegi) that turn ``options`` into a raw
error-ratio query templated with ``{{.window}}``. sloguard cannot run Go; a spec that names
a plugin is refused by its id unless a Python function with the same contract is registered
here, either in code (``register_sli_plugin``) or by an installed package through the
``sloguard.sloth_sli_plugins`` entry-point group (name = the plugin id, value = the function)::

    def plugin(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str

``meta`` has Sloth's keys ``service``, ``slo`` and ``objective`` (``"99.900000"``), ``labels``
are the spec's top-level labels, ``options`` the plugin's options. A plugin signals bad
options by raising ``SLIPluginError`` with a sentence naming the option.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import entry_points

SLIPlugin = Callable[[Mapping[str, str], Mapping[str, str], Mapping[str, str]], str]
ENTRY_POINT_GROUP = "sloguard.sloth_sli_plugins"

_registry: dict[str, SLIPlugin] = {}


class SLIPluginError(ValueError):
    """A plugin refused its options; the message names the option and its value."""


def register_sli_plugin(plugin_id: str, fn: SLIPlugin) -> Callable[[], None]:
    """Register ``fn`` for ``plugin_id``; returns a function that removes it again (for tests)."""
    _registry[plugin_id] = fn

    def unregister() -> None:
        if _registry.get(plugin_id) is fn:
            del _registry[plugin_id]

    return unregister


def sli_plugin(plugin_id: str) -> SLIPlugin | None:
    """The registered function for ``plugin_id``, else an installed entry point, else None."""
    if plugin_id in _registry:
        return _registry[plugin_id]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == plugin_id:
            fn: SLIPlugin = ep.load()
            return fn
    return None


def available() -> list[str]:
    """Ids of every plugin sloguard can run, for error messages."""
    return sorted(set(_registry) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})
