"""Executor: walks the parse tree with Go text/template semantics (``missingkey=zero``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from sloguard.rules._errors import RulesError
from sloguard.rules.template._ast import (
    ActionNode,
    BoolNode,
    BranchNode,
    ChainNode,
    CommandNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    LoopControlNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)
from sloguard.rules.template._funcs import param_type, truth
from sloguard.rules.template._gofmt import GoTime, go_print_value, go_sprint, go_type
from sloguard.rules.template._humanize import FuncError
from sloguard.rules.template._methods import go_method, last_field

Func = tuple[Callable[..., Any], int | None]
_MISSING = object()

_TIME_METHODS: dict[str, Callable[[GoTime], Any]] = {
    "Unix": lambda t: t.ns // 1_000_000_000,
    "UnixMilli": lambda t: t.ns // 1_000_000,
    "UnixNano": lambda t: t.ns,
    "UTC": lambda t: t,
    "String": str,
}


class TemplateExecError(RulesError):
    """Execution failed; ``str()`` is Go's ``template: NAME:L:C: executing "NAME" at <..>: msg``."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Executor:
    def __init__(self, name: str, text: str, funcs: dict[str, Func],
                 escape: Callable[[Any, str], str] | None = None) -> None:
        self.name = name
        #: html/template's escaping of each action's output (``None``: text/template).
        self.escape = escape
        self.text = text
        self.funcs = funcs
        self.vars: list[tuple[str, Any]] = []
        self.out: list[str] = []
        #: The node Go's ``state.at`` last pointed to: type errors are reported there.
        self.node: Node | None = None
        self.defines: dict[str, ListNode] = {}

    def run(self, root: ListNode, data: Any) -> str:
        self.defines = root.defines
        self.vars = [("$", data)]
        self.walk(data, root)
        return "".join(self.out)

    def error(self, node: Node | None, msg: str) -> TemplateExecError:
        if node is None:
            return TemplateExecError(f"template: {self.name}: {msg}")
        pos = node.pos
        before = self.text[:pos]
        line = 1 + before.count("\n")
        col = len(before[before.rfind("\n") + 1:].encode())  # Go counts bytes
        ctx = str(node)
        return TemplateExecError(
            f'template: {self.name}:{line}:{col}: executing "{self.name}" at <{ctx}>: {msg}'
        )

    # -- statements
    def walk(self, dot: Any, node: Node) -> None:
        if isinstance(node, TextNode):
            self.out.append(node.text)
        elif isinstance(node, ListNode):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, ActionNode):
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                text = go_print_value(val)
                self.out.append(text if self.escape is None else self.escape(val, text))
        elif isinstance(node, BranchNode):
            self.walk_branch(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, LoopControlNode):
            raise _Break() if node.kind == "break" else _Continue()

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        body = self.defines.get(node.name)
        if body is None:
            raise self.error(node, f"template {node.quoted} not defined")
        val = None if node.pipe is None else self.eval_pipeline(dot, node.pipe, declare=False)
        saved = self.vars
        self.vars = [("$", val)]
        try:
            self.walk(val, body)
        finally:
            self.vars = saved

    def walk_branch(self, dot: Any, node: BranchNode) -> None:
        mark = len(self.vars)
        if node.kind == "range":
            self.walk_range(dot, node)
        else:
            val = self.eval_pipeline(dot, node.pipe)
            if truth(val):
                self.walk(val if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        del self.vars[mark:]

    def walk_range(self, dot: Any, node: BranchNode) -> None:
        val = self.eval_pipeline(dot, node.pipe, declare=False)
        items: list[tuple[Any, Any]]
        if isinstance(val, dict):
            items = [(k, val[k]) for k in sorted(val)]
        elif isinstance(val, list):
            items = list(enumerate(val))
        elif val is None:
            items = []
        else:
            raise self.error(node.pipe, f"range can't iterate over {go_sprint(val)}")
        if not items:
            if node.else_body is not None:
                self.walk(dot, node.else_body)
            return
        mark = len(self.vars)
        for k, v in items:
            decl = node.pipe.decl
            if len(decl) == 1:
                self.vars.append((decl[0].idents[0], v))
            elif len(decl) == 2:
                self.vars.append((decl[0].idents[0], k))
                self.vars.append((decl[1].idents[0], v))
            try:
                self.walk(v, node.body)
            except _Break:
                break
            except _Continue:
                pass
            finally:
                del self.vars[mark:]

    # -- expressions
    def eval_pipeline(self, dot: Any, pipe: PipeNode, declare: bool = True) -> Any:
        self.node = pipe
        val: Any = _MISSING
        for cmd in pipe.cmds:
            val = self.eval_command(dot, cmd, val)
        if declare:
            for var in pipe.decl:
                if pipe.is_assign:
                    self.set_var(var.idents[0], val)
                else:
                    self.vars.append((var.idents[0], val))
        return None if val is _MISSING else val

    def set_var(self, name: str, val: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, val)
                return

    def var(self, name: str) -> Any:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        return None

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, final)
        if len(cmd.args) > 1 or final is not _MISSING:
            called = self.eval_method_call(dot, first, cmd.args[1:], final)
            if called is not _MISSING:
                return called
            last = last_field(first)
            if last is None:
                raise self.error(first, f"can't give argument to non-function {first}")
            raise self.error(first, f"{last} is not a method but has arguments")
        return self.eval_arg(dot, first)

    def eval_function(self, dot: Any, ident: IdentifierNode, cmd: CommandNode, final: Any) -> Any:
        name = ident.name
        self.node = ident
        arg_nodes = cmd.args[1:]
        if name in ("and", "or"):
            return self.eval_short_circuit(dot, name, cmd, arg_nodes, final)
        fn, arity = self.funcs[name]
        n = len(arg_nodes) + (0 if final is _MISSING else 1)
        if arity is not None and n != arity:
            raise self.error(ident, f"wrong number of args for {name}: want {arity} got {n}")
        args = [self.eval_typed_arg(dot, a, param_type(name, i)) for i, a in enumerate(arg_nodes)]
        if final is not _MISSING:
            self.check_value(self.node or cmd, final, param_type(name, len(arg_nodes)))
            args.append(final)
        try:
            return fn(*args)
        except FuncError as e:
            raise self.error(cmd, f"error calling {name}: {e}") from None
        except TypeError as e:
            raise self.error(ident, f"wrong number of args for {name}: {e}") from None

    def eval_typed_arg(self, dot: Any, node: Node, t: str | None) -> Any:
        """Go's ``evalArg`` for a typed parameter: constants are converted or refused."""
        self.node = node
        if t is None or t == "interface {}":
            return self.eval_arg(dot, node)
        if isinstance(node, (NumberNode, BoolNode, StringNode, NilNode)):
            if t == "string" and isinstance(node, StringNode):
                return node.value
            if t == "string":
                raise self.error(node, f"expected string; found {node}")
            raise self.error(node, f"can't handle {node} for arg of type {t}")
        v = self.eval_arg(dot, node)
        self.check_value(self.node or node, v, t)
        return v

    def check_value(self, node: Node, v: Any, t: str | None) -> None:
        if t is None or t == "interface {}":
            return
        if v is None:
            if not (t.startswith("*") or t.startswith("template.")):
                raise self.error(node, f"invalid value; expected {t}")
            return
        if go_type(v) != t:
            raise self.error(node, f"wrong type for value; expected {t}; got {go_type(v)}")

    def eval_short_circuit(self, dot: Any, name: str, cmd: CommandNode, nodes: list[Node], final: Any) -> Any:
        if not nodes and final is _MISSING:
            raise self.error(cmd, f"wrong number of args for {name}: want at least 1 got 0")
        val: Any = None
        for n in [*nodes, None]:
            if n is None:
                if final is _MISSING:
                    break
                val = final
            else:
                val = self.eval_arg(dot, n)
            if truth(val) == (name == "or"):
                return val
        return val

    def eval_arg(self, dot: Any, node: Node) -> Any:
        self.node = node
        if isinstance(node, DotNode):
            return dot
        if isinstance(node, NilNode):
            raise self.error(node, "nil is not a command")
        if isinstance(node, (BoolNode,)):
            return node.value
        if isinstance(node, NumberNode):
            return node.value
        if isinstance(node, StringNode):
            return node.value
        if isinstance(node, FieldNode):
            return self.fields(node, dot, node.idents)
        if isinstance(node, VariableNode):
            return self.fields(node, self.var(node.idents[0]), node.idents[1:])
        if isinstance(node, PipeNode):
            mark = len(self.vars)
            try:
                return self.eval_pipeline(dot, node)
            finally:
                del self.vars[mark:]
        if isinstance(node, ChainNode):
            return self.fields(node, self.eval_arg(dot, node.node), node.fields)
        if isinstance(node, IdentifierNode):
            return self.eval_function(dot, node, CommandNode(node.pos, [node]), _MISSING)
        raise self.error(node, f"can't evaluate {node}")

    def fields(self, node: Node, receiver: Any, names: list[str]) -> Any:
        for name in names:
            receiver = self.field(node, receiver, name)
        return receiver

    def eval_method_call(self, dot: Any, node: Node, arg_nodes: list[Node], final: Any) -> Any:
        """``.X.Method arg...``: Go passes the arguments to the chain's last element when it
        is a method (``.CommonLabels.Remove .GroupLabels.Names``); ``_MISSING`` otherwise."""
        if isinstance(node, FieldNode):
            receiver, name = self.fields(node, dot, node.idents[:-1]), node.idents[-1]
        elif isinstance(node, ChainNode) and node.fields:
            receiver = self.fields(node, self.eval_arg(dot, node.node), node.fields[:-1])
            name = node.fields[-1]
        elif isinstance(node, VariableNode) and len(node.idents) > 1:
            receiver = self.fields(node, self.var(node.idents[0]), node.idents[1:-1])
            name = node.idents[-1]
        else:
            return _MISSING
        method = go_method(receiver, name)
        if method is None:
            if name in getattr(receiver, "__dataclass_fields__", ()):  # a struct field, in Go's words
                raise self.error(node, f"{name} has arguments but cannot be invoked as function")
            return _MISSING
        args = [self.eval_arg(dot, a) for a in arg_nodes]
        if final is not _MISSING:
            args.append(final)
        return self.call_method(node, name, method, args)

    def call_method(self, node: Node, name: str, method: Callable[..., Any], args: list[Any]) -> Any:
        try:
            return method(*args)
        except FuncError as e:
            raise self.error(node, f"error calling {name}: {e}") from None
        except TypeError:
            want = len(inspect.signature(method).parameters)
            raise self.error(node, f"wrong number of args for {name}: want {want} got {len(args)}") from None

    def field(self, node: Node, receiver: Any, name: str) -> Any:
        method = go_method(receiver, name)
        if method is not None:
            return self.call_method(node, name, method, [])
        if isinstance(receiver, dict):
            return receiver.get(name, "")
        if receiver is None:
            raise self.error(node, f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, GoTime) and name in _TIME_METHODS:
            return _TIME_METHODS[name](receiver)
        if hasattr(receiver, "__dataclass_fields__") and name in receiver.__dataclass_fields__:
            return getattr(receiver, name)
        raise self.error(node, f"can't evaluate field {name} in type {go_type(receiver)}")
