"""`sloguard rollout start|status|list|promote|abort|explain` against a real `sloguard serve`
on 127.0.0.1, with a rollout over the built-in proxy in front of two tiny upstreams."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.cli._rollout_client import problem_line, read_specs
from tests._net import free_port
from tests._rollout_peers import CountingUpstream, canary_spec, traffic
from tests.e2e.conftest import E2E_CONFIG, SloguardProcess

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[CountingUpstream, CountingUpstream]]:
    pair = CountingUpstream("v1").start(), CountingUpstream("v2").start()
    yield pair
    for u in pair:
        u.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           upstreams: tuple[CountingUpstream, CountingUpstream]) -> Iterator[SloguardProcess]:
    """A served sloguard whose config names ``rollouts/*.yaml``: the rollout ``known``."""
    tmp = tmp_path_factory.mktemp("served")
    (tmp / "rollouts").mkdir()
    (tmp / "rollouts" / "known.yaml").write_text(canary_spec("known", *upstreams, free_port()))
    config = tmp / "sloguard.yml"
    config.write_text(E2E_CONFIG + "rollout_files: [rollouts/*.yaml]\n")
    proc = SloguardProcess(tmp / "data", config, tmp / "sloguard.log").start()
    yield proc
    proc.stop()


def cli(server: SloguardProcess, *args: str) -> Any:
    return runner.invoke(app, ["rollout", *args, "--url", server.url])


def spec_file(tmp_path: Path, name: str, upstreams: tuple[CountingUpstream, CountingUpstream], **kw: Any) -> tuple[Path, int]:
    port = free_port()
    path = tmp_path / f"{name}.yaml"
    path.write_text(canary_spec(name, *upstreams, port, **kw))
    return path, port


def wait_view(server: SloguardProcess, name: str, check: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        v = httpx.get(f"{server.url}/api/v1/rollouts/{name}", timeout=5).json()["data"]
        if check(v):
            return v  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last view: {v}")


def test_start_status_list_promote_abort_explain(server: SloguardProcess, upstreams: Any, tmp_path: Path) -> None:
    path, port = spec_file(tmp_path, "shop", upstreams)
    r = cli(server, "start", str(path), "--actor", "ana")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("started shop: ")
    wait_view(server, "shop", lambda v: v["phase"] == "Paused" and v["step"] == 2, "the first pause")
    assert sum(traffic(port, 20).values()) == 20

    r = cli(server, "status", "shop")
    assert r.exit_code == 0, r.output
    current = [line for line in r.output.splitlines() if "▶" in line]
    assert len(current) == 1 and "current" in current[0], r.output
    assert "Paused" in r.output and "canary v2: 20%" in r.output and "RolloutStarted" in r.output

    r = cli(server, "list")
    assert r.exit_code == 0 and "shop" in r.output and "Paused" in r.output

    r = cli(server, "promote", "shop")
    assert r.exit_code == 0, r.output
    wait_view(server, "shop", lambda v: v["canaryWeight"] == 60 and v["phase"] == "Paused", "the second pause")

    r = cli(server, "abort", "shop", "--reason", "p99 doubled")
    assert r.exit_code == 0, r.output
    v = wait_view(server, "shop", lambda v: v["phase"] == "Degraded", "the abort")
    assert v["canaryWeight"] == 0
    assert "Degraded" in cli(server, "status", "shop").output

    r = cli(server, "explain", "shop")
    assert r.exit_code == 0 and "p99 doubled" in r.output, r.output


def test_json_format_prints_the_api_data(server: SloguardProcess, upstreams: Any, tmp_path: Path) -> None:
    path, _ = spec_file(tmp_path, "cart", upstreams)
    r = cli(server, "start", str(path), "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["name"] == "cart"
    wait_view(server, "cart", lambda v: v["step"] == 2, "the first pause")
    status = json.loads(cli(server, "status", "cart", "--format", "json").stdout)
    assert (status["name"], status["canaryWeight"], status["step"]) == ("cart", 20, 2)
    listed = json.loads(cli(server, "list", "--format", "json").stdout)
    assert "cart" in [x["name"] for x in listed]
    promoted = json.loads(cli(server, "promote", "cart", "--full", "--format", "json").stdout)
    assert promoted["name"] == "cart"
    wait_view(server, "cart", lambda v: v["phase"] == "Healthy", "the full promotion")


ALWAYS = """---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: always}
spec:
  metrics:
  - {name: one, interval: 1s, count: 2, successCondition: "result[0] == 1", provider: {prometheus: {query: vector(1)}}}
"""


def test_status_watch_follows_the_rollout_to_healthy_with_its_analysis(
    server: SloguardProcess, upstreams: Any, tmp_path: Path,
) -> None:
    steps = "[{setWeight: 50}, {analysis: {templates: [{templateName: always}]}}, {pause: {duration: 1}}]"
    path, _ = spec_file(tmp_path, "feed", upstreams, steps=steps)
    path.write_text(path.read_text() + ALWAYS)
    assert cli(server, "start", str(path)).exit_code == 0
    r = cli(server, "status", "feed", "--watch", "--interval", "0.1")
    assert r.exit_code == 0, r.output
    assert "Healthy" in r.output
    row = next(line for line in r.output.splitlines() if "step-1-always" in line)
    assert row.split()[:4] == ["step-1-always", "Successful", "one", "Successful"], row


def test_status_watch_exits_1_when_the_rollout_is_aborted(server: SloguardProcess, upstreams: Any, tmp_path: Path) -> None:
    path, _ = spec_file(tmp_path, "news", upstreams)
    assert cli(server, "start", str(path)).exit_code == 0
    wait_view(server, "news", lambda v: v["step"] == 2, "the first pause")
    aborter = threading.Timer(0.5, lambda: httpx.post(f"{server.url}/api/v1/rollouts/news/abort",
                                                      json={"reason": "watching it fail"}, timeout=5))
    aborter.start()
    try:
        r = cli(server, "status", "news", "--watch", "--interval", "0.1")
    finally:
        aborter.join()
    assert r.exit_code == 1, r.output
    assert "Degraded" in r.output and "watching it fail" in r.output


def test_a_bad_spec_lists_problems_at_their_file_and_line(server: SloguardProcess, upstreams: Any, tmp_path: Path) -> None:
    first, _ = spec_file(tmp_path, "ok", upstreams)
    bad, _ = spec_file(tmp_path, "bad", upstreams, steps="[{setWeight: 150}]")
    r = cli(server, "start", str(first), str(bad), "--name", "bad")
    assert r.exit_code == 1
    assert "The server refused it (HTTP 400)" in r.stderr
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "setWeight: 150" in text)
    assert f"{bad}:{line}:27: spec.strategy.canary.steps[0].setWeight: 150 is outside 0..100" in r.stderr, r.stderr


def test_problems_of_several_files_get_each_files_own_lines_and_paths(tmp_path: Path) -> None:
    two, one = tmp_path / "two.yaml", tmp_path / "one.yaml"
    two.write_text("a: 1\n---\nb: 2\n")
    one.write_text("c: 3\nd: 4\n")
    spec = read_specs([two, one])
    assert spec.text == "a: 1\n---\nb: 2\n---\nc: 3\nd: 4\n"
    in_one = {"file": "<api>", "path": "documents[2].d", "message": "unknown field", "file_line": 6, "file_column": 1}
    in_two = {"file": "<api>", "path": "documents[1].b", "message": "bad", "file_line": 3, "file_column": 4,
              "severity": "warning"}
    assert problem_line(in_one, spec) == f"{one}:2:1: d: unknown field"
    assert problem_line(in_two, spec) == f"warning: {two}:3:4: documents[1].b: bad"


def test_a_rollout_of_the_servers_rollout_files_starts_by_name(server: SloguardProcess) -> None:
    r = cli(server, "start", "--name", "known", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["name"] == "known"
    assert "rollout files read" in server.logs() and "known" in server.logs()
    r = cli(server, "start")
    assert r.exit_code == 2 and "--name of a rollout in the server's rollout_files" in r.stderr


def test_errors_name_the_url_or_the_servers_sentence(server: SloguardProcess) -> None:
    r = cli(server, "status", "nope")
    assert r.exit_code == 1 and "HTTP 404" in r.stderr and "nope" in r.stderr
    dead = f"http://127.0.0.1:{free_port()}"
    r = runner.invoke(app, ["rollout", "list", "--url", dead])
    assert r.exit_code == 1
    assert f"Cannot reach the sloguard server at {dead}" in r.stderr
    r = cli(server, "start", "/nonexistent/rollout.yaml")
    assert r.exit_code == 1 and "/nonexistent/rollout.yaml" in r.stderr


def test_with_basic_auth_the_actor_is_the_authenticated_user(upstreams: Any, tmp_path: Path) -> None:
    import bcrypt

    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users: {{alice: {bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=4)).decode()}}}\n")
    config = tmp_path / "sloguard.yml"
    config.write_text(E2E_CONFIG)
    proc = SloguardProcess(tmp_path / "data", config, tmp_path / "sloguard.log")
    proc.extra_args = ["--web.config.file", str(web)]
    proc.client_options = {"auth": ("alice", "pw")}
    proc.start()
    try:
        path, _ = spec_file(tmp_path, "auth", upstreams)
        authed = proc.url.replace("http://", "http://alice:pw@")
        r = runner.invoke(app, ["rollout", "start", str(path), "--actor", "mallory", "--url", authed])
        assert r.exit_code == 0, r.output
        events = httpx.get(f"{proc.url}/api/v1/rollouts/auth/events", auth=("alice", "pw"), timeout=5).json()["data"]
        assert [e["actor"] for e in events if e["type"] == "RolloutStartRequested"] == ["alice"]
        wrong = proc.url.replace("http://", "http://alice:nope@")
        r = runner.invoke(app, ["rollout", "list", "--url", wrong])
        assert r.exit_code == 1
        assert "wants credentials (HTTP 401)" in r.stderr and "alice:***@" in r.stderr and "nope" not in r.stderr
    finally:
        proc.stop()
