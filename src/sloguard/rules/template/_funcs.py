"""Template functions: Go's builtins and Prometheus' (``humanize``, ``query``, ...)."""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from sloguard.gofmt import go_quote
from sloguard.labels import GoMatch, GoRegex, GoRegexError, compile_go
from sloguard.rules.template._compare import go_eq, go_ge, go_gt, go_le, go_lt, go_ne
from sloguard.rules.template._gofmt import go_print_value, go_sprint, go_sprintf, go_type
from sloguard.rules.template._humanize import (
    FuncError,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
    humanize_timestamp,
    parse_duration,
    to_time,
)


@dataclass(frozen=True, slots=True)
class QuerySample:
    """One element of a ``query`` result: fields ``Labels`` (map) and ``Value``."""

    Labels: dict[str, str]
    Value: float

    GO_TYPE: ClassVar[str] = "*template.sample"


def truth(v: Any) -> bool:
    """Go template truthiness: false, 0, nil and empty strings/maps/slices are false."""
    if v is None:
        return False
    if isinstance(v, (bool, int, float)):
        return bool(v)
    if isinstance(v, (str, dict, list)):
        return len(v) > 0
    return True


def title(s: Any) -> str:
    s = _str(s)
    out = []
    prev = " "
    for ch in s:
        out.append(ch.upper() if _is_sep(prev) else ch)
        prev = ch
    return "".join(out)


def _is_sep(c: str) -> bool:
    if c.isascii():
        return not (c.isalnum() or c == "_")
    return c.isspace()


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise FuncError(f"wrong type for value; expected string; got {go_type(v)}")
    return v


