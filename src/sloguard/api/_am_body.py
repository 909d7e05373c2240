"""Reading Alertmanager v2 request bodies as Alertmanager 0.25 (go-openapi) reads them.

The answers Prometheus, amtool and Grafana see for a bad body are go-openapi's: 415 for a
body that is not JSON, 422 ``{"code":602,"message":"alerts in body is required"}`` for an
empty one, 400 ``parsing alerts body from "" failed, because <Go's decoding error>`` for
JSON that Go's decoder refuses. This module reproduces Go's wording for the errors a
client meets in practice (syntax errors, a value of the wrong JSON type, a time no layout
of ``strfmt.DateTime`` accepts, and ``exceeded max depth`` past Go's 10,000 levels, which
``sloguard.nesting`` measures before Python's recursive decoder runs).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from sloguard.api._am_http import AmError, swagger_error
from sloguard.api._http import ApiError, read_body
from sloguard.nesting import (
    GO_MAX_DEPTH,
    MAX_DEPTH,
    deep_recursion,
    json_too_deep,
    opening_brackets,
)

#: Go's ``encoding/json`` names for the JSON kinds in "cannot unmarshal X into ...".
_KINDS: dict[type, str] = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}
_LITERALS = ("true", "false", "null")


def json_kind(value: Any) -> str:
    return _KINDS.get(type(value), "null")


def type_error(value: Any, where: str, go_type: str) -> str:
    """Go's ``UnmarshalTypeError`` text."""
    return f"json: cannot unmarshal {json_kind(value)} into {where} of type {go_type}"


async def read_json(request: Request, name: str, limit: int) -> Any:
    """The body's first JSON value (Go's ``json.Decoder`` ignores what follows it)."""
    ctype = request.headers.get("content-type", "application/octet-stream").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise AmError(swagger_error(415, f'unsupported media type "{ctype}", only [application/json] are allowed'))
    try:
        raw = await read_body(request, limit, setting=None)
    except ApiError as e:
        raise AmError(swagger_error(413, e.message)) from None
    text = raw.decode("utf-8", errors="replace")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise AmError(swagger_error(422, f"{name} in body is required", code=602))
    # Go's decoder refuses a value nested deeper than 10,000 levels where the scan gets there,
    # unless a syntax error comes first or the value ends before (what follows it is not read).
    deep = json_too_deep(text, GO_MAX_DEPTH)
    head = text if deep is None else text[:deep]
    try:
        with deep_recursion(min(GO_MAX_DEPTH, opening_brackets(head))):
            value, _end = json.JSONDecoder(parse_constant=_no_constant).raw_decode(head, start)
    except ValueError as e:
        reason = _syntax_error(head, e)
        if deep is not None and reason == "unexpected EOF":
            reason = _too_deep(text, deep)
        raise parse_failure(name, reason) from None
    except RecursionError:  # a Python whose C stack guard stops short of Go's limit
        raise parse_failure(name, _too_deep(text, json_too_deep(text, MAX_DEPTH) or start)) from None
    return value


def _too_deep(text: str, pos: int) -> str:
    return f"invalid character {_quote_char(text[pos])} exceeded max depth"


def parse_failure(name: str, reason: str) -> AmError:
    """go-openapi's 400 for a body its decoder refused."""
    return AmError(swagger_error(400, f'parsing {name} body from "" failed, because {reason}'))


def _no_constant(word: str) -> Any:
    raise ValueError(f"Expecting value: {word}")


def _syntax_error(text: str, e: ValueError) -> str:
    pos = getattr(e, "pos", None)
    msg = getattr(e, "msg", str(e))
    if pos is None or msg.startswith("Expecting value:"):  # NaN, Infinity: not JSON for Go
        pos = _first_constant(text)
    if pos >= len(text) or msg.startswith("Unterminated string"):
        return "unexpected EOF"
    ch = text[pos]
    if ch in "tfn" and msg.startswith("Expecting value"):
        return _literal_error(text, pos)
    return f"invalid character {_quote_char(ch)} {_context(text, pos, msg)}"


def _first_constant(text: str) -> int:
    m = re.search(r"-?(NaN|Infinity)", text)
    return m.start() if m else len(text)


def _literal_error(text: str, pos: int) -> str:
    word = next(w for w in _LITERALS if w[0] == text[pos])
    for i, expected in enumerate(word):
        if pos + i >= len(text):
            return "unexpected EOF"
        if text[pos + i] != expected:
            return f"invalid character {_quote_char(text[pos + i])} in literal {word} (expecting {_quote_char(expected)})"
    return f"invalid character {_quote_char(text[pos + len(word)])} after top-level value"


