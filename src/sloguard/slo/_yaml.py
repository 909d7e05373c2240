"""YAML for specs, generated rules and converted specs: block style, no anchors.

libyaml's C emitter and parser are used when PyYAML has them (the same text, ten times
faster); the pure-Python ones otherwise.
"""

from __future__ import annotations

from typing import Any

import yaml

from sloguard.nesting import yaml_load_all

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(_BaseDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: Any, s: str) -> Any:
    style = "|" if "\n" in s else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(docs: list[Any]) -> str:
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def load_yaml_all(text: str) -> list[Any]:
    """Every document of ``text`` (``yaml.YAMLError`` when it is not YAML or nests too deep)."""
    return yaml_load_all(text, _Loader)
