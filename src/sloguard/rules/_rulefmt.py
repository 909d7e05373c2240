"""Prometheus rule files (``rulefmt``): parsing with line/column, validation, promtool's texts.

A file is ``groups[].{name, interval, limit, rules[].{record|alert, expr, for,
keep_firing_for, labels, annotations}}``. :func:`parse_rule_text` returns the groups and
every problem found, each problem worded like Prometheus (``7:15: group "g", rule 1, "x":
could not parse expression: ...``); :func:`load_rule_file` prefixes them with the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sloguard.durations import parse_duration_ms
from sloguard.labels import is_valid_label_name, is_valid_metric_name
from sloguard.nesting import yaml_compose
from sloguard.rules._errors import RuleFileError
from sloguard.rules._exprcheck import expr_error
from sloguard.rules.template import template_parse_error

_TOP_FIELDS = ("groups",)
_GROUP_FIELDS = ("name", "interval", "limit", "rules")
_RULE_FIELDS = ("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as written: exactly one of ``record``/``alert`` is set (after validation)."""

    record: str = ""
    alert: str = ""
    expr: str = ""
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.alert or self.record


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A rule group; ``interval_ms`` 0 means "use the global evaluation interval"."""

    name: str
    rules: tuple[RuleSpec, ...] = ()
    interval_ms: int = 0
    limit: int = 0


@dataclass(frozen=True, slots=True)
class RuleFile:
    path: str
    groups: tuple[GroupSpec, ...] = field(default_factory=tuple)

    @property
    def rule_count(self) -> int:
        return sum(len(g.rules) for g in self.groups)


class _Problems(Exception):
    """Structural (decode) problems: Prometheus stops before semantic validation."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors


def load_rule_file(path: str | Path) -> RuleFile:
    """Read and validate a rule file; raises :class:`RuleFileError` listing every problem."""
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise RuleFileError([f"{p}: open {p}: {e.strerror.lower() if e.strerror else e}"]) from None
    rf, errors = parse_rule_text(text, p)
    if errors or rf is None:
        raise RuleFileError([f"{p}: {e}" for e in errors])
    return rf


def parse_rule_text(text: str, path: str = "") -> tuple[RuleFile | None, list[str]]:
    """Parse and validate; returns ``(file, [])`` or ``(None|file, problems)``.

    A file is composed with libyaml (``CSafeLoader``) when PyYAML has it: several times
    faster than PyYAML's own composer on a rule file of thousands of groups. When that
    finds any problem, the file is read again with PyYAML's composer, whose errors and
    positions the messages were made to match, so a bad file's problems read the same."""
    if _FAST_LOADER is not None:
        fast = _parse(text, path, _FAST_LOADER)
        if not fast[1]:
            return fast
    return _parse(text, path, yaml.SafeLoader)


_FAST_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


def _parse(text: str, path: str, loader: Any) -> tuple[RuleFile | None, list[str]]:
    try:
        root = yaml_compose(text, loader)
    except yaml.YAMLError as e:
        msg = _yaml_error(e)
        return None, [msg, msg]  # promtool decodes twice and reports both
    if root is None:
        return RuleFile(path), []
    try:
        groups = _decode_groups(root)
    except _Problems as p:
        return None, p.errors
    errors = _validate(groups)
    specs = tuple(g.spec for g in groups)
    return RuleFile(path, specs), errors


