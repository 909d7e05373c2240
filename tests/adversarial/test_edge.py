"""Issue 8, item 6: slow clients, missing credentials, the lifecycle API and passwords in targets.

Slowloris is scaled to a ``--web.max-connections`` of 64 and a 2 s header timeout: 40 clients
that trickle header lines forever (health must still answer, and the server must close them
after the timeout), then 192 at once (the server stays within its cap, without a log flood).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator

import bcrypt
import httpx
import pytest
import yaml

from tests.adversarial.conftest import (
    LIFECYCLE_DISABLED,
    Acked,
    Server,
    assert_healthy,
    attack_window,
    config_text,
    flag_args,
    open_fds,
)

pytestmark = [pytest.mark.adversarial, pytest.mark.timeout(90)]

CAP, HEADER_TIMEOUT_S = 64, 2.0
FD_MARGIN = 40  # the server's own descriptors (listener, WAL, logs, event loop)
MAX_NEW_LOG_LINES = 20


def _partial(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"GET /api/v1/labels HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return s


def _closed_by_server(s: socket.socket) -> bool:
    s.settimeout(0.05)
    try:
        s.sendall(b"X-Slow: 1\r\n")
        s.recv(4096)  # an answer (408) or EOF: the server is done with this client
        return True
    except (TimeoutError, BlockingIOError):
        return False
    except OSError:
        return True


@contextlib.contextmanager
def _sockets(port: int, n: int) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            with contextlib.suppress(OSError):
                socks.append(_partial(port))
        yield socks
    finally:
        for s in socks:
            s.close()


def test_slowloris_clients_are_timed_out_and_health_answers(make_server: Callable[..., Server]) -> None:
    server = make_server(args=flag_args(max_connections=CAP, read_header_timeout=f"{HEADER_TIMEOUT_S:.0f}s"))
    acked = Acked("adv_slow")
    acked.seed(server)
    with attack_window(server, acked), _sockets(server.port, 40) as socks:
        assert len(socks) == 40
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 2.5
        open_now = socks
        while time.monotonic() < deadline and open_now:
            time.sleep(0.5)
            open_now = [s for s in open_now if not _closed_by_server(s)]
        assert not open_now, f"{len(open_now)} of 40 trickling clients still open after {HEADER_TIMEOUT_S + 2.5}s"


def test_a_flood_of_slow_clients_stays_within_the_connection_cap(make_server: Callable[..., Server]) -> None:
    server = make_server(args=flag_args(max_connections=CAP, read_header_timeout=f"{HEADER_TIMEOUT_S:.0f}s"))
    acked = Acked("adv_flood")
    acked.seed(server)
    fds0, lines0 = open_fds(server.pid), len(server.logs().splitlines())
    with _sockets(server.port, 3 * CAP) as socks:
        time.sleep(0.5)
        fds = open_fds(server.pid)
        server.assert_alive()
        time.sleep(HEADER_TIMEOUT_S + 1.0)
        still = sum(1 for s in socks if not _closed_by_server(s))
    assert fds <= fds0 + CAP + FD_MARGIN, f"{fds} descriptors open (cap {CAP}, {fds0} before the flood)"
    assert still == 0, f"{still} of {3 * CAP} slow clients still open after the header timeout"
    assert_healthy(server)
    acked.verify(server)
    new_lines = len(server.logs().splitlines()) - lines0
    assert new_lines <= MAX_NEW_LOG_LINES, f"{new_lines} log lines for one flood:\n{server.log_tail()}"


def _web_config(user: str, password: str) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return yaml.safe_dump({"basic_auth_users": {user: hashed}})


PROTECTED = [
    ("GET", "/api/v1/query?query=1"), ("POST", "/api/v1/write"), ("POST", "/-/reload"),
    ("GET", "/api/v1/targets"), ("GET", "/metrics"), ("GET", "/-/healthy"),
]


def test_basic_auth_refuses_requests_without_credentials(make_server: Callable[..., Server]) -> None:
    server = make_server(start=False, auth=("adv", "pa55-word"))
    web = server.config_path.parent / "web.yml"
    web.write_text(_web_config("adv", "pa55-word"))
    server.args = flag_args(web_config=str(web), enable_lifecycle=True)
    server.start()
    answers = {}
    with httpx.Client(base_url=server.url, timeout=5) as anonymous:
        for method, path in PROTECTED:
            r = anonymous.request(method, path)
            wrong = anonymous.request(method, path, auth=("adv", "wrong"))
            basic = r.headers.get("www-authenticate", "").lower().startswith("basic")
            answers[f"{method} {path}"] = (r.status_code, wrong.status_code, basic)
    bad = {k: v for k, v in answers.items() if v != (401, 401, True)}
    assert not bad, f"(no credentials, wrong password, WWW-Authenticate: Basic) should be (401, 401, True): {bad}"
    with server.client() as c:
        assert c.get("/api/v1/query", params={"query": "1"}).status_code == 200


def test_reload_without_the_lifecycle_flag_is_forbidden(make_server: Callable[..., Server]) -> None:
    server = make_server()
    with server.client() as c:
        for method in ("POST", "PUT"):
            r = c.request(method, "/-/reload")
            assert r.status_code == 403, f"{method} /-/reload without --web.enable-lifecycle: {r.status_code}"
            assert LIFECYCLE_DISABLED in r.text


def test_a_password_in_a_target_address_is_never_shown(make_server: Callable[..., Server]) -> None:
    secret = "s3cr3t-pw"
    server = make_server(start=False)
    server.config_path.write_text(config_text({"scrape_configs": [{
        "job_name": "self", "scrape_interval": "1s", "scrape_timeout": "1s",
        "static_configs": [{"targets": [f"adv:{secret}@127.0.0.1:{server.port}"]}],
    }]}))
    server.spawn()
    deadline = time.monotonic() + 30
    while server.alive() and time.monotonic() < deadline and not server.is_up():
        time.sleep(0.1)
    if not server.alive():  # refused: a clear error that does not echo the password
        assert server.proc is not None and server.proc.returncode in (1, 2), server.log_tail()
        assert secret not in server.logs() and "Traceback" not in server.logs(), server.log_tail()
        return
    time.sleep(2.5)  # a couple of scrapes
    assert_healthy(server)
    with server.client() as c:
        shown = [c.get(p).text for p in (
            "/api/v1/targets", "/api/v1/label/instance/values", "/api/v1/series?match[]=up",
            "/api/v1/status/config", "/metrics",
        )]
    leaks = [i for i, text in enumerate(shown) if secret in text]
    assert not leaks, f"the target password is shown by endpoints #{leaks}"
    assert secret not in server.logs(), "the target password is in the log"
