"""sloguard's own evaluation tree, mapped from promql-parser's AST.

The parser's objects are thin wrappers over Rust structs; the evaluator works on these
frozen dataclasses instead, with durations already in milliseconds, matchers as
``sloguard.labels.Matcher`` and each node's PromQL value type known up front.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from sloguard.labels import Matcher
from sloguard.promql._value import ValueType


class AtKind(enum.Enum):
    TIME = "time"
    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class At:
    """An ``@`` modifier: a fixed time (ms) or the query's ``start()``/``end()``."""

    kind: AtKind
    t_ms: int = 0


class Card(enum.Enum):
    """Vector matching cardinality of a binary operation between two vectors."""

    ONE_TO_ONE = "one-to-one"
    MANY_TO_ONE = "many-to-one"
    ONE_TO_MANY = "one-to-many"
    MANY_TO_MANY = "many-to-many"


@dataclass(frozen=True, slots=True)
class VectorMatching:
    """``on``/``ignoring`` labels and ``group_left``/``group_right`` include labels."""

    card: Card
    labels: tuple[str, ...] = ()
    on: bool = False
    include: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    value: float
    type: ValueType = ValueType.SCALAR


@dataclass(frozen=True, slots=True)
class StringLiteral:
    value: str
    type: ValueType = ValueType.STRING


@dataclass(frozen=True, slots=True)
class VectorSelector:
    """``name{matchers} offset o @ t``; ``matchers`` include the ``__name__`` matcher."""

    name: str | None
    matchers: tuple[Matcher, ...]
    offset_ms: int = 0
    at: At | None = None
    type: ValueType = ValueType.VECTOR


@dataclass(frozen=True, slots=True)
class MatrixSelector:
    selector: VectorSelector
    range_ms: int
    type: ValueType = ValueType.MATRIX


@dataclass(frozen=True, slots=True)
class Subquery:
    """``expr[range:step] offset o @ t``; ``step_ms`` 0 means the engine's default step."""

    expr: Node
    range_ms: int
    step_ms: int
    offset_ms: int = 0
    at: At | None = None
    type: ValueType = ValueType.MATRIX


@dataclass(frozen=True, slots=True)
class Paren:
    expr: Node
    #: Taken from the child once (a property would walk the whole chain on every read).
    type: ValueType = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", self.expr.type)


@dataclass(frozen=True, slots=True)
class Unary:
    """Unary minus (unary plus is dropped by the parser)."""

    expr: Node
    type: ValueType = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", self.expr.type)


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    lhs: Node
    rhs: Node
    matching: VectorMatching | None = None
    return_bool: bool = False
    type: ValueType = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        scalar = self.lhs.type is ValueType.SCALAR and self.rhs.type is ValueType.SCALAR
        object.__setattr__(self, "type", ValueType.SCALAR if scalar else ValueType.VECTOR)


@dataclass(frozen=True, slots=True)
class Aggregate:
    op: str
    expr: Node
    param: Node | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False
    type: ValueType = ValueType.VECTOR


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; ``raw_args`` are the parser's nodes (for ``absent`` and friends)."""

    name: str
    args: tuple[Node, ...]
    type: ValueType
    raw_args: tuple[Any, ...] = field(default=(), compare=False, repr=False)


Node = (
    NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | Subquery | Paren
    | Unary | Binary | Aggregate | Call
)

SET_OPERATORS = frozenset({"and", "or", "unless"})
COMPARISON_OPERATORS = frozenset({"==", "!=", ">", "<", ">=", "<="})

# The binding's enums are not hashable: key these tables by the member's name.
def unwrap_parens(node: Node) -> Node:
    while isinstance(node, Paren):
        node = node.expr
    return node


# The parser mapping lives in its own module; it needs the node types above.
from sloguard.promql._ast_parse import children, duration_ms, from_parser, parse  # noqa: E402

__all__ = [
    "Aggregate", "At", "AtKind", "Binary", "COMPARISON_OPERATORS", "Call", "Card", "MatrixSelector",
    "Node", "NumberLiteral", "Paren", "SET_OPERATORS", "StringLiteral", "Subquery", "Unary",
    "VectorMatching", "VectorSelector", "children", "duration_ms", "from_parser", "parse", "unwrap_parens",
]
