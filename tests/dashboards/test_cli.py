"""`sloguard dashboards export`: where the SLOs and services come from, what is written,
and clear errors (exit codes, one-line messages, no traceback) for bad input."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.dashboards import build_all
from sloguard.slo.loader import load_files
from tests._net import free_port
from tests.dashboards._world import DEMO_SPEC

DELIVERY = Path(__file__).parents[1] / "delivery" / "data"
ROLLOUT_FILES = [DELIVERY / "native-canary.yaml", DELIVERY / "argo-success-rate.yaml"]
DEMO_FILES = ["sloguard-overview.json", "sloguard-slo-demo-availability.json", "sloguard-slo-demo-latency.json"]


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["dashboards", "export", *args])
    return r.exit_code, r.stdout, r.stderr


def test_default_exports_the_bundled_configs_slos(tmp_path: Path) -> None:
    code, out, err = _run("--out", str(tmp_path / "dash"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "dash").iterdir()) == DEMO_FILES
    assert out.split() == [str(tmp_path / "dash" / n) for n in DEMO_FILES]
    assert "3 dashboard(s): 1 overview, 2 SLO(s), 0 service(s)" in err
    written = json.loads((tmp_path / "dash" / "sloguard-slo-demo-latency.json").read_text())
    assert written == build_all(load_files([DEMO_SPEC])[0])["sloguard-slo-demo-latency.json"]


def test_slo_config_and_rollout_files(tmp_path: Path) -> None:
    specs = tmp_path / "slos"
    specs.mkdir()
    (specs / "demo.yml").write_text(DEMO_SPEC.read_text())
    args = ["--out", str(tmp_path / "d"), "--slo-config", str(specs), "--service", "search"]
    code, _, err = _run(*args, *[a for f in ROLLOUT_FILES for a in ("--rollouts", str(f))])
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "d").iterdir())
    assert names == sorted([*DEMO_FILES, "sloguard-svc-checkout.json", "sloguard-svc-search.json"])
    assert "warning" not in err  # Argo fields sloguard ignores do not matter to a dashboard


class _Labels(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        self.seen.extend(parse_qs(url.query).get("match[]", []))
        ok = url.path == "/api/v1/label/service/values"
        body = json.dumps({"status": "success", "data": ["checkout", "payments"]} if ok else {"status": "error"})
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _Labels)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_url_adds_every_service_the_server_proxies_by_version(tmp_path: Path, server: str) -> None:
    code, _, err = _run("--out", str(tmp_path), "--url", server + "/")
    assert code == 0, err
    assert (tmp_path / "sloguard-svc-checkout.json").is_file() and (tmp_path / "sloguard-svc-payments.json").is_file()
    assert _Labels.seen[-1] == 'http_requests_total{service!="", version!=""}'


def test_unreachable_url_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = _run("--out", str(tmp_path / "d"), "--url", f"http://127.0.0.1:{free_port()}")
    assert code == 1 and err.startswith("--url http://127.0.0.1:") and "Traceback" not in err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(("make_args", "code", "message"), [
    (lambda t: ["--slo-config", str(t / "missing.yml")], 2, "--slo-config: no such file or directory"),
    (lambda t: ["--rollouts", str(t / "missing.yml")], 2, "--rollouts: no such file"),
    (lambda t: ["--config", str(t / "missing.yml")], 2, "--config"),
    (lambda t: ["--slo-config", str(_bad_spec(t))], 1, "objective"),
])
def test_bad_input_is_a_clear_error(tmp_path: Path, make_args: object, code: int, message: str) -> None:
    assert callable(make_args)
    exit_code, _, err = _run("--out", str(tmp_path / "d"), *make_args(tmp_path))
    assert exit_code == code and message in err and "Traceback" not in err, err
    assert not (tmp_path / "d").exists()


def _bad_spec(tmp: Path) -> Path:
    p = tmp / "bad.yml"
    p.write_text(DEMO_SPEC.read_text().replace("objective: 99.5%", "objective: 150%"))
    return p


def test_an_unwritable_out_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    code, _, err = _run("--out", str(tmp_path / "file" / "d"))
    assert code == 1 and err.startswith(f"Cannot write the dashboards into {tmp_path / 'file' / 'd'}")


def test_services_under_rollout_come_from_sloguards_own_api() -> None:
    """Against the real API: services whose requests carry a ``version`` (the proxy's
    series), not services scraped without one (the demo)."""
    import numpy as np
    from starlette.testclient import TestClient

    from sloguard.api import ServerContext, create_app
    from sloguard.cli._dashboards import served_services
    from sloguard.labels import Labels
    from sloguard.tsdb.testing import MemoryStorage

    storage = MemoryStorage()
    app = storage.appender()
    for labels in ({"service": "checkout", "version": "v1", "code": "200"}, {"service": "checkout", "version": "v2", "code": "500"},
                   {"service": "payments", "version": "stable", "code": "200"}, {"service": "demo", "job": "demo", "code": "200"}):
        app.append_many(Labels.from_dict({"__name__": "http_requests_total", **labels}), np.array([1000], np.int64), np.array([1.0]))
    app.commit()
    client = TestClient(create_app(ServerContext(storage=storage, serve_demo=False)))
    assert served_services("http://testserver/", client) == ["checkout", "payments"]
