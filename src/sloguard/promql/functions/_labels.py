"""label_replace and label_join. Values pass through; only label sets change (per series,
not per step). The metric name is kept, as in Prometheus."""

from __future__ import annotations

import re

from sloguard.labels import (
    GoMatch,
    GoRegexError,
    Labels,
    LabelsBuilder,
    compile_anchored,
    is_valid_label_name,
)
from sloguard.promql._steps import StepVector
from sloguard.promql._value import PromQLError
from sloguard.promql.functions._common import finish_vector, string_arg, vector_arg
from sloguard.promql.functions._registry import FuncCall, register


def _extract(s: str) -> tuple[str, int, str] | None:
    """Go ``regexp.extract``: (name, number or -1, rest) of a ``$name``/``${name}``."""
    brace = s.startswith("{")
    body = s[1:] if brace else s
    m = re.match(r"\w+", body, re.UNICODE)
    if m is None:
        return None
    name, rest = m[0], body[m.end():]
    if brace:
        if not rest.startswith("}"):
            return None
        rest = rest[1:]
    num = int(name) if name.isascii() and name.isdigit() and len(name) < 9 else -1
    if len(name) > 1 and name[0] == "0":
        num = -1
    return name, num, rest


def expand_template(template: str, match: GoMatch) -> str:
    """Go's ``Regexp.ExpandString``: ``$1``, ``${1}``, ``$name``, ``$$``; a name is the
    longest run of letters, digits and ``_`` (so ``$1x`` names group "1x": empty)."""
    out: list[str] = []
    rest = template
    while True:
        before, dollar, after = rest.partition("$")
        out.append(before)
        if not dollar:
            return "".join(out)
        if after.startswith("$"):
            out.append("$")
            rest = after[1:]
            continue
        parsed = _extract(after)
        if parsed is None:
            out.append("$")
            rest = after
            continue
        name, num, rest = parsed
        out.append(_group(match, name, num))


def _group(match: GoMatch, name: str, num: int) -> str:
    try:
        value = match.group(num if num >= 0 else name)
    except IndexError:  # no such group: Go expands it to nothing
        return ""
    return value or ""


@register("label_replace", 5, drops_metric_name=False)
def label_replace(call: FuncCall) -> StepVector:
    v = vector_arg(call, 0)
    dst, repl = string_arg(call, 1), string_arg(call, 2)
    src, regex = string_arg(call, 3), string_arg(call, 4)
    try:
        pattern = compile_anchored(regex)
    except GoRegexError:
        raise PromQLError(f"invalid regular expression in label_replace(): {regex}") from None
    if not is_valid_label_name(dst):
        raise PromQLError(f"invalid destination label name in label_replace(): {dst}")
    out: list[Labels] = []
    for ls in v.labels:
        m = pattern.submatch(ls.get(src))
        if m is None:
            out.append(ls)
            continue
        res = expand_template(repl, m)
        out.append(LabelsBuilder(ls).set(dst, res).labels())
    return finish_vector(out, v.values, v.present)


@register("label_join", 3, None, drops_metric_name=False)
def label_join(call: FuncCall) -> StepVector:
    v = vector_arg(call, 0)
    dst, sep = string_arg(call, 1), string_arg(call, 2)
    srcs = [string_arg(call, i) for i in range(3, len(call.args))]
    for src in srcs:
        if not is_valid_label_name(src):
            raise PromQLError(f"invalid source label name in label_join(): {src}")
    if not is_valid_label_name(dst):
        raise PromQLError(f"invalid destination label name in label_join(): {dst}")
    out = [ls.set(dst, sep.join(ls.get(s) for s in srcs)) for ls in v.labels]
    return finish_vector(out, v.values, v.present)
