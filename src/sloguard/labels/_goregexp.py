"""Go's ``regexp`` (RE2 syntax, linear time) for every regex a user writes, on google-re2.

Prometheus 2.42 compiles matcher, relabel and ``label_replace`` regexes with Go's regexp
as ``^(?:<re>)$`` (matchers also parse ``<re>`` alone once more), and template functions
compile theirs unanchored. The C++ RE2 behind ``google-re2`` reads the same syntax, in
linear time, except where this module steps in:

* ``\\C`` (any byte) and lookbehind are refused with Go 1.19's (Prometheus 2.42's) words;
  ``(?<name>...)`` is read as ``(?P<name>...)``, as Go 1.22+ does (2.42's Go refused it);
* nesting deeper than Go's limit is refused ("expression nests too deeply");
* C++ RE2's error texts become Go's (``error parsing regexp: missing closing ): `(` ``);
* text that is not valid UTF-8 (lone surrogates, as ``surrogateescape`` decodes bad bytes)
  matches as Go reads it: each bad byte is one U+FFFD.

A compiled program is bounded by ``MAX_MEM`` bytes: a larger pattern is an error
("expression too large"), never a slow or huge compile.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import re2

from sloguard.labels._fastregex import fast_matcher, required_literal
from sloguard.labels._goregexp_syntax import go_only_error, to_go_error

__all__ = ["GoMatch", "GoRegex", "GoRegexError", "MAX_MEM", "compile_anchored", "compile_go", "go_bytes"]

MAX_MEM = 8 << 20  # RE2's own default: ~5 MiB of program, the rest for its DFA cache
_SET_MAX_PROGRAM = 20_000  # instructions: leaves a set's DFA room for hundreds of states
_CACHE = 256  # small compiled regexes kept
_RAW = re2._re2  # the C++ binding: one call per match, no per-call generator
_UNANCHORED = _RAW.RE2.Anchor.UNANCHORED
_SURROGATE = re.compile("[\ud800-\udfff]")


class GoRegexError(ValueError):
    """A pattern Go's regexp refuses; ``str()`` is Go's text (``error parsing regexp: ...``)."""


def _options() -> re2.Options:
    o = re2.Options()
    o.log_errors = False
    o.max_mem = MAX_MEM
    return o


def go_bytes(text: str) -> bytes:
    """``text`` as the UTF-8 bytes Go's regexp reads: a bad byte (surrogate) is U+FFFD."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode()


def _compile(text: str) -> object:
    """RE2 program for ``text``; ``GoRegexError`` with Go's text if Go refuses it."""
    raw = _RAW.RE2(text.encode("utf-8", "surrogatepass"), _OPTIONS)
    own = go_only_error(text)
    if raw.ok():
        if own is None:
            return raw
        raise GoRegexError(f"error parsing regexp: {own[0]}")
    theirs = to_go_error(raw.error().decode("utf-8", "replace"), text)
    first = theirs if own is None or theirs[1] < own[1] else own  # Go stops at the first
    raise GoRegexError(f"error parsing regexp: {first[0]}")


_OPTIONS = _options()


@dataclass(frozen=True, slots=True)
class GoMatch:
    """The groups of one match: ``group(0)`` is all of it, ``group(n)``/``group(name)`` one
    group (None if it took no part); like ``re``, IndexError for a group the regex lacks."""

    groups: tuple[str | None, ...]
    names: Mapping[str, int]

    def group(self, key: int | str = 0) -> str | None:
        idx = self.names.get(key) if isinstance(key, str) else key
        if idx is None or not 0 <= idx < len(self.groups):
            raise IndexError(f"no such group: {key!r}")
        return self.groups[idx]


class GoRegex:
    """A compiled Go regexp: ``matches`` is Go's ``MatchString``, ``submatch`` its
    ``FindStringSubmatch``, ``replace_all`` its ``ReplaceAllString`` (with a callback)."""

    __slots__ = ("pattern", "_re", "_test", "group_names", "program_size")

    def __init__(self, pattern: str, raw: object, anchored: bool) -> None:
        self.pattern = pattern  # as the user wrote it
        self._re = raw
        self._test = _yes_no_test(pattern, raw) if anchored else None
        self.program_size: int = raw.ProgramSize()  # type: ignore[attr-defined]  # C++ binding
        names = raw.NamedCapturingGroups()  # type: ignore[attr-defined]  # C++ binding
        self.group_names: dict[str, int] = {k.decode(): int(v) for k, v in names}

    def matches(self, s: str) -> bool:
        if self._test is not None:
            return self._test(s)
        return self._spans(go_bytes(s), 0)[0][0] >= 0

    def submatch(self, s: str) -> GoMatch | None:
        """The groups of the leftmost match, or None."""
        b = go_bytes(s)
        spans = self._spans(b, 0)
        return None if spans[0][0] < 0 else self._match(s, b, spans)

    def replace_all(self, s: str, repl: Callable[[GoMatch], str]) -> str:
        """Go's ``ReplaceAllString``: an empty match right after a match is not replaced."""
        b = go_bytes(s)
        out: list[str] = []
        last = search = 0
        while search <= len(b):
            spans = self._spans(b, search)
            lo, hi = spans[0]
            if lo < 0:
                break
            out.append(_text(s, b, last, lo))
            if hi > last or lo == 0:
                out.append(repl(self._match(s, b, spans)))
            last = hi
            search = max(search + _rune_width(b, search), hi)
        out.append(_text(s, b, last, len(b)))
        return "".join(out)

    def _match(self, s: str, b: bytes, spans: list[tuple[int, int]]) -> GoMatch:
        groups = tuple(None if lo < 0 else _text(s, b, lo, hi) for lo, hi in spans)
        return GoMatch(groups, self.group_names)

    def _spans(self, b: bytes, start: int) -> list[tuple[int, int]]:
        return self._re.Match(_UNANCHORED, b, start, len(b))  # type: ignore[attr-defined, no-any-return]

    def __repr__(self) -> str:
        return f"GoRegex({self.pattern!r})"