def _context(text: str, pos: int, msg: str) -> str:
    if msg.startswith("Expecting ':'"):
        return "after object key"
    if msg.startswith("Expecting ','"):
        return "after object key:value pair" if _innermost(text, pos) == "{" else "after array element"
    if msg.startswith("Expecting property name"):
        return "looking for beginning of object key string"
    if msg.startswith("Invalid control character"):
        return "in string literal"
    if msg.startswith("Invalid \\"):
        return "in string escape code"
    return "looking for beginning of value"


def _innermost(text: str, pos: int) -> str:
    stack: list[str] = []
    quoted = escaped = False
    for ch in text[:pos]:
        if quoted:
            quoted, escaped = (quoted, False) if escaped else (ch != '"', ch == "\\")
        elif ch == '"':
            quoted = True
        elif ch in "[{":
            stack.append(ch)
        elif ch in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _quote_char(ch: str) -> str:
    """Go's ``quoteChar``: ``'x'``, ``'\\''``, ``'"'``, ``'\\n'``."""
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + json.dumps(ch, ensure_ascii=False)[1:-1].replace('\\"', '"') + "'"


def check_fields(obj: dict[str, Any], fields: Mapping[str, tuple[type, str]], where: str) -> str | None:
    """The first Go type error among ``obj``'s known fields (matched without regard to case,
    as Go does), in document order; ``None`` (JSON null) is always accepted."""
    by_lower: dict[str, str] | None = None
    for key, value in obj.items():
        if value is None:
            continue
        field = key
        if key not in fields:  # the exact spelling first: the lower-cased names only for others
            by_lower = by_lower or {k.lower(): k for k in fields}
            found = by_lower.get(key.lower())
            if found is None:
                continue
            field = found
        want, go_type = fields[field]
        if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
            return type_error(value, f"Go struct field {where}.{field}", go_type)
    return None


def field(obj: dict[str, Any], name: str) -> Any:
    """The last value of ``name`` in ``obj`` matched without regard to case (Go's rule)."""
    found = None
    for key, value in obj.items():
        if key.lower() == name.lower():
            found = value
    return found


def string_map_error(value: dict[str, Any], where: str) -> str | None:
    """A label set's first value that is not a string (null reads as "")."""
    for v in value.values():
        if v is not None and not isinstance(v, str):
            return type_error(v, where, "string")
    return None


def string_map(value: dict[str, Any] | None) -> dict[str, str]:
    return {k: v or "" for k, v in (value or {}).items()}


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_HOST_CHARS = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:[]<>\"%")
_USER_CHARS = frozenset(string.ascii_letters + string.digits + "-._:~!$&'()*+,;=%@")


def is_request_uri(s: str) -> bool:
    """Go's ``url.ParseRequestURI`` succeeds (go-openapi's ``uri`` format): an absolute URI
    or an absolute path, with a numeric port and well-formed ``%`` escapes."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s) or s.startswith(":"):
        return False
    head, colon, rest = s.partition(":")
    if not colon or _SCHEME.fullmatch(head) is None:
        head, rest = "", s
    rest = rest.split("?", 1)[0]
    if not rest.startswith("/"):
        return head != ""
    if head and rest.startswith("//"):
        authority, _, path = rest[2:].partition("/")
        if not _valid_authority(authority):
            return False
        rest = path
    return _valid_escapes(rest, host=False)


def _valid_authority(authority: str) -> bool:
    user, at, host = authority.rpartition("@")
    if at and not (set(user) <= _USER_CHARS and _valid_escapes(user, host=False)):
        return False
    if host.startswith("["):
        close = host.find("]")
        port = host[close + 1:]
        return close > 0 and (port in ("", ":") or (port.startswith(":") and _is_port(port[1:])))
    name, colon, port = host.rpartition(":")
    if colon and port and not _is_port(port):
        return False
    name = name if colon else host
    return all(c in _HOST_CHARS or ord(c) >= 0x80 for c in name) and _valid_escapes(name, host=True)


def _is_port(s: str) -> bool:
    return re.fullmatch(r"[0-9]+", s) is not None


def _valid_escapes(s: str, *, host: bool) -> bool:
    """Go's ``unescape``: ``%`` and two hex digits; in a host, only non-ASCII bytes or ``%25``."""
    for i, c in enumerate(s):
        if c != "%":
            continue
        pair = s[i + 1:i + 3]
        if len(pair) < 2 or any(d not in string.hexdigits for d in pair):
            return False
        if host and int(pair[0], 16) < 8 and pair != "25":
            return False
    return True
