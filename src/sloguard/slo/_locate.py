"""Where a problem is in the file: the line and column of its key path's value, and for a
problem inside a PromQL text, of the error itself (``file:line:column`` for editors and CI).

Paths are the readers' (``documents[1].slos[0].sli.events.error_query``). A key that is
missing points at the mapping that should hold it. A position inside a text is mapped
exactly for plain and quoted one-line scalars without escapes and for literal blocks
(``|``); otherwise it points at the value's start.
"""

from __future__ import annotations

import dataclasses
import re

import yaml

from sloguard.nesting import yaml_compose_all
from sloguard.slo._errors import Problem

_DOC = re.compile(r"documents\[(\d+)\]\.?")
_SEGMENT = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def locate(text: str, problems: list[Problem]) -> list[Problem]:
    """``problems`` with ``file_line``/``file_column`` set where the path is found in ``text``."""
    if not problems:
        return problems
    try:
        docs = [d for d in yaml_compose_all(text, yaml.SafeLoader) if d is not None]  # marks with their buffer
    except yaml.YAMLError:
        return problems
    lines = text.split("\n")
    return [_located(p, docs, lines) for p in problems]


def _located(p: Problem, docs: list[yaml.Node], lines: list[str]) -> Problem:
    if not p.path or not docs:
        return p
    path, index = p.path, 0
    if (m := _DOC.match(path)) is not None and len(docs) > 1:
        path, index = path[m.end():], int(m[1])
    if index >= len(docs):
        return p
    node, found = _walk(docs[index], path)
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if found and p.line is not None and p.column is not None:
        line, col = _inside(node, lines, p.line, p.column, (line, col))
    return dataclasses.replace(p, file_line=line, file_column=col)


def _walk(node: yaml.Node, path: str) -> tuple[yaml.Node, bool]:
    """The node at ``path``, or the deepest one found on the way (and False)."""
    for m in _SEGMENT.finditer(path):
        nxt = _child(node, m)
        if nxt is None:
            return node, False
        node = nxt
    return node, True


def _child(node: yaml.Node, m: re.Match[str]) -> yaml.Node | None:
    if m[1] is not None and isinstance(node, yaml.SequenceNode):
        i = int(m[1])
        return node.value[i] if i < len(node.value) else None
    if m[2] is not None and isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and str(k.value) == m[2]), None)
    return None


def _inside(node: yaml.Node, lines: list[str], line: int, col: int, start: tuple[int, int]) -> tuple[int, int]:
    """The file position of (``line``, ``col``) of the scalar's text, or ``start``."""
    style = getattr(node, "style", None)
    first = node.start_mark.line
    if style in (None, "'", '"') and node.end_mark.line == first and line == 1:
        raw = lines[first][node.start_mark.column:node.end_mark.column]
        quoted = 1 if style else 0
        if style is None or ("\\" not in raw and "''" not in raw):
            return first + 1, node.start_mark.column + 1 + quoted + col - 1
        return start
    if style == "|":
        content = [ln for ln in lines[first + 1:node.end_mark.line + 1] if ln.strip()]
        if not content:
            return start
        indent = len(content[0]) - len(content[0].lstrip(" "))  # the first line sets the block's indentation
        return first + 1 + line, indent + col
    return start
