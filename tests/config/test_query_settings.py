"""The ``query:`` section and ``--query.*`` flags: parsed, validated with key paths,
flags override the file, and the engine and API get the values."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sloguard.api._engine_setup import make_engine, query_settings
from sloguard.cli import app
from sloguard.cli._query_flags import apply_query_flags, query_flag_values
from sloguard.config import ConfigError, QuerySettings, load_config, parse_config
from sloguard.tsdb.testing import MemoryStorage


def test_query_section_loads_durations_and_sizes() -> None:
    c = parse_config("query: {timeout: 30s, max_samples: 1000, max_concurrency: 4, lookback_delta: 1m,"
                     " max_body_bytes: 1MiB, memory_limit: 2GiB, max_parse_depth: 50, max_parse_chain: 500}\n")
    q = c.query
    assert (q.timeout, q.max_samples, q.max_concurrency, q.lookback_delta) == (30_000, 1000, 4, 60_000)
    assert (q.max_body_bytes, q.memory_limit, q.max_parse_depth, q.max_parse_chain) == (1 << 20, 2 << 30, 50, 500)


def test_defaults_are_prometheus_flag_defaults() -> None:
    q = parse_config("").query
    assert (q.timeout, q.max_samples, q.max_concurrency, q.lookback_delta) == (120_000, 50_000_000, 20, 300_000)
    assert q.max_parse_depth == 200


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("query: {timeout: soon}\n", "query.timeout"),
        ("query: {max_samples: 0}\n", "query.max_samples"),
        ("query: {max_body_bytes: lots}\n", "query.max_body_bytes"),
        ("query: {memroy_limit: 1GB}\n", "query.memroy_limit"),
    ],
)
def test_bad_query_keys_name_their_key_path(tmp_path: Path, text: str, path: str) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        load_config(cfg)


def test_flags_override_the_file_key_by_key() -> None:
    base = parse_config("query: {timeout: 30s, max_samples: 1000}\n").query
    q = apply_query_flags(base, {"query.timeout": "5s", "query.max-samples": None, "query.memory-limit": "512MiB"})
    assert (q.timeout, q.max_samples, q.memory_limit) == (5_000, 1000, 512 << 20)
    shown = query_flag_values(q)
    assert shown["query.timeout"] == "5s" and shown["query.max-samples"] == "1000"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--query.timeout", "soon"], "invalid --query.timeout 'soon'"),
        (["--query.max-samples", "-3"], "invalid --query.max-samples '-3'"),
        (["--query.max-body-bytes", "big"], "invalid --query.max-body-bytes 'big'"),
    ],
)
def test_bad_query_flags_exit_2(args: list[str], needle: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path / "d"), *args])
    assert result.exit_code == 2 and needle in result.stderr
    assert not (tmp_path / "d").exists()


def test_engine_and_api_settings_follow_the_query_section() -> None:
    q = QuerySettings(timeout=7_000, max_samples=123, max_concurrency=3, lookback_delta=60_000, memory_limit=5 << 20)
    engine = make_engine(MemoryStorage(), q)
    o = engine.options
    assert (o.timeout_s, o.max_samples, o.max_concurrent, o.lookback_delta_ms) == (7.0, 123, 3, 60_000)
    s = query_settings(q)
    assert (s["query_timeout"], s["query_max_concurrency"], s["query_memory_limit"]) == (7.0, 3, 5 << 20)
    assert query_settings(QuerySettings())["query_memory_limit"] > 0  # 80% of RAM by default
