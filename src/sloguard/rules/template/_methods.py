"""Go methods and fields as templates call them on sloguard's data types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sloguard.rules.template._ast import ChainNode, FieldNode, Node, VariableNode


def go_method(receiver: Any, name: str) -> Callable[..., Any] | None:
    """The bound method a template calls as ``.name`` on ``receiver``: Go methods are listed
    in the type's ``GO_METHODS`` (Go name -> Python method name)."""
    methods: dict[str, str] | None = getattr(type(receiver), "GO_METHODS", None)
    if methods is None or name not in methods:
        return None
    bound: Callable[..., Any] = getattr(receiver, methods[name])
    return bound


def last_field(node: Node) -> str | None:
    """The field name Go names when a field is given arguments (``.a.b "x"`` -> ``b``)."""
    if isinstance(node, FieldNode):
        return node.idents[-1]
    if isinstance(node, ChainNode) and node.fields:
        return node.fields[-1]
    if isinstance(node, VariableNode) and len(node.idents) > 1:
        return node.idents[-1]
    return None
