"""Scanning one series (``name{label="value",...}``) of the text exposition formats.

This is the slow, exact path: the line parser calls it once per distinct series text and
caches the result. Grammar follows Prometheus' lexers: in the text format 0.0.4 spaces
and tabs may appear between any two tokens; OpenMetrics allows no whitespace inside a
series. Label values are double-quoted; ``\\\\``, ``\\"`` and ``\\n`` are unescaped, any
other escaped character is kept as written (both characters), as Prometheus does.
"""

from __future__ import annotations

import re

from sloguard.ingest._errors import IngestError
from sloguard.labels import METRIC_NAME, Labels

METRIC_NAME_RE = re.compile(rb"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(rb"[a-zA-Z_][a-zA-Z0-9_]*")
_QUOTED_TEXT = re.compile(rb'"((?:\\.|[^\\"])*)"', re.DOTALL)
_QUOTED_OM = re.compile(rb'"((?:\\.|[^\\"\n])*)"', re.DOTALL)
_WS = re.compile(rb"[ \t]*")
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_TOKEN = re.compile(rb'[^ \t,=}{"]*')
_UNESCAPED = {b'"': b'"', b"\\": b"\\", b"n": b"\n"}


class SeriesSyntaxError(IngestError, ValueError):
    """A problem inside a series text; the line parser adds the line number."""


_GO_ESCAPES = {
    ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
    ord("\v"): "\\v", ord("\f"): "\\f", ord("\a"): "\\a", ord("\b"): "\\b",
    **{c: f"\\x{c:02x}" for c in (*range(0, 7), *range(14, 32), 127)},
    **{0xDC00 + b: f"\\x{b:02x}" for b in range(0x80, 0x100)},  # invalid UTF-8 bytes
}


def show(token: bytes) -> str:
    """A token as Prometheus quotes it in errors (Go's ``%q``): ``"1\\r"``."""
    text = token.decode("utf-8", "surrogateescape")
    return '"' + text.translate(_GO_ESCAPES) + '"'


def _next_token(s: bytes, i: int) -> bytes:
    """The text at ``i`` up to the next separator, for error messages."""
    m = _TOKEN.match(s, i)
    tok = m.group(0) if m else b""
    return tok or s[i : i + 1]


def _got(s: bytes, i: int) -> str:
    return "end of line" if i >= len(s) else show(_next_token(s, i))


def unescape(raw: bytes) -> bytes:
    if b"\\" not in raw:
        return raw
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(0)), raw)


def decode_value(raw: bytes, what: str) -> str:
    try:
        return unescape(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise SeriesSyntaxError(f"invalid UTF-8 {what}: {show(raw)}") from None


class _Scanner:
    __slots__ = ("s", "i", "om")

    def __init__(self, s: bytes, i: int, om: bool) -> None:
        self.s, self.i, self.om = s, i, om

    def ws(self) -> None:
        if not self.om:
            m = _WS.match(self.s, self.i)
            if m:
                self.i = m.end()

    def peek(self) -> bytes:
        return self.s[self.i : self.i + 1]

    def expect_match(self, rx: re.Pattern[bytes], what: str) -> re.Match[bytes]:
        m = rx.match(self.s, self.i)
        if m is None:
            raise SeriesSyntaxError(f"expected {what}, got {_got(self.s, self.i)}")
        self.i = m.end()
        return m

    def label_set(self, exemplar: bool) -> list[tuple[str, str]]:
        """Parse ``{...}``; ``self.i`` is just past ``{``. The text format allows a trailing comma."""
        pairs: list[tuple[str, str]] = []
        quoted = _QUOTED_OM if (self.om or exemplar) else _QUOTED_TEXT
        while True:
            self.ws()
            if self.peek() == b"}":
                self.i += 1
                return pairs
            name = self.expect_match(LABEL_NAME_RE, "label name").group(0).decode("ascii")
            self.ws()
            if self.peek() != b"=":
                raise SeriesSyntaxError(f"expected equal, got {_got(self.s, self.i)}")
            self.i += 1
            self.ws()
            raw = self.expect_match(quoted, "label value").group(1)
            pairs.append((name, decode_value(raw, "label value")))
            self.ws()
            c = self.peek()
            if c == b",":
                self.i += 1
                if (self.om or exemplar) and self.peek() == b"}":
                    # OpenMetrics (unlike the text format) has no trailing comma.
                    raise SeriesSyntaxError('expected label name, got "}"')
            elif c != b"}":
                raise SeriesSyntaxError(f"expected comma or brace close, got {_got(self.s, self.i)}")


def check_unique(pairs: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for n, _ in pairs:
        if n in seen:
            raise SeriesSyntaxError(f'label name "{n}" is not unique')
        seen.add(n)


def scan_series(s: bytes, om: bool) -> tuple[Labels, int]:
    """Parse the series starting at ``s[0]``; return its labels and the end offset."""
    sc = _Scanner(s, 0, om)
    name = sc.expect_match(METRIC_NAME_RE, "a valid start token (metric name)").group(0)
    pairs: list[tuple[str, str]] = [(METRIC_NAME, name.decode("ascii"))]
    if om:
        if sc.peek() == b"{":
            sc.i += 1
            pairs.extend(sc.label_set(False))
    else:
        save = sc.i
        sc.ws()
        if sc.peek() == b"{":
            sc.i += 1
            pairs.extend(sc.label_set(False))
        else:
            sc.i = save
    check_unique(pairs)
    return Labels(pairs), sc.i


def scan_exemplar(s: bytes, i: int) -> int:
    """Check an OpenMetrics exemplar label set starting at ``s[i] == '{'``; return its end."""
    sc = _Scanner(s, i + 1, True)
    pairs = sc.label_set(True)
    check_unique(pairs)
    return sc.i


_PAIR = rb'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^\\"\n])*)"'
_PAIR_RE = re.compile(_PAIR, re.DOTALL)
_SERIES_RE = re.compile(
    rb"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:" + _PAIR + rb"(?:," + _PAIR + rb")*)?)\})?", re.DOTALL
)


def _series_quick(text: bytes) -> Labels | None:
    """One regex for the common shape (no whitespace, no trailing comma); else ``None``."""
    m = _SERIES_RE.fullmatch(text)
    if m is None:
        return None
    pairs = [(METRIC_NAME, m.group(1).decode("ascii"))]
    inner = m.group(2)
    if inner:
        for pm in _PAIR_RE.finditer(inner):
            raw = pm.group(2)
            pairs.append((pm.group(1).decode("ascii"), decode_value(raw, "label value")))
    check_unique(pairs)
    return Labels(pairs)


def parse_series_text(text: bytes, om: bool) -> Labels:
    """Labels of a complete series text; anything after the series is an error."""
    quick = _series_quick(text)
    if quick is not None:
        return quick
    labels, end = scan_series(text, om)
    if not om:
        m = _WS.match(text, end)
        end = m.end() if m else end
    if end != len(text):
        raise SeriesSyntaxError(f"unexpected {show(text[end:])} after series {show(text[:end])}")
    return labels
