"""Nesting limits for JSON and YAML documents, checked before a recursive parser sees them.

Python's ``json`` decoder and PyYAML's pure-Python composer recurse once per level of a
document, so ``[[[[...`` a few thousand levels deep raises ``RecursionError`` (a 500 in a
server, a traceback in a command) instead of a clear error, and sloguard's own walkers over
the parsed value recurse too. Every JSON or YAML text from outside (request bodies, files,
answers of remote services) goes through this module, which measures its depth first, in
linear time, and refuses it with a :class:`NestingError` naming the line and column where
the limit is passed: ``nests deeper than 1000 levels (at line 1, column 1001)``.

* JSON: brackets outside strings, counted with numpy over the UTF-8 bytes (a 16 MiB body
  in tens of milliseconds); texts with fewer opening brackets than the limit are not
  scanned at all. Go's ``encoding/json`` (Alertmanager's API) allows 10,000 levels;
  :func:`json_loads` can decode that deep (:data:`GO_MAX_DEPTH`) by raising the recursion
  limit for the call.
* YAML: the parser's collection events (libyaml's parser where PyYAML has it; PyYAML's own
  parser is iterative too), counted before the composer runs. libyaml refuses more than
  1,000 levels itself, with its own clear error.

:data:`MAX_DEPTH` (1,000, libyaml's own limit) is far above any real document (specs and
configs nest ten or twenty levels) and within what the parsers and walkers can follow in
threads of the default stack size. This module imports nothing from sloguard.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
import yaml

__all__ = [
    "GO_MAX_DEPTH", "MAX_DEPTH", "NestingError", "YamlNestingError", "check_json", "check_yaml", "deep_recursion",
    "json_loads", "json_too_deep", "opening_brackets", "yaml_compose", "yaml_compose_all", "yaml_load", "yaml_load_all",
]

MAX_DEPTH = 1000
T = TypeVar("T")
#: Go's ``encoding/json`` ``maxNestingDepth``.
GO_MAX_DEPTH = 10_000

_EVENT_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class NestingError(ValueError):
    """A document nested deeper than a limit; ``pos`` is the offset (in characters of the
    text, or bytes of a ``bytes`` document) of the first bracket past it."""

    def __init__(self, limit: int, pos: int, line: int, column: int) -> None:
        super().__init__(f"nests deeper than {limit} levels (at line {line}, column {column})")
        self.limit, self.pos, self.line, self.column = limit, pos, line, column


def opening_brackets(doc: str | bytes) -> int:
    """How many ``[`` and ``{`` ``doc`` has: a bound on its depth, found at C speed."""
    if isinstance(doc, str):
        return doc.count("[") + doc.count("{")
    return doc.count(b"[") + doc.count(b"{")


def json_too_deep(doc: str | bytes, limit: int = MAX_DEPTH) -> int | None:
    """The offset of the first ``[`` or ``{`` outside strings that opens level ``limit + 1``,
    or ``None``. A ``str`` is measured by characters, ``bytes`` by bytes."""
    if opening_brackets(doc) <= limit:
        return None
    raw = doc.encode("utf-8", "surrogatepass") if isinstance(doc, str) else doc
    found = _bytes_too_deep(np.frombuffer(raw, dtype=np.uint8), limit)
    if found is None or isinstance(doc, bytes):
        return found
    return len(raw[:found].decode("utf-8", "surrogatepass"))


def _bytes_too_deep(a: np.ndarray, limit: int) -> int | None:
    """The scan in chunks (a few MiB of temporary arrays whatever the size), carrying the
    depth, whether a string is open and the run of backslashes across chunk ends."""
    depth = quotes = run = 0
    for start in range(0, len(a), _CHUNK):
        chunk = a[start:start + _CHUNK]
        n = len(chunk)
        idx = np.arange(n, dtype=np.int32)
        # The run of backslashes just before each byte (a quote after an odd run is escaped);
        # the previous chunk's trailing run counts from a virtual index before this one.
        last_other = np.maximum.accumulate(np.where(chunk == _BACKSLASH, np.int32(-1 - run), idx))
        before = np.empty(n, dtype=np.int32)
        before[0] = run
        before[1:] = idx[:-1] - last_other[:-1]
        run = int(n - 1 - last_other[-1])
        quote = (chunk == _QUOTE) & (before % 2 == 0)
        seen = np.cumsum(quote, dtype=np.int32) + quotes
        inside = (seen % 2 == 1) | quote  # from an opening quote up to its closing one
        quotes = int(seen[-1])
        step = np.zeros(n, dtype=np.int32)
        step[((chunk == _OPEN_SQUARE) | (chunk == _OPEN_CURLY)) & ~inside] = 1
        step[((chunk == _CLOSE_SQUARE) | (chunk == _CLOSE_CURLY)) & ~inside] = -1
        levels = np.cumsum(step, dtype=np.int32) + depth
        over = np.flatnonzero(levels > limit)
        if len(over):
            return start + int(over[0])
        depth = int(levels[-1])
    return None


_CHUNK = 1 << 20
_BACKSLASH, _QUOTE = ord("\\"), ord('"')
_OPEN_SQUARE, _OPEN_CURLY, _CLOSE_SQUARE, _CLOSE_CURLY = (ord(c) for c in "[{]}")


def _line_column(text: str | bytes, pos: int) -> tuple[int, int]:
    nl = "\n" if isinstance(text, str) else b"\n"
    line = text.count(nl, 0, pos) + 1  # type: ignore[arg-type]
    return line, pos - text.rfind(nl, 0, pos)  # type: ignore[arg-type]


def check_json(doc: str | bytes, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`NestingError` when ``doc`` nests deeper than ``limit``."""
    pos = json_too_deep(doc, limit)
    if pos is not None:
        raise NestingError(limit, pos, *_line_column(doc, pos))


def json_loads(doc: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` held to ``limit`` levels (``ValueError`` for bad JSON, :class:`NestingError`
    for too deep a document, including when this Python cannot recurse as deep as ``limit``)."""
    check_json(doc, limit)
    try:
        with deep_recursion(min(limit, opening_brackets(doc))):
            return json.loads(doc)
    except RecursionError:
        raise _python_limit(doc, limit) from None


def _python_limit(doc: str | bytes, limit: int) -> NestingError:
    """The error for a document within ``limit`` that this Python's C stack guard refused."""
    depth = min(limit, MAX_DEPTH)
    pos = json_too_deep(doc, depth)
    return NestingError(depth, pos or 0, *_line_column(doc, pos or 0))


_recursion_lock = threading.Lock()


#: Frames a caller is assumed to use at most when the recursion limit is not raised.
_HEADROOM = 1000


@contextlib.contextmanager
def deep_recursion(levels: int) -> Iterator[None]:
    """Python's recursion limit raised (never lowered) so a parser can recurse ``levels``
    deeper than the caller; put back afterwards unless someone else changed it meanwhile.
    Nothing to do (the common case) when the limit leaves ``_HEADROOM`` frames beyond ``levels``."""
    if sys.getrecursionlimit() >= levels + _HEADROOM:
        yield
        return
    frames = _frames_in_use() + levels + 200
    with _recursion_lock:
        before = sys.getrecursionlimit()
        raised = frames > before
        if raised:
            sys.setrecursionlimit(frames)
    try:
        yield
    finally:
        if raised:
            with _recursion_lock:
                if sys.getrecursionlimit() == frames:
                    sys.setrecursionlimit(before)


def _frames_in_use() -> int:
    n, f = 0, sys._getframe()
    while f is not None:
        n, f = n + 1, f.f_back  # type: ignore[assignment]
    return n


class YamlNestingError(yaml.MarkedYAMLError):
    """A YAML document nested deeper than a limit (a ``yaml.YAMLError``, so every caller's
    YAML error handling reports it with its line and column)."""

    def __init__(self, limit: int, mark: Any = None) -> None:
        super().__init__(problem=f"nests deeper than {limit} levels", problem_mark=mark)
        self.limit = limit


def check_yaml(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`YamlNestingError` when a document of ``text`` nests deeper than ``limit``
    (another ``yaml.YAMLError`` when it is not YAML). Texts with fewer collection indicators
    than ``limit`` cannot be that deep and are not parsed."""
    if sum(text.count(c) for c in "[{:-?") < limit:
        return
    depth = 0
    for event in yaml.parse(text, Loader=_EVENT_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limit:
                raise YamlNestingError(limit, event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def yaml_load(text: str, loader: Any = yaml.SafeLoader, limit: int = MAX_DEPTH) -> Any:
    """``yaml.load`` (a safe loader) after :func:`check_yaml`."""
    return _yaml_held(lambda: yaml.load(text, Loader=loader), text, limit)  # noqa: S506 - safe loaders


def yaml_load_all(text: str, loader: Any = yaml.SafeLoader, limit: int = MAX_DEPTH) -> list[Any]:
    """Every document of ``text`` (a safe loader) after :func:`check_yaml`."""
    return _yaml_held(lambda: list(yaml.load_all(text, Loader=loader)), text, limit)  # noqa: S506 - safe loaders


def yaml_compose(text: str, loader: Any = _EVENT_LOADER, limit: int = MAX_DEPTH) -> Any:
    """The single document of ``text`` as a node (or None) after :func:`check_yaml`."""
    return _yaml_held(lambda: yaml.compose(text, Loader=loader), text, limit)


def yaml_compose_all(text: str, loader: Any = _EVENT_LOADER, limit: int = MAX_DEPTH) -> list[Any]:
    """Every document of ``text`` as nodes (with their marks) after :func:`check_yaml`."""
    return _yaml_held(lambda: list(yaml.compose_all(text, Loader=loader)), text, limit)


def _yaml_held(parse: Callable[[], T], text: str, limit: int) -> T:
    """``parse()`` of ``text`` once :func:`check_yaml` passed, with room to recurse that deep."""
    check_yaml(text, limit)
    try:
        with deep_recursion(_YAML_FRAMES * limit):
            return parse()
    except RecursionError:
        raise YamlNestingError(limit) from None


#: Python frames PyYAML's composer uses per level of a document.
_YAML_FRAMES = 3
