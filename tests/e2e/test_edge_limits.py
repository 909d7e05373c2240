"""Slow clients against a real ``sloguard serve``: half-sent headers and bodies are cut off at
their deadline, connections over ``--web.max-connections`` are closed at once, and
``/-/healthy`` keeps answering throughout."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import httpx

from tests.e2e.conftest import SloguardProcess

PARTIAL_HEADERS = b"GET /api/v1/labels HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@contextmanager
def _slow_clients(port: int, n: int, payload: bytes = PARTIAL_HEADERS) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        socks = []
        for _ in range(n):
            s = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            s.sendall(payload)
            socks.append(s)
        yield socks


def _closed_by_server(s: socket.socket, within_s: float) -> bool:
    """The server closed ``s`` (EOF or reset) within ``within_s``, having sent nothing but maybe an error."""
    s.settimeout(within_s)
    try:
        while data := s.recv(4096):
            if not data.startswith(b"HTTP/1.1 4"):
                return False
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _healthy(p: SloguardProcess) -> bool:
    return httpx.get(f"{p.url}/-/healthy", timeout=1.0).status_code == 200


def test_slow_headers_do_not_block_health_and_are_closed_at_the_header_deadline(
    sloguard_factory: Callable[..., SloguardProcess],
) -> None:
    p = sloguard_factory()
    p.extra_args = ["--web.read-header-timeout=1s", "--web.max-connections=400"]
    p.start()
    with _slow_clients(p.port, 200) as socks:
        assert _healthy(p)  # answered within 1 s while 200 clients hold half a header
        started = time.monotonic()
        assert all(_closed_by_server(s, 15) for s in socks)
        assert time.monotonic() - started < 15
    assert _healthy(p)
    assert "out of system resource" not in p.logs()
    assert _metric(p, "sloguard_http_connections_timed_out_total") == 200
    assert p.stop() == 0


def test_at_the_cap_slow_clients_make_room_for_new_ones(
    sloguard_factory: Callable[..., SloguardProcess],
) -> None:
    p = sloguard_factory()
    p.extra_args = ["--web.read-header-timeout=5s", "--web.max-connections=20"]
    p.start()
    log_lines = len(p.logs().splitlines())
    with _slow_clients(p.port, 60) as socks:
        time.sleep(0.5)  # well inside the 5 s header deadline
        readable, _, _ = select.select(socks, [], [], 0)
        # the oldest made room (fewer if the readiness checks' connections were still open: they go first)
        assert 38 <= sum(_closed_by_server(s, 0.1) for s in readable) <= 40
        assert _metric(p, "sloguard_http_connections_rejected_total") == 0
        assert set(socks[-20:]).isdisjoint(readable)  # the newest 20 are held
        for _ in range(5):
            assert _healthy(p)  # answered during the attack: each check evicts a slow client
    assert len(p.logs().splitlines()) - log_lines < 5  # no line per closed connection
    assert _metric(p, "sloguard_http_connections_evicted_total") >= 41  # the 40 and one for the first check
    assert p.stop() == 0


def _metric(p: SloguardProcess, name: str) -> float:
    for line in httpx.get(f"{p.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not on /metrics")


def _healthy_or_false(p: SloguardProcess) -> bool:
    try:
        return _healthy(p)
    except httpx.HTTPError:
        return False


def test_a_body_sent_too_slowly_is_cut_off_at_the_read_deadline(
    sloguard_factory: Callable[..., SloguardProcess],
) -> None:
    p = sloguard_factory()
    p.extra_args = ["--web.read-timeout=2s"]
    p.start()
    head = (b"POST /api/v1/write HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Encoding: snappy\r\nContent-Length: 1000\r\n\r\n0123456789")
    with _slow_clients(p.port, 5, head) as socks:
        assert _healthy(p)
        assert all(_closed_by_server(s, 15) for s in socks)
    assert p.stop() == 0
