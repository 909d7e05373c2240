"""Config files load with Prometheus' shape; every bad one names file, key path and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloguard.cli._serve import bundled_config
from sloguard.config import (
    ConfigError,
    FsyncPolicy,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)

GOOD = """
global:
  scrape_interval: 15s
  external_labels: {region: eu}
scrape_configs:
  - job_name: node
    scrape_interval: 5s
    static_configs: [{targets: ["127.0.0.1:9100"]}]
rule_files: ["rules/*.yml"]
storage:
  tsdb: {retention_time: 30d, retention_size: 10GB, block_duration: 2h, fsync: interval, max_series: 1000}
remote_write_receiver: {max_body_bytes: 1MB}
"""


def _error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "sloguard.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    return str(e.value)


def test_good_config_loads_every_section(tmp_path: Path) -> None:
    path = tmp_path / "ok.yml"
    path.write_text(GOOD)
    c = load_config(path)
    assert c.global_.scrape_interval == 15_000  # ms, as in the ingest models
    assert c.global_.external_labels == {"region": "eu"}
    assert c.storage.tsdb.retention_time == 30 * 86_400_000
    assert c.storage.tsdb.retention_size == 10 << 30
    assert c.storage.tsdb.fsync is FsyncPolicy.INTERVAL
    assert c.storage.tsdb.max_series == 1000
    assert c.remote_write_receiver.max_body_bytes == 1 << 20
    assert c.rule_files == ["rules/*.yml"]
    assert len(c.scrape_configs) == 1


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("")
    c = load_config(path)
    assert c.global_.scrape_interval == 60_000
    assert c.storage.tsdb.fsync is FsyncPolicy.PER_COMMIT


def test_bad_duration_names_file_key_path_and_expectation(tmp_path: Path) -> None:
    msg = _error("global:\n  scrape_interval: fast\n", tmp_path)
    assert "sloguard.yml" in msg
    assert "global.scrape_interval" in msg
    assert "15s" in msg and "fast" in msg  # the expectation and the bad value


def test_bad_scrape_config_names_list_index(tmp_path: Path) -> None:
    msg = _error(
        "scrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: soon\n", tmp_path
    )
    assert "scrape_configs[1].scrape_interval" in msg
    assert "soon" in msg


def test_unknown_key_is_named(tmp_path: Path) -> None:
    msg = _error("storage:\n  tsdb:\n    retention: 1d\n", tmp_path)
    assert "storage.tsdb.retention: unknown key" in msg


def test_bad_enum_lists_allowed_values(tmp_path: Path) -> None:
    msg = _error("storage:\n  tsdb:\n    fsync: sometimes\n", tmp_path)
    assert "storage.tsdb.fsync" in msg
    assert "'per_commit', 'interval' or 'never'" in msg and "sometimes" in msg
    assert msg.count("sometimes") == 1


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    msg = _error("storage:\n  tsdb:\n    max_series: -1\n    fsync: x\n", tmp_path)
    assert "2 problems" in msg
    assert "storage.tsdb.max_series" in msg and "storage.tsdb.fsync" in msg


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    msg = _error("global:\n  scrape_interval: 15s\n  bad: [1,\n", tmp_path)
    assert "sloguard.yml:4:1" in msg
    assert "YAML syntax error" in msg


def test_top_level_list_is_refused(tmp_path: Path) -> None:
    assert "expected a mapping of keys, got list" in _error("- a\n- b\n", tmp_path)


def test_duplicate_job_names_are_refused(tmp_path: Path) -> None:
    msg = _error("scrape_configs:\n  - job_name: a\n  - job_name: a\n", tmp_path)
    assert 'multiple scrape configs with job name "a"' in msg
    assert "scrape_configs[1].job_name" in msg


def test_timeout_above_interval_is_refused(tmp_path: Path) -> None:
    msg = _error("global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n", tmp_path)
    assert "scrape timeout greater than scrape interval" in msg


def test_invalid_external_label_name_is_named(tmp_path: Path) -> None:
    msg = _error("global:\n  external_labels: {'1x': a}\n", tmp_path)
    assert "global.external_labels" in msg and "1x" in msg


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path / "nope.yml")


def test_bundled_example_config_is_valid_and_scrapes_itself_and_demo() -> None:
    c = bundled_config("127.0.0.1:9999")
    jobs = {getattr(sc, "job_name", None) or sc["job_name"] for sc in c.scrape_configs}
    assert jobs == {"sloguard", "demo"}
    text = repr(c.scrape_configs)
    assert "127.0.0.1:9999" in text and "/demo/metrics" in text


def test_durations_round_trip_in_milliseconds() -> None:
    assert parse_duration("1h30m") == 5_400_000
    assert format_duration(5_400_000) == "1h30m"
    with pytest.raises(ValueError, match="duration"):
        parse_duration("1.5h")


def test_bad_sizes_and_short_blocks_are_refused(tmp_path: Path) -> None:
    assert "storage.tsdb.retention_size" in _error("storage: {tsdb: {retention_size: lots}}\n", tmp_path)
    assert "at least 1m" in _error("storage: {tsdb: {block_duration: 10s}}\n", tmp_path)
    assert "remote_write_receiver.max_body_bytes" in _error(
        "remote_write_receiver: {max_body_bytes: 0}\n", tmp_path
    )


def test_parse_config_error_uses_given_source_name() -> None:
    with pytest.raises(ConfigError, match='"inline.yml"'):
        parse_config("global: {evaluation_interval: x}", "inline.yml")


def test_errors_never_echo_secret_values(tmp_path: Path) -> None:
    msg = _error(
        "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: [hunter2]}\n", tmp_path
    )
    assert "scrape_configs[0].basic_auth.password" in msg
    assert "hunter2" not in msg


def test_alerting_block_gives_alertmanager_base_urls(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_text(
        "alerting:\n  alertmanagers:\n    - static_configs: [{targets: ['a:9093', 'b:9093']}]\n"
        "      path_prefix: /am/\n    - scheme: https\n      static_configs: [{targets: ['c:443']}]\n"
    )
    assert load_config(path).alerting.urls() == ["http://a:9093/am", "http://b:9093/am", "https://c:443"]
    assert "alerting.alertmanagers[0].scheme" in _error(
        "alerting: {alertmanagers: [{scheme: ftp}]}\n", tmp_path
    )
