"""Typed reads from a YAML mapping, each failure an ``AlertingConfigError`` naming the key path.

Unknown keys are refused, as Alertmanager's strict YAML decoding refuses them
(``field foo not found``), so a typo never silently drops a setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from sloguard.alerting._errors import AlertingConfigError
from sloguard.durations import DurationError, parse_duration_ms
from sloguard.nesting import yaml_load


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML mapping at ``path`` in ``file``; reads its keys with their expected types."""

    file: str
    path: str
    data: Mapping[str, Any]

    @classmethod
    def of(cls, file: str, path: str, value: object, allowed: Iterable[str] = ()) -> Node:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise AlertingConfigError(file, path, f"expected a mapping, got {_show(value)}")
        node = cls(file, path, value)
        if allowed:
            node.check_keys(allowed)
        return node

    def fail(self, key: str, detail: str) -> AlertingConfigError:
        return AlertingConfigError(self.file, self.sub(key), detail)

    def sub(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def check_keys(self, allowed: Iterable[str]) -> None:
        known = set(allowed)
        for key in self.data:
            if not isinstance(key, str) or key not in known:
                raise AlertingConfigError(self.file, self.sub(str(key)), f"field {key} not found in this section")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, default: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"cannot unmarshal {_show(value)} into a string")
        return str(value)

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"cannot unmarshal {_show(value)} into a bool")
        return value

    def integer(self, key: str, default: int = 0) -> int:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"cannot unmarshal {_show(value)} into an integer")
        return value

    def duration_ms(self, key: str) -> int | None:
        """A Prometheus duration (``30s``, ``4h``) in ms, or None when absent."""
        if not self.has(key):
            return None
        text = self.text(key)
        try:
            return parse_duration_ms(text)
        except DurationError as e:
            raise self.fail(key, str(e)) from None

    def str_list(self, key: str) -> tuple[str, ...] | None:
        """A list of strings, or None when the key is absent (Alertmanager tells the two apart)."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {_show(value)}")
        inner = Node(self.file, self.sub(key), {str(i): v for i, v in enumerate(value)})
        return tuple(inner.text(str(i)) for i in range(len(value)))

    def str_map(self, key: str) -> dict[str, str]:
        node = Node.of(self.file, self.sub(key), self.data.get(key))
        return {str(k): node.text(str(k)) for k in node.data}

    def items(self, key: str) -> Iterator[tuple[str, object]]:
        """The entries of a list under ``key``, each with its key path (``receivers[2]``)."""
        value = self.data.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_show(value)}")
        for i, item in enumerate(value):
            yield f"{self.sub(key)}[{i}]", item

    def child(self, key: str, allowed: Iterable[str] = ()) -> Node:
        return Node.of(self.file, self.sub(key), self.data.get(key), allowed)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (as yaml.v2 strict does),
    and reading ``17:00`` or ``1:5`` as text, as Go's YAML does (PyYAML would read YAML 1.1's
    base-60 numbers 1020 and 65, which time intervals then refuse)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen and key != "<<":
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(None, None, f"line {line}: field {key} already set", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _NUMBER_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(_NUMBER_TAGS[0], _INT, list("-+0123456789"))
_StrictLoader.add_implicit_resolver(_NUMBER_TAGS[1], _FLOAT, list("-+0123456789."))


def load_yaml(text: str, file: str) -> object:
    """The YAML document in ``text``; a syntax error or a repeated key names the line."""
    try:
        return yaml_load(text, _StrictLoader)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e)
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None and not problem.startswith("line ") else ""
        raise AlertingConfigError(file, "", f"yaml: {where}{problem}") from None