def _yaml_error(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    line = mark.line + 1 if mark is not None else 0
    return f"yaml: line {line}: {problem}"


@dataclass(slots=True)
class _RuleNode:
    spec: RuleSpec
    record_pos: str
    alert_pos: str
    expr_pos: str


@dataclass(slots=True)
class _GroupNode:
    spec: GroupSpec
    pos: str
    rules: list[_RuleNode]


def _pos(node: Node | None) -> str:
    if node is None:
        return "0:0"
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _mapping(node: Node, type_name: str, fields: tuple[str, ...], errs: list[str]) -> dict[str, Node]:
    if not isinstance(node, MappingNode):
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return {}
        errs.append(f"  line {node.start_mark.line + 1}: cannot unmarshal {_tag(node)} into {type_name}")
        return {}
    out: dict[str, Node] = {}
    for k, v in node.value:
        key = str(k.value)
        if key not in fields:
            errs.append(f"  line {k.start_mark.line + 1}: field {key} not found in type {type_name}")
        elif key in out:
            errs.append(f'  line {k.start_mark.line + 1}: mapping key "{key}" already defined at line {out[key].start_mark.line}')
        else:
            out[key] = v
    return out


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith(":null")


def _tag(node: Node) -> str:
    short = node.tag.rsplit(":", 1)[-1]
    if isinstance(node, ScalarNode):
        return f"!!{short} `{node.value}`"
    return f"!!{short}"


def _scalar(node: Node | None, type_name: str, errs: list[str]) -> str:
    if node is None:
        return ""
    if isinstance(node, ScalarNode):
        return "" if node.tag.endswith(":null") else str(node.value)
    errs.append(f"  line {node.start_mark.line + 1}: cannot unmarshal {_tag(node)} into {type_name}")
    return ""


def _seq(node: Node | None, type_name: str, errs: list[str]) -> list[Node]:
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
        return []
    if isinstance(node, SequenceNode):
        return list(node.value)
    errs.append(f"  line {node.start_mark.line + 1}: cannot unmarshal {_tag(node)} into {type_name}")
    return []


def _str_map(node: Node | None, errs: list[str]) -> tuple[tuple[str, str], ...]:
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
        return ()
    if not isinstance(node, MappingNode):
        errs.append(f"  line {node.start_mark.line + 1}: cannot unmarshal {_tag(node)} into map[string]string")
        return ()
    return tuple((str(k.value), _scalar(v, "string", errs)) for k, v in node.value)


def _decode_groups(root: Node) -> list[_GroupNode]:
    errs: list[str] = []
    dur_errs: list[str] = []
    top = _mapping(root, "rulefmt.RuleGroups", _TOP_FIELDS, errs)
    groups = []
    for gnode in _seq(top.get("groups"), "[]rulefmt.RuleGroup", errs):
        g = _mapping(gnode, "rulefmt.RuleGroup", _GROUP_FIELDS, errs)
        interval = _duration(_scalar(g.get("interval"), "model.Duration", errs), dur_errs)
        limit_text = _scalar(g.get("limit"), "int", errs) or "0"
        try:
            limit = int(limit_text)
        except ValueError:
            lnode = g.get("limit") or gnode
            errs.append(f"  line {lnode.start_mark.line + 1}: cannot unmarshal !!str `{limit_text}` into int")
            limit = 0
        rules = [_decode_rule(r, errs, dur_errs) for r in _seq(g.get("rules"), "[]rulefmt.RuleNode", errs)]
        spec = GroupSpec(_scalar(g.get("name"), "string", errs), tuple(r.spec for r in rules), interval, limit)
        groups.append(_GroupNode(spec, _pos(gnode), rules))
    if errs:
        problems = ["yaml: unmarshal errors:\n" + "\n".join(errs)]
        groups_node = top.get("groups")
        if groups_node is not None and not isinstance(groups_node, SequenceNode) and not _is_null(groups_node):
            # promtool's second decoding pass (into yaml nodes) fails on this too
            problems.append(f"yaml: unmarshal errors:\n  line {groups_node.start_mark.line + 1}: "
                            f"cannot unmarshal {_tag(groups_node)} into []yaml.Node")
        raise _Problems(problems)
    if dur_errs:
        raise _Problems(dur_errs[:1])
    return groups


def _duration(text: str, dur_errs: list[str]) -> int:
    if text == "":
        return 0
    try:
        return parse_duration_ms(text)
    except ValueError as e:
        dur_errs.append(str(e))
        return 0


def _decode_rule(node: Node, errs: list[str], dur_errs: list[str]) -> _RuleNode:
    r = _mapping(node, "rulefmt.RuleNode", _RULE_FIELDS, errs)
    spec = RuleSpec(
        record=_scalar(r.get("record"), "string", errs),
        alert=_scalar(r.get("alert"), "string", errs),
        expr=_scalar(r.get("expr"), "string", errs),
        for_ms=_duration(_scalar(r.get("for"), "model.Duration", errs), dur_errs),
        keep_firing_for_ms=_duration(_scalar(r.get("keep_firing_for"), "model.Duration", errs), dur_errs),
        labels=_str_map(r.get("labels"), errs),
        annotations=_str_map(r.get("annotations"), errs),
    )
    return _RuleNode(spec, _pos(r.get("record")), _pos(r.get("alert")), _pos(r.get("expr")))


def _validate(groups: list[_GroupNode]) -> list[str]:
    errors: list[str] = []
    seen: set[str] = set()
    for g in groups:
        if g.spec.name == "":
            errors.append(f"{g.pos}: Groupname must not be empty")
        if g.spec.name in seen:
            errors.append(f'{g.pos}: groupname: "{g.spec.name}" is repeated in the same file')
        seen.add(g.spec.name)
        for i, r in enumerate(g.rules):
            for where, problem in _validate_rule(r):
                prefix = f"{where}: " if where else ""
                errors.append(f'{prefix}group "{_q(g.spec.name)}", rule {i + 1}, "{_q(r.spec.name)}": {problem}')
    return errors


def _q(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _validate_rule(node: _RuleNode) -> list[tuple[str, str]]:
    r = node.spec
    out: list[tuple[str, str]] = []
    both = f"{node.record_pos}: {node.alert_pos}"
    if r.record and r.alert:
        out.append((both, "only one of 'record' and 'alert' must be set"))
    if not r.record and not r.alert:
        out.append((node.record_pos, "one of 'record' or 'alert' must be set"))
    if r.expr == "":
        out.append((node.expr_pos, "field 'expr' must be set in rule"))
    elif (perr := expr_error(r.expr)) is not None:
        out.append((node.expr_pos, f"could not parse expression: {perr}"))
    if r.record:
        out.extend(_validate_recording(node))
    for k, _v in r.labels:
        if not is_valid_label_name(k) or k == "__name__":
            out.append(("", f"invalid label name: {k}"))
    for k, _v in r.annotations:
        if not is_valid_label_name(k):
            out.append(("", f"invalid annotation name: {k}"))
    if r.alert:
        out.extend(("", e) for e in _template_errors(r))
    return out


def _validate_recording(node: _RuleNode) -> list[tuple[str, str]]:
    r, pos = node.spec, node.record_pos
    out = []
    if r.annotations:
        out.append((pos, "invalid field 'annotations' in recording rule"))
    if r.for_ms:
        out.append((pos, "invalid field 'for' in recording rule"))
    if r.keep_firing_for_ms:
        out.append((pos, "invalid field 'keep_firing_for' in recording rule"))
    if not is_valid_metric_name(r.record):
        out.append((pos, f"invalid recording rule name: {r.record}"))
    return out


def _template_errors(r: RuleSpec) -> list[str]:
    out = []
    name = "__alert_" + r.alert
    for kind, pairs in (("label", r.labels), ("annotation", r.annotations)):
        for k, v in pairs:
            err = template_parse_error(v, name)
            if err is not None:
                out.append(f'{kind} "{_q(k)}": {err}')
    return out


@dataclass(frozen=True, slots=True)
class DuplicateRule:
    """A (name, labels) pair that more than one rule of a file produces (promtool's lint)."""

    metric: str
    labels: tuple[tuple[str, str], ...]


def find_duplicates(rf: RuleFile) -> list[DuplicateRule]:
    """Rules with the same name and labels, each reported once (``promtool check rules`` lint)."""
    keys = sorted((r.name, tuple(sorted(r.labels))) for g in rf.groups for r in g.rules)
    dups: list[DuplicateRule] = []
    for prev, cur in zip(keys, keys[1:], strict=False):
        if prev == cur and (not dups or (dups[-1].metric, dups[-1].labels) != cur):
            dups.append(DuplicateRule(cur[0], cur[1]))
    return dups