_GO_REPL = re.compile(r"\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def re_replace_all(pattern: Any, repl: Any, text: Any) -> str:
    """Go's ``regexp.MustCompile(pattern).ReplaceAllString(text, repl)``."""
    rx = _compile(_str(pattern), must=True)
    template = _str(repl)

    def expand(m: GoMatch) -> str:
        def one(g: re.Match[str]) -> str:
            if g.group(1) == "$":
                return "$"
            name = g.group(2) or g.group(3)
            try:
                val = m.group(int(name)) if name.isdigit() else m.group(name)
            except IndexError:
                val = ""
            return val or ""

        return _GO_REPL.sub(one, template)

    return rx.replace_all(_str(text), expand)


def _compile(pattern: str, must: bool = False) -> GoRegex:
    """Go's ``regexp.Compile`` (RE2, linear time); ``MustCompile``'s panic text if ``must``."""
    try:
        return compile_go(pattern)
    except GoRegexError as e:
        if must:
            raise FuncError(f"regexp: Compile({_go_backquote(pattern)}): {e}") from None
        raise FuncError(str(e)) from None


def _go_backquote(s: str) -> str:
    """Go's ``regexp.quote``: a raw string literal where it can be one, else ``%q``."""
    if "`" not in s and all(c == "\t" or (c.isprintable() and c != "\ufeff") for c in s):
        return f"`{s}`"
    return go_quote(s)


def match(pattern: Any, text: Any) -> bool:
    """Go's ``regexp.MatchString(pattern, text)``: unanchored."""
    return _compile(_str(pattern)).matches(_str(text))


def first(v: Any) -> Any:
    if isinstance(v, list) and v:
        return v[0]
    if isinstance(v, list):
        raise FuncError("first() called on vector with no elements")
    raise FuncError(f"wrong type for value; expected template.queryResult; got {go_type(v)}")


def label(name: Any, s: Any) -> str:
    if s is None:
        return ""
    if not isinstance(s, QuerySample):
        raise FuncError(f"wrong type for value; expected *template.sample; got {go_type(s)}")
    return s.Labels.get(_str(name), "")


def value(s: Any) -> float:
    if not isinstance(s, QuerySample):
        raise FuncError(f"wrong type for value; expected *template.sample; got {go_type(s)}")
    return s.Value


def strvalue(s: Any) -> str:
    return label("__value__", s)


def sort_by_label(name: Any, v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise FuncError(f"wrong type for value; expected template.queryResult; got {go_type(v)}")
    return sorted(v, key=lambda s: s.Labels.get(name, ""))


def args(*a: Any) -> dict[str, Any]:
    return {f"arg{i}": x for i, x in enumerate(a)}


def strip_port(host_port: Any) -> str:
    """Go's ``net.SplitHostPort`` host, or the input unchanged when it has no port."""
    hp = _str(host_port)
    if hp.startswith("["):
        end = hp.find("]")
        if end > 0 and hp[end + 1:end + 2] == ":" and hp[end + 2:].count(":") == 0:
            return hp[1:end]
        return hp
    if hp.count(":") == 1:
        return hp.split(":", 1)[0]
    return hp


def graph_link(expr: Any) -> str:
    return "/graph?g0.expr=" + urllib.parse.quote_plus(_str(expr)) + "&g0.tab=0"


def table_link(expr: Any) -> str:
    return "/graph?g0.expr=" + urllib.parse.quote_plus(_str(expr)) + "&g0.tab=1"


def go_len(v: Any) -> int:
    if isinstance(v, (str, dict, list)):
        return len(v.encode() if isinstance(v, str) else v)
    raise FuncError(f"len of type {go_type(v)}")


def go_index(item: Any, *idx: Any) -> Any:
    for i in idx:
        if isinstance(item, dict):
            item = item.get(i, "") if isinstance(i, str) else _bad_index(i)
        elif isinstance(item, (list, str)):
            if not isinstance(i, int) or isinstance(i, bool):
                raise FuncError(f"cannot index slice/array with type {go_type(i)}")
            if not 0 <= i < len(item):
                raise FuncError(f"index out of range: {i}")
            item = item[i] if isinstance(item, list) else item.encode()[i]
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _bad_index(i: Any) -> Any:
    raise FuncError(f"value has type {go_type(i)}; should be string")


class _Printed(str):
    """An already formatted operand (still counts as non-string for Sprint spacing)."""


def _is_str(x: Any) -> bool:
    return isinstance(x, str) and not isinstance(x, _Printed)


def go_print(*a: Any) -> str:
    # Sprint adds spaces between operands when neither is a string.
    out = ""
    for k, x in enumerate(a):
        if k and not _is_str(x) and not _is_str(a[k - 1]):
            out += " "
        out += str(x) if isinstance(x, _Printed) else go_sprint(x)
    return out


def go_printf(fmt: Any, *a: Any) -> str:
    return go_sprintf(_str(fmt), list(a))


def go_println(*a: Any) -> str:
    return " ".join(go_sprint(x) for x in a) + "\n"


def go_not(a: Any) -> bool:
    return not truth(a)


def _eval_args(*a: Any) -> str:
    """Go's ``evalArgs`` for html/js/urlquery: printable (dereferenced) values, Sprint'ed."""
    return go_print(*(_Printed(go_print_value(x)) if hasattr(x, "Labels") else x for x in a))


def _html(*a: Any) -> str:
    return html.escape(_eval_args(*a), quote=True).replace("&#x27;", "&#39;")


def _urlquery(*a: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(*a))


#: Functions with a fixed argument count (name -> (callable, arity or None for variadic)).
BASE_FUNCS: dict[str, tuple[Callable[..., Any], int | None]] = {
    "humanize": (humanize, 1),
    "humanize1024": (humanize1024, 1),
    "humanizeDuration": (humanize_duration, 1),
    "humanizePercentage": (humanize_percentage, 1),
    "humanizeTimestamp": (humanize_timestamp, 1),
    "parseDuration": (parse_duration, 1),
    "toTime": (to_time, 1),
    "title": (title, 1),
    "toUpper": (lambda s: _str(s).upper(), 1),
    "toLower": (lambda s: _str(s).lower(), 1),
    "reReplaceAll": (re_replace_all, 3),
    "match": (match, 2),
    "first": (first, 1),
    "label": (label, 2),
    "value": (value, 1),
    "strvalue": (strvalue, 1),
    "sortByLabel": (sort_by_label, 2),
    "args": (args, None),
    "safeHtml": (lambda s: _str(s), 1),
    "graphLink": (graph_link, 1),
    "stripPort": (strip_port, 1),
    "tableLink": (table_link, 1),
    "len": (go_len, 1),
    "index": (go_index, None),
    "print": (go_print, None),
    "printf": (go_printf, None),
    "println": (go_println, None),
    "eq": (go_eq, None),
    "ne": (go_ne, 2),
    "lt": (go_lt, 2),
    "le": (go_le, 2),
    "gt": (go_gt, 2),
    "ge": (go_ge, 2),
    "not": (go_not, 1),
    "html": (_html, None),
    "urlquery": (_urlquery, None),
    "js": (lambda *a: _eval_args(*a), None),
}

_S, _SAMPLE, _RESULT = "string", "*template.sample", "template.queryResult"

#: Go parameter types of functions with typed parameters (``...T`` is variadic); a
#: constant or value of another type is refused before the call, with Go's wording.
PARAM_TYPES: dict[str, tuple[str, ...]] = {
    "query": (_S,), "first": (_RESULT,), "label": (_S, _SAMPLE), "value": (_SAMPLE,),
    "strvalue": (_SAMPLE,), "reReplaceAll": (_S, _S, _S), "safeHtml": (_S,), "match": (_S, _S),
    "title": (_S,), "toUpper": (_S,), "toLower": (_S,), "graphLink": (_S,), "tableLink": (_S,), "stripPort": (_S,),
    "sortByLabel": (_S, _RESULT), "printf": (_S, "...interface {}"), "parseDuration": (_S,),
}


def param_type(name: str, i: int) -> str | None:
    types = PARAM_TYPES.get(name)
    if not types:
        return None
    if i < len(types) and not types[i].startswith("..."):
        return types[i]
    last = types[-1]
    return last[3:] if last.startswith("...") else None


#: Evaluated lazily by the executor (Go 1.18+ short-circuits these).
SHORT_CIRCUIT = frozenset({"and", "or"})