def _yes_no_test(pattern: str, raw: object) -> Callable[[str], bool] | None:
    """The fastest yes/no for anchored ``pattern``: a string test for the common shapes,
    else a one-pattern RE2 set (DFA only, no groups) behind a check for text every match
    contains; None (ask the compiled regexp) for a large program: a set whose DFA runs out
    of memory answers "no match" instead of falling back to the NFA as a regexp does."""
    fast = fast_matcher(pattern)
    if fast is not None:
        return fast
    if raw.ProgramSize() > _SET_MAX_PROGRAM:  # type: ignore[attr-defined]  # C++ binding
        return None
    test = _set_test(pattern)
    folded = fast_matcher(pattern[4:].lower()) if pattern.startswith("(?i)") and pattern.isascii() else None
    if folded is None or test is None:
        return test
    # (?i) on ASCII text: Go's case folding is lower-casing there (not for "K" or "ſ")
    return lambda v: folded(v.lower()) if v.isascii() else test(v)


def _set_test(pattern: str) -> Callable[[str], bool] | None:
    rset = _RAW.Set(_RAW.RE2.Anchor.ANCHOR_BOTH, _OPTIONS)
    if rset.Add(f"(?:{pattern})".encode("utf-8", "surrogatepass")) < 0 or not rset.Compile():
        return None  # then matches() asks the compiled regexp
    match = rset.Match
    needle = required_literal(pattern) or ""

    def test(v: str) -> bool:
        if needle not in v:
            return False
        try:
            b = v.encode()
        except UnicodeEncodeError:
            b = go_bytes(v)
        return bool(match(b))

    return test


def _rune_width(b: bytes, i: int) -> int:
    """Width of the UTF-8 sequence at ``b[i]`` (1 at the end, as Go advances)."""
    if i >= len(b):
        return 1
    c = b[i]
    return 1 if c < 0xC0 else 2 if c < 0xE0 else 3 if c < 0xF0 else 4


def _text(s: str, b: bytes, lo: int, hi: int) -> str:
    """The part of ``s`` at bytes ``lo:hi`` of its Go encoding ``b``."""
    if len(b) == len(s):  # ASCII: bytes and characters line up
        return s[lo:hi]
    start = len(b[:lo].decode())
    return s[start : start + len(b[lo:hi].decode())]


def compile_anchored(pattern: str) -> GoRegex:
    """Prometheus' ``^(?:<pattern>)$`` (matchers, relabel, ``label_replace``); ``GoRegexError``
    with Go's text if Go refuses either it or ``<pattern>`` alone (as 2.42's matchers do)."""
    return _cached((pattern, True), _new_anchored)


def compile_go(pattern: str) -> GoRegex:
    """Go's ``regexp.Compile(pattern)``, unanchored (template ``match``, ``reReplaceAll``)."""
    return _cached((pattern, False), lambda p: GoRegex(p, _compile(p), anchored=False))


def _new_anchored(pattern: str) -> GoRegex:
    raw = _compile(f"^(?:{pattern})$")
    _compile(pattern)  # "a)|(b" compiles anchored, but Prometheus refuses it
    return GoRegex(pattern, raw, anchored=True)


_compiled: OrderedDict[tuple[str, bool], GoRegex] = OrderedDict()
_lock = threading.Lock()


def _cached(key: tuple[str, bool], make: Callable[[str], GoRegex]) -> GoRegex:
    """Recently used small regexes (rules and dashboards repeat theirs); a large program
    (up to ``MAX_MEM``) is not kept, so the cache cannot pin much memory."""
    with _lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
            return found
    rx = make(key[0])
    if rx.program_size <= _SET_MAX_PROGRAM:
        with _lock:
            _compiled[key] = rx
            if len(_compiled) > _CACHE:
                _compiled.popitem(last=False)
    return rx
