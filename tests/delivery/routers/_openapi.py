"""A small structural validator for Kubernetes CRD ``openAPIV3Schema`` documents, used
because ``jsonschema`` is not in the venv. It checks what the vendored schemas use:
type, properties (unknown fields are errors, stricter than the API server, which prunes
them), required, items, enum, min/maxItems, min/maxLength, pattern, minimum/maximum,
and ``x-kubernetes-list-type: map`` key uniqueness. It does not evaluate the CEL rules
in ``x-kubernetes-validations``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

_IMPLICIT = ("apiVersion", "kind", "metadata")  # the API server allows these on every object
SCHEMAS = Path(__file__).parent / "schemas"
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,),
}


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SCHEMAS / name).read_text())
    return doc


def validate(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Every problem found, each naming its key path."""
    where = path or "."
    t = schema.get("type")
    if t is not None and (not isinstance(value, _TYPES[t]) or (t in ("integer", "number") and isinstance(value, bool))):
        return [f"{where}: expected {t}, got {type(value).__name__}"]
    errors = _scalar(value, schema, where)
    if isinstance(value, dict):
        errors += _object(value, schema, path)
    if isinstance(value, list):
        errors += _array(value, schema, path)
    return errors


def _scalar(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", 1 << 30) or len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: length {len(value)} outside the schema's bounds")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']!r}")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and not schema.get("minimum", float("-inf")) <= value <= schema.get("maximum", float("inf")):
        errors.append(f"{where}: {value} outside [{schema.get('minimum')}, {schema.get('maximum')}]")
    return errors


def _object(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    props = schema.get("properties")
    errors = [f"{path or '.'}: missing required field {k!r}" for k in schema.get("required", []) if k not in value]
    for k, v in value.items():
        if props is not None and k in props:
            errors += validate(v, props[k], f"{path}.{k}")
        elif path == "" and k in _IMPLICIT:
            continue
        elif props is not None and not schema.get("x-kubernetes-preserve-unknown-fields"):
            errors.append(f"{path}.{k}: unknown field")
        elif isinstance(schema.get("additionalProperties"), dict):
            errors += validate(v, schema["additionalProperties"], f"{path}.{k}")
    return errors


def _array(value: list[Any], schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if len(value) > schema.get("maxItems", 1 << 30) or len(value) < schema.get("minItems", 0):
        errors.append(f"{path}: {len(value)} items outside the schema's bounds")
    for i, item in enumerate(value):
        errors += validate(item, schema.get("items", {}), f"{path}[{i}]")
    if schema.get("x-kubernetes-list-type") == "map":
        keys = [tuple(item.get(k) for k in schema.get("x-kubernetes-list-map-keys", [])) for item in value]
        if len(set(keys)) != len(keys):
            errors.append(f"{path}: duplicate list-map keys {keys}")
    return errors
