"""Parse tree of the template subset (mirrors Go's ``text/template/parse`` node kinds)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Node:
    pos: int


@dataclass(slots=True)
class TextNode(Node):
    text: str


@dataclass(slots=True)
class DotNode(Node):
    def __str__(self) -> str:
        return "."


@dataclass(slots=True)
class NilNode(Node):
    def __str__(self) -> str:
        return "nil"


@dataclass(slots=True)
class BoolNode(Node):
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(slots=True)
class NumberNode(Node):
    value: int | float
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(slots=True)
class StringNode(Node):
    value: str
    quoted: str

    def __str__(self) -> str:
        return self.quoted


@dataclass(slots=True)
class FieldNode(Node):
    idents: list[str]

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


@dataclass(slots=True)
class VariableNode(Node):
    idents: list[str]  # idents[0] is "$name"

    def __str__(self) -> str:
        return ".".join(self.idents)


@dataclass(slots=True)
class IdentifierNode(Node):
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(slots=True)
class ChainNode(Node):
    node: Node
    fields: list[str]

    def __str__(self) -> str:
        inner = str(self.node)
        if isinstance(self.node, PipeNode):
            inner = f"({inner})"
        return inner + "".join("." + f for f in self.fields)


@dataclass(slots=True)
class CommandNode(Node):
    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


@dataclass(slots=True)
class PipeNode(Node):
    decl: list[VariableNode] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[CommandNode] = field(default_factory=list)

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


@dataclass(slots=True)
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)
    #: On the root only: the ``{{define}}``d templates by name.
    defines: dict[str, ListNode] = field(default_factory=dict)


@dataclass(slots=True)
class ActionNode(Node):
    pipe: PipeNode


@dataclass(slots=True)
class BranchNode(Node):
    """``if``, ``range`` or ``with`` (``kind``), with an optional else list."""

    kind: str
    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None


@dataclass(slots=True)
class LoopControlNode(Node):
    kind: str  # "break" or "continue"


@dataclass(slots=True)
class TemplateNode(Node):
    """``{{template "name" pipeline}}``; only defined templates could be invoked."""

    name: str
    quoted: str
    pipe: PipeNode | None

    def __str__(self) -> str:
        if self.pipe is None:
            return f"{{{{template {self.quoted}}}}}"
        return f"{{{{template {self.quoted} {self.pipe}}}}}"
