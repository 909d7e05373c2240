"""The Dockerfile, checked without Docker: the image's command is accepted by sloguard's
own CLI and loads the config the image ships, the user is non-root, the data dir is the
volume, the health check hits the ready route and fails on a 503, COPY'd files exist."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloguard.rules import expand_rule_files
from sloguard.slo.loader import load_files
from tests.deploy._checks import probe_problems
from tests.deploy._dockerfile import (
    copies,
    exec_form,
    healthcheck,
    ignore_patterns,
    ignored,
    image_uid,
    last,
    materialize_copies,
    stages,
)
from tests.deploy._manifests import REPO
from tests.deploy._serve import run_sloguard

FINAL = stages()[-1]


def _command() -> list[str]:
    return exec_form(last(FINAL, "ENTRYPOINT") or "[]", "ENTRYPOINT") + exec_form(last(FINAL, "CMD") or "[]", "CMD")


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_image_runs_as_a_fixed_non_root_uid_created_with_that_uid() -> None:
    uid = image_uid()
    assert uid >= 1000
    setup = " ".join(i.value for i in FINAL if i.name == "RUN")
    assert f"--uid {uid}" in setup and f"chown {uid}:" in setup


def test_the_command_is_sloguard_serve_in_exec_form_and_a_declared_script() -> None:
    argv = _command()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert argv[:2] == ["sloguard", "serve"] and argv[0] in scripts


def test_the_data_dir_of_the_command_is_the_volume_and_the_workdir() -> None:
    argv = _command()
    volumes = exec_form(last(FINAL, "VOLUME") or "[]", "VOLUME")
    assert volumes == [_flag(argv, "--data-dir")] == [last(FINAL, "WORKDIR")] == ["/var/lib/sloguard"]


def test_the_command_is_accepted_by_sloguards_cli_with_the_shipped_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    materialize_copies(FINAL, tmp_path)
    args = [a.replace("/etc/sloguard", str(tmp_path / "etc/sloguard")).replace("/var/lib", str(tmp_path / "var/lib"))
            for a in _command()[1:]]
    started = run_sloguard(args, monkeypatch)
    assert started.exit_code == 0, started.output
    options, config = started.options, started.config
    assert options.data_dir == tmp_path / "var/lib/sloguard"
    assert (options.host, str(options.port)) == ("0.0.0.0", last(FINAL, "EXPOSE"))
    targets = [t for sc in config.scrape_configs for g in sc.static_configs for t in g.targets]
    assert f"127.0.0.1:{options.port}" in targets  # the server scrapes itself
    slo_files = expand_rule_files(list(config.slo_files), str(tmp_path / "etc/sloguard"))
    slos, problems = load_files(slo_files)
    assert slo_files and slos and not [p for p in problems if p.is_error]


def test_a_wrong_data_dir_flag_is_refused_by_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    args = [("--data-path" if a == "--data-dir" else a) for a in _command()[1:]]
    started = run_sloguard(args, monkeypatch)
    assert started.exit_code == 2 and "--data-path" in started.output and not started.calls


def _tracked(source: str) -> list[Path]:
    """The files under ``source`` that the repository holds (build output such as an
    editable install's ``src/*.egg-info`` is ignored by .dockerignore on purpose)."""
    out = subprocess.run(["git", "ls-files", "-z", "--", source], cwd=REPO, capture_output=True, check=True)
    return [REPO / name for name in out.stdout.decode().split("\0") if name]


def test_copied_sources_exist_and_are_not_dockerignored() -> None:
    patterns = ignore_patterns()
    sources = [s for stage in stages() for c in copies(stage) if c.from_stage is None for s in c.sources]
    assert {"pyproject.toml", "README.md", "src"} <= set(sources)
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: no such file in the build context"
        kept = _tracked(source)
        assert kept and not [f for f in kept if ignored(str(f.relative_to(REPO)), patterns)]
    assert ignored("tests/deploy/test_dockerfile.py", patterns) and ignored("src/sloguard/__pycache__/x.pyc", patterns)


def test_healthcheck_targets_the_ready_route_on_the_exposed_port() -> None:
    options, argv = healthcheck(last(FINAL, "HEALTHCHECK") or "")
    url = f"http://127.0.0.1:{last(FINAL, 'EXPOSE')}/-/ready"
    assert argv[:2] == ["python", "-c"] and f"'{url}'" in argv[2]
    assert probe_problems({"startupProbe": {"httpGet": {"path": "/-/ready"}},
                           "readinessProbe": {"httpGet": {"path": "/-/ready"}},
                           "livenessProbe": {"httpGet": {"path": "/-/healthy"}}}) == []
    assert set(options) == {"interval", "timeout", "start-period", "retries"}


class _Status(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(self.status if self.path == "/-/ready" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ready_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_command_exits_nonzero_unless_ready(
    ready_server: http.server.HTTPServer, monkeypatch: pytest.MonkeyPatch, status: int, healthy: bool,
) -> None:
    _, argv = healthcheck(last(FINAL, "HEALTHCHECK") or "")
    monkeypatch.setattr(_Status, "status", status)
    code = argv[2].replace(f"127.0.0.1:{last(FINAL, 'EXPOSE')}", f"127.0.0.1:{ready_server.server_port}")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=20)
    assert (result.returncode == 0) is healthy


# --- deliberate mistakes the checks must catch ---

@pytest.mark.parametrize(("user", "why"), [("sloguard", "not numeric"), ("0:0", "is root"), ("", "not numeric")])
def test_a_named_root_or_missing_user_is_refused(user: str, why: str) -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "USER 10001:10001\n" in text
    with pytest.raises(ValueError, match=why):
        image_uid(text.replace("USER 10001:10001\n", f"USER {user}\n" if user else ""))


def test_shell_form_and_malformed_instructions_are_refused() -> None:
    with pytest.raises(ValueError, match="exec form"):
        exec_form("sloguard serve", "CMD")
    with pytest.raises(ValueError, match="no CMD"):
        healthcheck("--interval=30s NONE")
