"""`sloguard serve` refuses bad configs and flags with a message on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.cli._serve import parse_listen, self_address
from sloguard.rules import AlertTiming
from tests.deploy._serve import run_sloguard


def _serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["serve", *args])
    return result.exit_code, result.stderr if hasattr(result, "stderr") else result.output


def test_invalid_config_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yml"
    cfg.write_text("scrape_configs:\n  - job_name: a\n    scrape_interval: often\n")
    code, err = _serve("--config", str(cfg), "--data-dir", str(tmp_path / "d"))
    assert code == 2
    assert str(cfg) in err and "scrape_configs[0].scrape_interval" in err and "often" in err
    assert not (tmp_path / "d").exists()  # nothing was started


def test_yaml_error_exits_2_with_line_and_column(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.yml"
    cfg.write_text("global:\n  scrape_interval: [\n")
    code, err = _serve("--config", str(cfg))
    assert code == 2 and f"{cfg}:3:1" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--listen", "nowhere"], "invalid --listen 'nowhere'"),
        (["--log.format", "xml"], "invalid --log.format 'xml'"),
        (["--log.level", "loud"], "invalid log level 'loud'"),
        (["--rules.alert.for-grace-period", "soon"], "invalid --rules.alert.for-grace-period 'soon'"),
        (["--rules.alert.for-outage-tolerance", "0s"], "invalid --rules.alert.for-outage-tolerance '0s'"),
    ],
)
def test_bad_flags_exit_2(args: list[str], needle: str) -> None:
    code, err = _serve(*args)
    assert code == 2 and needle in err


def test_rule_alert_flags_reach_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    started = run_sloguard(["serve", "--rules.alert.for-grace-period", "30s", "--rules.alert.resend-delay", "2m"],
                           monkeypatch)
    assert started.exit_code == 0, started.output
    assert started.options.alert_timing == AlertTiming(resend_delay_ms=120_000, outage_tolerance_ms=3_600_000,
                                                       for_grace_period_ms=30_000)
    assert started.options.flags["rules.alert.for-grace-period"] == "30s"


def test_parse_listen_forms() -> None:
    assert parse_listen("127.0.0.1:9090") == ("127.0.0.1", 9090)
    assert parse_listen(":9090") == ("0.0.0.0", 9090)
    assert parse_listen("[::1]:80") == ("::1", 80)


def test_self_address_is_scrapable() -> None:
    assert self_address("0.0.0.0", 9090) == "127.0.0.1:9090"
    assert self_address("::", 9090) == "[::1]:9090"
    assert self_address("10.0.0.5", 80) == "10.0.0.5:80"
