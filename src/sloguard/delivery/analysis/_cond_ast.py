"""The condition language's tree: one frozen node type per construct, each with its column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, string, ``true``/``false`` or ``nil`` (None)."""

    value: object
    col: int


@dataclass(frozen=True, slots=True)
class Name:
    """``result``: the only variable a condition sees."""

    name: str
    col: int


@dataclass(frozen=True, slots=True)
class Pointer:
    """``#`` inside a predicate: the element being tested; ``.field`` is ``#.field``."""

    col: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "!" (also written "not"), "-", "+"
    operand: Node
    col: int


@dataclass(frozen=True, slots=True)
class Binary:
    """``op`` is normalised: ``and`` is ``&&``, ``or`` is ``||``, ``^`` is ``**``."""

    op: str
    left: Node
    right: Node
    col: int


@dataclass(frozen=True, slots=True)
class Ternary:
    cond: Node
    then: Node
    other: Node
    col: int


@dataclass(frozen=True, slots=True)
class Member:
    """``obj.name``; ``optional`` for ``obj?.name`` (nil when ``obj`` is nil)."""

    obj: Node
    name: str
    optional: bool
    col: int


@dataclass(frozen=True, slots=True)
class Index:
    obj: Node
    index: Node
    col: int


@dataclass(frozen=True, slots=True)
class Slice:
    obj: Node
    lo: Node | None
    hi: Node | None
    col: int


@dataclass(frozen=True, slots=True)
class Closure:
    """``{ body }``: a predicate, evaluated once per element with ``#`` bound to it."""

    body: Node
    col: int


@dataclass(frozen=True, slots=True)
class Call:
    """A built-in function by name (there are no user functions and no methods)."""

    name: str
    args: tuple[Node, ...]
    col: int


@dataclass(frozen=True, slots=True)
class ArrayLit:
    items: tuple[Node, ...]
    col: int


@dataclass(frozen=True, slots=True)
class MapLit:
    pairs: tuple[tuple[str, Node], ...]
    col: int


Node = (
    Literal | Name | Pointer | Unary | Binary | Ternary | Member | Index | Slice | Closure | Call
    | ArrayLit | MapLit
)
