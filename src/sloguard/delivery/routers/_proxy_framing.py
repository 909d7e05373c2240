"""Incremental chunked framing for the built-in proxy, fed whatever bytes arrived.

``ChunkedBody`` decodes a chunked request body (bounded, so it can be re-framed with
Content-Length for the upstream); ``ChunkScanner`` finds where a chunked response body
ends while its bytes are passed on unchanged. Both scan with ``bytes.find`` and keep at
most one partial line between calls.
"""

from __future__ import annotations

from sloguard.delivery.routers._proxy_http import HttpError
from sloguard.httpclient import chunk_size

MAX_LINE = 4096
"""Bytes a chunk-size or trailer line may take."""


class ChunkedBody:
    """Decodes a chunked request body. ``feed`` returns how many bytes of the buffer it used;
    ``done`` is set once the last chunk and the trailers (dropped) are in."""

    __slots__ = ("parts", "total", "max_body", "left", "trailers", "done")

    def __init__(self, max_body: int) -> None:
        self.parts: list[bytes] = []
        self.total = 0
        self.max_body = max_body
        self.left = -1  # data bytes (+ CRLF) of the current chunk still expected; -1: a line is
        self.trailers = False
        self.done = False

    def body(self) -> bytes:
        return b"".join(self.parts)

    def feed(self, buf: bytes | bytearray) -> int:
        """Consume complete lines and chunks of ``buf``; HttpError 400 or 413 on bad input."""
        pos = 0
        while not self.done:
            if self.left >= 0:
                if len(buf) - pos < self.left + 2:
                    return pos
                end = pos + self.left
                if buf[end:end + 2] != b"\r\n":
                    raise HttpError(400, "a chunk of the request body does not end with CRLF")
                self.parts.append(bytes(buf[pos:end]))
                pos, self.left = end + 2, -1
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                if len(buf) - pos > MAX_LINE:
                    raise HttpError(400, f"a chunk-size or trailer line over {MAX_LINE} bytes")
                return pos
            self._line(bytes(buf[pos:end]))
            pos = end + 2
        return pos

    def _line(self, line: bytes) -> None:
        if self.trailers:
            self.done = not line  # trailer lines are dropped; a blank line ends the body
            return
        try:
            size = chunk_size(line)
        except ValueError as e:
            raise HttpError(400, str(e)) from None
        if size == 0:
            self.trailers = True
            return
        self.total += size
        if self.total > self.max_body:
            raise HttpError(413, f"a chunked body over the limit of {self.max_body} bytes")
        self.left = size


class ChunkScanner:
    """Follows a chunked response body passed through unchanged: ``end(data)`` is the offset
    in ``data`` just past the body's last byte, or -1 when more is to come. ValueError on
    a malformed size line."""

    __slots__ = ("skip", "line", "trailers")

    def __init__(self) -> None:
        self.skip = 0  # chunk data + CRLF bytes still to pass
        self.line = b""  # a partial size or trailer line carried from the previous call
        self.trailers = False

    def end(self, data: bytes | bytearray) -> int:
        carry = len(self.line)
        if carry:
            data, self.line = self.line + data, b""
        pos, n = 0, len(data)
        while True:
            if self.skip:
                step = min(self.skip, n - pos)
                pos += step
                self.skip -= step
                if self.skip:
                    return -1
            end = data.find(b"\r\n", pos)
            if end < 0:
                self.line = bytes(data[pos:])
                if len(self.line) > MAX_LINE:
                    raise ValueError(f"an upstream chunk-size or trailer line over {MAX_LINE} bytes")
                return -1
            line, pos = data[pos:end], end + 2
            if self.trailers:
                if not line:
                    return pos - carry
            elif (size := chunk_size(bytes(line))) == 0:
                self.trailers = True
            else:
                self.skip = size + 2
