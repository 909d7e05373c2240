"""Notification templates as Alertmanager runs them (``template.Template``).

Alertmanager's default templates (``default.tmpl``, shipped unchanged, and a simplified
``email.tmpl``) are loaded first, then the user's ``templates:`` files (globs, in order; a
later ``define`` replaces an earlier one of the same name). Text fields are expanded as
Go's ``text/template`` with Alertmanager's functions; HTML fields (email) additionally
escape every action's output unless it comes from ``safeHtml`` (html/template's escaping
in text context; attribute/URL contexts are not distinguished).
"""

from __future__ import annotations

import glob
import html
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from sloguard.rules.template import TemplateExecError, TemplateSyntaxError
from sloguard.rules.template._ast import ListNode
from sloguard.rules.template._exec import Executor
from sloguard.rules.template._funcs import BASE_FUNCS, re_replace_all
from sloguard.rules.template._humanize import FuncError
from sloguard.rules.template._parse import parse

__all__ = ["DEFAULT_FILES", "NotificationTemplate", "SafeHTML", "TemplateError"]

#: Loaded before the user's files, in this order (as Alertmanager's ``FromGlobs``).
DEFAULT_FILES = ("default.tmpl", "email.tmpl")

_GO_BUILTINS = ("and", "or", "not", "len", "index", "print", "printf", "println",
                "eq", "ne", "lt", "le", "gt", "ge", "html", "urlquery", "js")


class TemplateError(ValueError):
    """A template failed to parse or execute; the text names the template and the place."""


class SafeHTML(str):
    """Output of ``safeHtml``: not escaped in HTML templates (Go's ``template.HTML``)."""

    GO_TYPE = "template.HTML"


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise FuncError(f"wrong type for value; expected string; got {type(v).__name__}")
    return v


_WORD = re.compile(r"[^\W]+(?:'[^\W]+)*")


def _title(s: Any) -> str:
    """``cases.Title(language.AmericanEnglish)``: each word capitalised, the rest lower case."""
    return _WORD.sub(lambda m: m[0][:1].upper() + m[0][1:].lower(), _str(s))


def _join(sep: Any, items: Any) -> str:
    if not isinstance(items, list):
        raise FuncError(f"wrong type for value; expected []string; got {type(items).__name__}")
    return _str(sep).join(_str(x) for x in items)


ALERTMANAGER_FUNCS: dict[str, tuple[Callable[..., Any], int | None]] = {
    **{name: BASE_FUNCS[name] for name in _GO_BUILTINS if name in BASE_FUNCS},
    "toUpper": (lambda s: _str(s).upper(), 1),
    "toLower": (lambda s: _str(s).lower(), 1),
    "title": (_title, 1),
    "join": (_join, 2),
    "match": BASE_FUNCS["match"],
    "safeHtml": (lambda s: SafeHTML(_str(s)), 1),
    "reReplaceAll": (re_replace_all, 3),
    "stringSlice": (lambda *s: [_str(x) for x in s], None),
}
_NAMES = frozenset(ALERTMANAGER_FUNCS) | {"and", "or"}


def _escape_html(value: Any, text: str) -> str:
    """html/template's text-context escaper (``&#34;`` ``&#39;`` ``&#43;`` as Go writes them)."""
    if isinstance(value, SafeHTML):
        return text
    out = html.escape(text, quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")
    return out.replace("+", "&#43;").replace("\x00", "\ufffd")


_UNDEFINED = re.compile(r'^template: ([^:]*):(\d+:\d+): executing .* template ("[^"]*") not defined$')


def _html_wording(msg: str) -> str:
    """html/template finds a missing template while escaping, before execution, and says so
    in its own words."""
    m = _UNDEFINED.match(msg)
    return f"html/template:{m[1]}:{m[2]}: no such template {m[3]}" if m else msg


def _parse(text: str, name: str) -> ListNode:
    try:
        return parse(text, name, _NAMES)
    except TemplateSyntaxError as e:
        raise TemplateError(str(e)) from None


def _default_texts() -> list[tuple[str, str]]:
    base = resources.files("sloguard.alerting") / "templates"
    return [(name, (base / name).read_text(encoding="utf-8")) for name in DEFAULT_FILES]


def _expand_globs(patterns: Iterable[str], base_dir: str) -> list[str]:
    files: list[str] = []
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
        files.extend(sorted(glob.glob(full)))  # no match is allowed, as in Alertmanager
    return files


class NotificationTemplate:
    """The defined templates of a configuration; ``execute_text``/``execute_html`` expand
    one field (``""`` expands to ``""`` without parsing, as Alertmanager does)."""

    def __init__(self, sources: Sequence[tuple[str, str]] = (), external_url: str = "") -> None:
        self.external_url = external_url
        self.defines: dict[str, ListNode] = {}
        for name, text in [*_default_texts(), *sources]:
            self.defines.update(_parse(text, name).defines)

    @classmethod
    def from_globs(cls, patterns: Iterable[str], base_dir: str = "", external_url: str = "") -> NotificationTemplate:
        """Alertmanager's ``FromGlobs``: relative patterns are read from ``base_dir``."""
        sources: list[tuple[str, str]] = []
        for path in _expand_globs(patterns, base_dir):
            try:
                with open(path, encoding="utf-8") as f:
                    sources.append((os.path.basename(path), f.read()))
            except OSError as e:
                raise TemplateError(f"cannot read template file {path}: {e.strerror}") from None
        return cls(sources, external_url)

    def names(self) -> list[str]:
        return sorted(self.defines)

    def execute_text(self, text: str, data: Any) -> str:
        return self._execute(text, data, None)

    def expander(self, data: Any) -> Callable[[str], str]:
        """``execute_text`` bound to ``data`` (Alertmanager's ``TmplText``)."""
        def expand(text: str) -> str:
            return self.execute_text(text, data)

        return expand

    def execute_html(self, text: str, data: Any) -> str:
        return self._execute(text, data, _escape_html)

    def _execute(self, text: str, data: Any, escape: Callable[[Any, str], str] | None) -> str:
        if text == "":
            return ""
        root = _parse(text, "")
        root.defines = {**self.defines, **root.defines}
        try:
            return Executor("", text, ALERTMANAGER_FUNCS, escape).run(root, data)
        except TemplateExecError as e:
            raise TemplateError(_html_wording(str(e)) if escape else str(e)) from None

    def expand_all(self, fields: Mapping[str, str], data: Any) -> dict[str, str]:
        """Expand several text fields; the first failure raises, naming the field."""
        out: dict[str, str] = {}
        for key, text in fields.items():
            try:
                out[key] = self.execute_text(text, data)
            except TemplateError as e:
                raise TemplateError(f"cannot expand the {key!r} template: {e}") from None
        return out
