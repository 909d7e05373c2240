"""`sloguard alerting check | routes show | routes test`, compared with amtool's output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from tests.shared_paths import SHARED

AM = SHARED / "conformance" / "alertmanager"
AMTOOL = shutil.which("amtool")
GOOD = "route:\n  receiver: a\n  routes:\n  - matchers: [x=1]\n    receiver: b\n    continue: true\n  - matchers: [y=2]\n    receiver: a\nreceivers: [{name: a}, {name: b}]\n"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["alerting", *args])
    return result.exit_code, result.output


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_check_reports_success_with_a_summary(tmp_path: Path) -> None:
    code, out = _run("check", str(_write(tmp_path, "am.yml", GOOD)))
    assert code == 0, out
    assert f"Checking '{tmp_path / 'am.yml'}'  SUCCESS" in out
    assert " - 0 inhibit rules\n - 2 receivers\n - 0 templates" in out


def test_check_fails_with_the_key_path_and_exit_1(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yml", GOOD)
    bad = _write(tmp_path, "bad.yml", GOOD.replace("receiver: b", "receiver: nope"))
    code, out = _run("check", str(good), str(bad))
    assert code == 1
    assert f"Checking '{bad}'  FAILED: route.routes[0].receiver: undefined receiver \"nope\" used in route" in out
    assert "failed to validate 1 file(s)" in out


def test_check_parses_templates_and_reports_a_broken_one(tmp_path: Path) -> None:
    _write(tmp_path, "ok.tmpl", '{{ define "x" }}{{ .Status | toUpper }}{{ end }}')
    cfg = _write(tmp_path, "am.yml", "templates: ['*.tmpl']\n" + GOOD)
    code, out = _run("check", str(cfg))
    assert code == 0 and " - 1 templates\n  SUCCESS" in out, out
    _write(tmp_path, "bad.tmpl", '{{ define "y" }}{{ if }}')
    code, out = _run("check", str(cfg))
    assert code == 1 and "  FAILED: " in out, out


def test_routes_test_prints_receivers_comma_separated_on_the_last_line(tmp_path: Path) -> None:
    cfg = str(_write(tmp_path, "am.yml", GOOD))
    code, out = _run("routes", "test", "--config", cfg, "x=1", "y=2")
    assert code == 0 and out.splitlines()[-1] == "b,a"
    assert _run("routes", "test", "--config", cfg, "z=3")[1].splitlines()[-1] == "a"
    assert _run("routes", "test", "--config", cfg, "--verify.receivers", "a", "x=1", "y=2")[0] == 1
    assert _run("routes", "test", "--config", cfg, "x=~1")[0] == 2


def _amtool(*args: str) -> str:
    assert AMTOOL is not None
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=30, check=True).stdout


@pytest.mark.skipif(AMTOOL is None, reason="amtool (Alertmanager 0.25) is not installed")
@pytest.mark.skipif(not AM.is_dir(), reason=f"shared material not found at {AM}")
@pytest.mark.parametrize("tree", ["match", "matchers", "mixed"])
def test_routes_show_and_tree_print_exactly_like_amtool(tree: str) -> None:
    cfg = str(AM / f"route_tree_{tree}.alertmanager.yml")
    assert _run("routes", "show", "--config", cfg)[1] == _amtool("config", "routes", "show", "--config.file", cfg)
    labels = ["owner=team-A", "env=production"]
    ours = _run("routes", "test", "--tree", "--config", cfg, *labels)[1]
    assert ours == _amtool("config", "routes", "test", "--tree", "--config.file", cfg, *labels)
