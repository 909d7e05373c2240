"""Parsing an HTTP/1.1 response incrementally, fed whatever bytes arrived (for ``_h1``).

Heads are found with one ``bytes.find``; the body is framed by Content-Length, by chunked
transfer coding (chunk extensions and trailers dropped) or, without either, by the close
of the connection. Interim (1xx) responses are skipped. Malformed input raises
``ValueError`` naming what was wrong; the caller closes the connection.
"""

from __future__ import annotations

__all__ = ["MAX_HEAD", "MAX_KEPT_BODY", "ResponseParser", "chunk_size"]

MAX_HEAD = 64 * 1024
"""Bytes a response head may take."""
MAX_KEPT_BODY = 64 * 1024
"""Body bytes kept (the rest is read and dropped: callers look at the start of a body only)."""
_MAX_LINE = 4096
_NO_BODY = frozenset((204, 304))


def chunk_size(line: bytes) -> int:
    """The size on a chunk-size line (extensions after ``;`` ignored); ValueError if not hex."""
    digits = line.split(b";", 1)[0].strip()
    if not digits or digits.strip(b"0123456789abcdefABCDEF"):
        raise ValueError(f"malformed chunk size {line[:30]!r}")
    return int(digits, 16)


class ResponseParser:
    """One response. After :meth:`feed` returned True: ``status``, ``headers`` (lower-case
    names), :meth:`body`; ``must_close`` says the connection cannot carry another request."""

    __slots__ = ("_buf", "_chunk_left", "_kept", "_length", "_parts", "_state", "_trailers",
                 "headers", "must_close", "started", "status", "until_close")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = 0  # 0 head, 1 Content-Length body, 2 chunked body, 3 body until the close
        self._length = 0
        self._chunk_left = -1  # data bytes of the current chunk still expected; -1: a size line is
        self._trailers = False
        self._parts: list[bytes] = []
        self._kept = 0
        self.status = 0
        self.headers: dict[str, str] = {}
        self.started = False
        self.until_close = False
        self.must_close = False

    def body(self) -> bytes:
        return b"".join(self._parts)

    def feed(self, data: bytes) -> bool:
        """Take ``data``; True once the response is complete."""
        self.started = True
        self._buf += data
        while self._state == 0:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD:
                    raise ValueError(f"a response head over {MAX_HEAD} bytes")
                return False
            head = bytes(self._buf[:end])
            del self._buf[:end + 4]
            self._head(head)
        if self._state == 1:
            return self._sized()
        if self._state == 2:
            return self._chunked()
        self._keep(bytes(self._buf))
        self._buf.clear()
        return False

    def close(self) -> None:
        """The connection closed: a body read until the close is complete."""
        self._keep(bytes(self._buf))
        self._buf.clear()

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
            raise ValueError(f"bad status line {lines[0][:60]!r}")
        status = int(parts[1])
        if 100 <= status < 200:
            return  # an interim response: the real one follows
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise ValueError(f"bad header line {line[:60]!r}")
            headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
        self.status, self.headers = status, headers
        connection = headers.get("connection", "").lower()
        self.must_close = "close" in connection or (parts[0] == b"HTTP/1.0" and "keep-alive" not in connection)
        if status in _NO_BODY:
            self._state, self._length = 1, 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = 2
        elif "content-length" in headers:
            length = headers["content-length"]
            if not length.isdigit():
                raise ValueError(f"bad Content-Length {length[:30]!r}")
            self._state, self._length = 1, int(length)
        else:
            self._state, self.until_close, self.must_close = 3, True, True

    def _sized(self) -> bool:
        if len(self._buf) < self._length:
            return False
        self._keep(bytes(self._buf[:self._length]))
        if len(self._buf) > self._length:
            self.must_close = True  # bytes after the response: the connection is out of step
        self._buf.clear()
        return True

    def _chunked(self) -> bool:
        buf = self._buf
        while True:
            if self._chunk_left >= 0:
                if len(buf) < self._chunk_left + 2:
                    return False
                end = self._chunk_left
                if buf[end:end + 2] != b"\r\n":
                    raise ValueError("a chunk does not end with CRLF")
                self._keep(bytes(buf[:end]))
                del buf[:end + 2]
                self._chunk_left = -1
                continue
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > _MAX_LINE:
                    raise ValueError(f"a chunk-size or trailer line over {_MAX_LINE} bytes")
                return False
            line = bytes(buf[:end])
            del buf[:end + 2]
            if self._trailers:
                if not line:
                    if buf:
                        self.must_close = True
                    return True
                continue
            size = chunk_size(line)
            if size == 0:
                self._trailers = True
            else:
                self._chunk_left = size

    def _keep(self, data: bytes) -> None:
        room = MAX_KEPT_BODY - self._kept
        if room > 0 and data:
            piece = data[:room]
            self._parts.append(piece)
            self._kept += len(piece)
