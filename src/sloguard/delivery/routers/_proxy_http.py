"""HTTP/1.1 heads for the built-in proxy: parse a request head and a response head,
build the request sent upstream and the head sent back, and write error responses.

Hop-by-hop headers are dropped both ways; a body is re-framed with Content-Length for
the upstream (chunked request bodies are decoded, bounded); a response body is relayed
as the upstream framed it (Content-Length, chunked, or until close).
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade",
     b"transfer-encoding", b"content-length", b"expect", b"proxy-authorization"}
)
_REASONS = {400: "Bad Request", 413: "Content Too Large", 431: "Request Header Fields Too Large",
            501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout", 505: "HTTP Version Not Supported"}


class HttpError(Exception):
    """A request the proxy refuses; ``status`` is sent to the client, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Request:
    """One parsed request head (mutable, per request). ``headers`` holds lower-cased names."""

    method: bytes
    target: bytes
    keep_alive: bool
    headers: list[tuple[bytes, bytes]]
    lines: list[bytes]
    content_length: int = 0
    chunked: bool = False
    expect_continue: bool = False
    body: bytes = b""
    _cookies: dict[str, str] | None = field(default=None)

    def header(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            jar: dict[str, str] = {}
            for k, v in self.headers:
                if k == b"cookie":
                    for part in v.decode("latin-1").split(";"):
                        name, _, value = part.strip().partition("=")
                        jar.setdefault(name, value)
            self._cookies = jar
        return self._cookies


def parse_request(head: bytes, max_headers: int) -> Request:
    """The request in ``head`` (request line and header lines, ending in a blank line)."""
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise HttpError(400, f"malformed request line {lines[0][:100]!r}")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise HttpError(505 if version.startswith(b"HTTP/") else 400, f"unsupported HTTP version {version[:20]!r}")
    if len(lines) - 1 > max_headers:
        raise HttpError(431, f"{len(lines) - 1} header fields, more than the limit of {max_headers}")
    req = Request(method, target, version == b"HTTP/1.1", [], [])
    _parse_headers(req, lines)
    return req


def _parse_headers(req: Request, lines: list[bytes]) -> None:
    lengths: set[bytes] = set()
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            raise HttpError(400, f"malformed header line {line[:100]!r}")
        key = name.lower()
        value = value.strip()
        req.headers.append((key, value))
        if key not in HOP_BY_HOP:
            req.lines.append(line)
        elif key == b"content-length":
            lengths.add(value)
        elif key == b"transfer-encoding":
            req.chunked = req.chunked or value.lower().endswith(b"chunked")
        elif key == b"connection":
            _connection_option(req, value.lower())
        elif key == b"expect":
            req.expect_continue = value.lower() == b"100-continue"
    _framing(req, lengths)


def _connection_option(req: Request, value: bytes) -> None:
    if b"close" in value:
        req.keep_alive = False
    elif b"keep-alive" in value:
        req.keep_alive = True


def _framing(req: Request, lengths: set[bytes]) -> None:
    if req.chunked and lengths:
        raise HttpError(400, "both Transfer-Encoding and Content-Length are set")
    if len(lengths) > 1:
        raise HttpError(400, "conflicting Content-Length values")
    if lengths:
        raw = lengths.pop()
        if not raw.isdigit():
            raise HttpError(400, f"invalid Content-Length {raw[:30]!r}")
        req.content_length = int(raw)


def upstream_request(req: Request, client_ip: bytes) -> bytes:
    """The bytes sent upstream: HTTP/1.1, kept headers, X-Forwarded-For, re-framed body."""
    out = [req.method + b" " + req.target + b" HTTP/1.1", *req.lines, b"X-Forwarded-For: " + client_ip]
    if req.body or req.content_length or req.chunked:
        out.append(b"Content-Length: " + str(len(req.body)).encode())
    out.append(b"\r\n")
    return b"\r\n".join(out) + req.body


@dataclass(slots=True)
class Response:
    """An upstream response head; ``length`` is None when the body is chunked or runs to close."""

    status: int
    lines: list[bytes]
    length: int | None
    chunked: bool
    upstream_close: bool
    bodyless: bool = False


def parse_response_head(head: bytes, head_request: bool) -> Response | None:
    """The response in ``head`` (ending in a blank line), or None for a 1xx interim one
    (skipped); ValueError when the upstream sent something that is not HTTP/1.x."""
    lines = head[:-4].split(b"\r\n")
    status_line = lines[0].split(b" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1.") or not status_line[1].isdigit():
        raise ValueError(f"malformed upstream status line {lines[0][:80]!r}")
    status = int(status_line[1])
    if status < 200 and status != 101:
        return None
    resp = Response(status, [lines[0]], None, False, status_line[0] == b"HTTP/1.0")
    for line in lines[1:]:
        _response_header(resp, line)
    if resp.chunked:  # Transfer-Encoding wins over Content-Length (RFC 9112, 6.3)
        resp.length = None
    if head_request or status in (204, 304) or 100 <= status < 200:
        if resp.length is not None:  # describes the body a GET would get: passed on as is
            resp.lines.append(b"Content-Length: " + str(resp.length).encode())
        resp.length, resp.chunked, resp.bodyless = 0, False, True
    return resp


def _response_header(resp: Response, line: bytes) -> None:
    name, _, value = line.partition(b":")
    key = name.strip().lower()
    if key not in HOP_BY_HOP:
        resp.lines.append(line)
    elif key == b"content-length":
        raw = value.strip()
        if not raw.isdigit():
            raise ValueError(f"invalid upstream Content-Length {raw[:30]!r}")
        resp.length = int(raw)
    elif key == b"transfer-encoding":
        resp.chunked = value.strip().lower().endswith(b"chunked")
    elif key == b"connection":
        resp.upstream_close = resp.upstream_close or b"close" in value.lower()


def response_head(resp: Response, extra: bytes, close: bool) -> bytes:
    """The head sent to the client: kept lines, ``extra`` header lines, framing, Connection."""
    out = list(resp.lines)
    if extra:
        out.append(extra)
    if resp.bodyless:
        pass
    elif resp.chunked:
        out.append(b"Transfer-Encoding: chunked")
    elif resp.length is not None:
        out.append(b"Content-Length: " + str(resp.length).encode())
    if close or (resp.length is None and not resp.chunked):
        out.append(b"Connection: close")
    out.append(b"\r\n")
    return b"\r\n".join(out)


def error_response(status: int, message: str, close: bool) -> bytes:
    """A small plain-text error response naming what went wrong."""
    body = f"{status} {_REASONS.get(status, 'Error')}: {message}\n".encode()
    conn = b"close" if close else b"keep-alive"
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n".encode()
        + b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + str(len(body)).encode()
        + b"\r\nConnection: " + conn + b"\r\n\r\n" + body
    )
