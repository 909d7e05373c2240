"""Notification template files: found by their globs and parsed, as ``amtool check-config`` does."""

from __future__ import annotations

from collections.abc import Iterable

# The rules package's Go-template parser; its public helpers prepend Prometheus' alert variables.
from sloguard.rules.template._funcs import BASE_FUNCS
from sloguard.rules.template._lex import TemplateSyntaxError
from sloguard.rules.template._parse import parse

#: Functions Alertmanager's templates may call besides Go's and Prometheus' shared ones.
ALERTMANAGER_FUNCS = frozenset({"toUpper", "toLower", "title", "trimSpace", "join", "match", "safeHtml",
                                "reReplaceAll", "stringSlice", "date", "tz", "since", "humanizeDuration"})
_NAMES = frozenset(BASE_FUNCS) | ALERTMANAGER_FUNCS | {"and", "or", "template", "define", "block"}


def template_error(files: Iterable[str]) -> str | None:
    """The first parse error of the template files (Go's wording, naming the file), or None."""
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            return f"cannot read template file {path}: {e}"
        try:
            parse(text, path.rsplit("/", 1)[-1], _NAMES)
        except TemplateSyntaxError as e:
            return str(e)
    return None
