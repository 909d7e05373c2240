"""Incremental chunked framing: the same answer however the bytes are split."""

from __future__ import annotations

import pytest

from sloguard.delivery.routers._proxy_framing import ChunkedBody, ChunkScanner, chunk_size
from sloguard.delivery.routers._proxy_http import HttpError, parse_response_head

BODY = b"4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n"


def feed_in_pieces(decoder: ChunkedBody, data: bytes, size: int) -> bytes:
    """Feed ``data`` ``size`` bytes at a time as a client buffer would; the bytes left over."""
    buf = bytearray()
    for i in range(0, len(data), size):
        buf += data[i:i + size]
        del buf[:decoder.feed(buf)]
    return bytes(buf)


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(BODY)])
def test_a_chunked_body_decodes_the_same_however_it_arrives(size: int) -> None:
    decoder = ChunkedBody(max_body=1000)
    rest = feed_in_pieces(decoder, BODY + b"GET /next", size)
    assert decoder.done and decoder.body() == b"Wikipedia in \r\n\r\nchunks."
    assert rest == b"GET /next"  # the next pipelined request is left in the buffer


def test_a_chunked_body_over_the_limit_is_413_and_a_bad_size_400() -> None:
    with pytest.raises(HttpError) as big:
        ChunkedBody(max_body=8).feed(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n")
    assert big.value.status == 413
    for bad in (b"zz\r\n", b"-5\r\n", b"0x5\r\n", b"5\r\nhelloXX0\r\n\r\n"):
        with pytest.raises(HttpError) as e:
            ChunkedBody(max_body=100).feed(bad)
        assert e.value.status == 400, bad


@pytest.mark.parametrize("size", [1, 2, 5, 11, len(BODY)])
def test_the_scanner_finds_where_a_chunked_response_ends_however_it_arrives(size: int) -> None:
    scanner, data = ChunkScanner(), BODY + b"EXTRA"
    seen = 0
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        end = scanner.end(piece)
        if end >= 0:
            assert seen + end == len(BODY)
            return
        seen += len(piece)
    pytest.fail("the end of the body was not found")


def test_the_scanner_refuses_a_malformed_size_line() -> None:
    with pytest.raises(ValueError, match="malformed chunk size"):
        ChunkScanner().end(b"4\r\nWiki\r\nnope\r\n")
    assert chunk_size(b"1A;name=value") == 26


def test_response_heads_keep_end_to_end_headers_and_read_the_framing() -> None:
    head = (b"HTTP/1.1 200 OK\r\nServer: x\r\nConnection: close\r\nContent-Length: 12\r\n"
            b"Keep-Alive: timeout=5\r\nX-A: 1\r\n\r\n")
    resp = parse_response_head(head, head_request=False)
    assert resp is not None
    assert (resp.status, resp.length, resp.chunked, resp.upstream_close) == (200, 12, False, True)
    assert resp.lines == [b"HTTP/1.1 200 OK", b"Server: x", b"X-A: 1"]
    both = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", False)
    assert both is not None and both.chunked and both.length is None  # chunked wins
    assert parse_response_head(b"HTTP/1.1 100 Continue\r\n\r\n", False) is None
    with pytest.raises(ValueError, match="Content-Length"):
        parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", False)
