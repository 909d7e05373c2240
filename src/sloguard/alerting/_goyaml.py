"""YAML text as Go's ``gopkg.in/yaml.v2`` (v2.4) marshals it, for ``config show``.

Values are plain Python data: ``dict`` (keys in the order given, as a Go struct's fields),
:class:`GoMap` (a Go map: keys in yaml.v2's natural order), ``list``, :class:`Flow` (a
list marshalled in flow style, ``[a, b]``), ``str``, ``int``, ``bool`` and ``None``.
PyYAML's emitter is a port of the same libyaml emitter yaml.v2 carries, so block layout,
quoting of what cannot be plain, and folding at 80 columns agree; what differs is the
choice of style, which is made here as yaml.v2 makes it: a string that would read back as
something else (``true``, ``1``, ``off``, ``""``, ``17:00``, a date) is double-quoted, a
string with a line break is a literal block, anything else is plain if the emitter allows.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import yaml

__all__ = ["Flow", "FlowMap", "GoMap", "go_yaml"]


class Flow(list[Any]):
    """A sequence yaml.v2 writes in flow style (a ``yaml:",flow"`` field)."""


class FlowMap(dict[str, Any]):
    """A mapping yaml.v2 writes in flow style, ``{a: b}``."""


class GoMap(dict[str, Any]):
    """A Go map: yaml.v2 writes its keys in natural order (see :func:`natural_key`)."""


_MAP_WORDS = {
    "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF",
    "true", "True", "TRUE", "false", "False", "FALSE", "", "~", "null", "Null", "NULL",
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
}
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]*|0[bB][01]+|[1-9][0-9]*)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
                   r"(?:(?:[Tt]| +)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?")


def _reads_as_other(s: str) -> bool:
    """Whether yaml.v2's resolver reads ``s`` unquoted as anything but a string."""
    if s in _MAP_WORDS or _BASE60.fullmatch(s):
        return True
    first = s[0]
    if first == ".":
        return _FLOAT.fullmatch(s) is not None
    if not (first.isdigit() or first in "+-"):
        return False
    plain = s.replace("_", "")
    return bool(_DATE.fullmatch(s) or _GO_INT.fullmatch(plain) or _FLOAT.fullmatch(plain))


def natural_key(key: str) -> Any:
    """yaml.v2's order of map keys: rune by rune, a letter after a non-letter, runs of
    digits compared as numbers (``a9`` before ``a10``)."""
    return _NaturalKey(key)


class _NaturalKey:
    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s

    def __lt__(self, other: _NaturalKey) -> bool:
        return _less(self.s, other.s)


def _letter(c: str) -> bool:
    return unicodedata.category(c).startswith("L")


def _number(s: str, i: int) -> tuple[int, int]:
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    return (int(s[i:j]) if j > i else 0), j


def _less(a: str, b: str) -> bool:
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        al, bl = _letter(a[i]), _letter(b[i])
        if al and bl:
            return a[i] < b[i]
        if al or bl:
            return bl
        an, ai = _number(a, i)
        bn, bi = _number(b, i)
        if (a[i] == "0" or b[i] == "0") and any(c != "0" for c in _digits_before(a, i)):
            an, bn = int("1" + a[i:ai] or "1"), int("1" + b[i:bi] or "1")
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return a[i] < b[i]
    return len(a) < len(b)


def _digits_before(s: str, i: int) -> str:
    j = i
    while j > 0 and s[j - 1].isdigit():
        j -= 1
    return s[j:i]


_ESCAPES = {"\0": "0", "\x07": "a", "\x08": "b", "\t": "t", "\n": "n", "\x0b": "v", "\x0c": "f", "\r": "r",
            "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\u2028": "L", "\u2029": "P"}


def _escaped(ch: str) -> str | None:
    """yaml.v2's escape for ``ch`` in a double-quoted scalar, None when it is written as is."""
    o = ord(ch)
    printable = 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
    if printable and ch not in '"\\\u2028\u2029':
        return None
    if ch in _ESCAPES:
        return "\\" + _ESCAPES[ch]
    return f"\\x{o:02X}" if o <= 0xFF else f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}"


class _Dumper(yaml.SafeDumper):
    """No implicit resolvers: every scalar is a string node whose style is chosen here."""

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        """yaml.v2's double-quoted writer: lines are folded only at a single space past
        column 80 (PyYAML's also folds after an escape, with a trailing ``\\``)."""
        self.write_indicator('"', True)
        spaces = False
        for i, ch in enumerate(text):
            escape = _escaped(ch)
            if escape is not None:
                self._put(escape)
            elif ch == " " and split and not spaces and self.column > self.best_width and 0 < i < len(text) - 1:
                self.write_indent()
                if text[i + 1] == " ":
                    self._put("\\")
            else:
                self._put(ch)
            spaces = ch == " " and escape is None
        self.write_indicator('"', False)

    def write_single_quoted(self, text: str, split: bool = True) -> None:
        """yaml.v2's single-quoted writer (PyYAML's also indents after a final line break)."""
        self.write_indicator("'", True)
        spaces = breaks = False
        for i, ch in enumerate(text):
            if ch == " ":
                if split and not spaces and self.column > self.best_width and 0 < i < len(text) - 1 \
                        and text[i + 1] != " ":
                    self.write_indent()
                else:
                    self._put(ch)
                spaces = True
            elif ch in "\n\x85\u2028\u2029":
                if not breaks and ch == "\n":
                    self.write_line_break()
                self.write_line_break(ch)
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self._put("''" if ch == "'" else ch)
                self.indention = spaces = breaks = False
        self.write_indicator("'", False)

    def _put(self, data: str) -> None:
        self.column += len(data)
        self.stream.write(data)


def _go_special(s: str) -> bool:
    """Characters yaml.v2 does not count as printable where PyYAML does (NEL and everything
    outside the BMP, emoji included): they force double quotes, with escapes."""
    return any(c == "\x85" or ord(c) > 0xFFFF for c in s)


def _str(dumper: yaml.SafeDumper, s: str) -> yaml.ScalarNode:
    style = '"' if _go_special(s) else "|" if "\n" in s else '"' if _reads_as_other(s) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=style)


def _plain(text: str) -> Any:
    return lambda dumper, _value: dumper.represent_scalar("tag:yaml.org,2002:str", text)


def _map(dumper: yaml.SafeDumper, d: dict[str, Any]) -> yaml.MappingNode:
    items = sorted(d.items(), key=lambda kv: natural_key(kv[0])) if isinstance(d, GoMap) else list(d.items())
    return dumper.represent_mapping("tag:yaml.org,2002:map", items, flow_style=isinstance(d, FlowMap))


def _seq(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=isinstance(items, Flow))


_Dumper.add_representer(str, _str)
_Dumper.add_representer(bool, lambda d, v: _plain("true" if v else "false")(d, v))
_Dumper.add_representer(int, lambda d, v: _plain(str(v))(d, v))
_Dumper.add_representer(type(None), lambda d, v: _plain("null")(d, v))
_Dumper.add_representer(dict, _map)
_Dumper.add_representer(GoMap, _map)
_Dumper.add_representer(FlowMap, _map)
_Dumper.add_representer(list, _seq)
_Dumper.add_representer(Flow, _seq)


def go_yaml(data: dict[str, Any]) -> str:
    """``yaml.Marshal(data)`` as Go's yaml.v2 writes it."""
    text: str = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=80, indent=2)
    return text
