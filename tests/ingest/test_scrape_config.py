"""Scrape configuration models: durations, defaults from global, validation, secrets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from sloguard.ingest.scrape_config import (
    GlobalConfig,
    ScrapeConfig,
    ScrapeConfigError,
    check_unique_job_names,
    format_duration,
    parse_duration,
    resolve,
)


def SC(**kw: Any) -> ScrapeConfig:  # noqa: N802 - reads like the constructor
    return ScrapeConfig.model_validate(kw)


def GC(**kw: Any) -> GlobalConfig:  # noqa: N802 - reads like the constructor
    return GlobalConfig.model_validate(kw)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("15s", 15_000), ("1m30s", 90_000), ("1h", 3_600_000), ("2d", 172_800_000), ("1w", 604_800_000),
     ("1y", 31_536_000_000), ("500ms", 500), ("0", 0), ("1h0m1s", 3_601_000)],
)
def test_prometheus_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "15", "1.5s", "1s1m", "-1s", "1 s", "1S"])
def test_bad_durations_name_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="not a valid duration string"):
        parse_duration(text)


def test_format_duration_is_shortest_form() -> None:
    assert [format_duration(x) for x in (90_000, 15_000, 0, 3_600_500)] == ["1m30s", "15s", "0s", "1h500ms"]


def test_defaults_match_prometheus() -> None:
    sc = SC(job_name="j")
    assert (sc.metrics_path, sc.scheme, sc.honor_labels, sc.honor_timestamps, sc.sample_limit) == (
        "/metrics", "http", False, True, 0
    )
    g = GC()
    assert (g.scrape_interval, g.scrape_timeout, g.evaluation_interval) == (60_000, 10_000, 60_000)


def test_resolve_fills_interval_and_timeout_from_global() -> None:
    g = GC(scrape_interval="30s", scrape_timeout="20s", sample_limit=100)
    r = resolve(SC(job_name="j"), g)
    assert (r.scrape_interval, r.scrape_timeout, r.sample_limit) == (30_000, 20_000, 100)
    # a short job interval caps the inherited timeout
    r = resolve(SC(job_name="j", scrape_interval="5s"), g)
    assert r.scrape_timeout == 5_000
    # a global interval below the default timeout caps the global timeout too
    assert GC(scrape_interval="5s").scrape_timeout == 5_000


def test_timeout_greater_than_interval_is_an_error() -> None:
    with pytest.raises(ValidationError, match='scrape timeout greater than scrape interval for scrape config with job name "j"'):
        SC(job_name="j", scrape_interval="5s", scrape_timeout="10s")
    with pytest.raises(ScrapeConfigError, match="scrape timeout greater than scrape interval"):
        resolve(SC(job_name="j", scrape_timeout="2m"), GC())
    with pytest.raises(ValidationError, match="global scrape timeout greater than scrape interval"):
        GC(scrape_interval="5s", scrape_timeout="6s")


def test_unknown_keys_are_errors_with_their_key_path() -> None:
    raw = {"job_name": "j", "static_configs": [{"targets": ["a:1"], "lables": {}}],
           "relabel_configs": [{"target_label": "x", "regexp": "y"}]}
    with pytest.raises(ValidationError) as ei:
        ScrapeConfig.model_validate(raw)
    locs = {e["loc"] for e in ei.value.errors()}
    assert ("static_configs", 0, "lables") in locs
    assert ("relabel_configs", 0, "regexp") in locs


def test_bad_duration_error_names_key_and_value() -> None:
    with pytest.raises(ValidationError) as ei:
        ScrapeConfig.model_validate({"job_name": "j", "scrape_interval": "fast"})
    (err,) = ei.value.errors()
    assert err["loc"] == ("scrape_interval",) and '"fast"' in err["msg"]


def test_secrets_never_print() -> None:
    sc = ScrapeConfig.model_validate(
        {"job_name": "j", "basic_auth": {"username": "u", "password": "pw-123"}}
    )
    au = ScrapeConfig.model_validate({"job_name": "k", "authorization": {"credentials": "tok-456"}})
    text = repr(sc) + str(sc) + sc.model_dump_json() + repr(au) + au.model_dump_json()
    assert "pw-123" not in text and "tok-456" not in text
    assert sc.basic_auth is not None and sc.basic_auth.password is not None
    assert sc.basic_auth.password.get_secret_value() == "pw-123"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"basic_auth": {"username": "u", "password": "p"}, "bearer_token": "t"}, "at most one of basic_auth, bearer_token & bearer_token_file"),
        ({"authorization": {"credentials": "c"}, "bearer_token": "t"}, "at most one of bearer_token, bearer_token_file & authorization"),
        ({"authorization": {"type": "Basic"}}, 'authorization type cannot be set to "basic"'),
        ({"basic_auth": {"password": "p", "password_file": "f"}}, "at most one of basic_auth password & password_file"),
        ({"static_configs": [{"targets": ["a:1"], "labels": {"1x": "y"}}]}, '"1x" is not a valid label name'),
        ({"sample_limit": -1}, "sample_limit"),
    ],
)
def test_inconsistent_configs_are_rejected(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as ei:
        ScrapeConfig.model_validate({"job_name": "j", **raw})
    assert message in str(ei.value)


def test_job_names_must_be_unique() -> None:
    with pytest.raises(ScrapeConfigError, match='found multiple scrape configs with job name "a"'):
        check_unique_job_names([SC(job_name="a"), SC(job_name="a")])


PROMTOOL_CASES: list[dict[str, Any]] = [
    {"job_name": "ok", "scrape_interval": "15s", "static_configs": [{"targets": ["a:1"]}]},
    {"job_name": "to", "scrape_interval": "5s", "scrape_timeout": "10s"},
    {"job_name": "dur", "scrape_interval": "5x"},
    {"job_name": "unk", "scrape_intervals": "5s"},
    {"job_name": "hm", "relabel_configs": [{"action": "hashmod", "target_label": "a"}]},
    {"job_name": "rp", "relabel_configs": [{"action": "replace"}]},
    {"job_name": "act", "relabel_configs": [{"action": "Keep", "source_labels": ["a"]}]},
    {"job_name": "ld", "relabel_configs": [{"action": "labeldrop", "source_labels": ["a"]}]},
    {"job_name": "lm", "relabel_configs": [{"action": "labelmap", "regex": "(.*)", "replacement": "-"}]},
    {"job_name": "auth", "basic_auth": {"username": "u", "password": "p"}, "bearer_token": "t"},
    {"job_name": "sch", "scheme": "ftp"},
    {"job_name": "look", "relabel_configs": [{"source_labels": ["a"], "regex": "a(?=b)", "action": "keep"}]},
    {"job_name": "named", "relabel_configs": [{"source_labels": ["a"], "regex": "(?P<x>a)", "target_label": "b", "replacement": "${x}"}]},
    {"job_name": "dupjob", "static_configs": [{"targets": ["a:1"], "labels": {"__param_x": "1"}}]},
    {"job_name": "ok2", "params": {"module": ["x"]}, "honor_labels": True, "sample_limit": 10,
     "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": "go_.*", "action": "drop"}]},
]


def _ours_valid(raw: dict[str, Any]) -> bool:
    try:
        resolve(ScrapeConfig.model_validate(raw), GC())
    except (ValidationError, ScrapeConfigError):
        return False
    return True


@pytest.mark.peer
def test_validity_agrees_with_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH (install the peers with scripts/install-peers)")
    for raw in PROMTOOL_CASES:
        path = tmp_path / f"{raw['job_name']}.yml"
        path.write_text(yaml.safe_dump({"scrape_configs": [raw]}))
        proc = subprocess.run(
            [promtool, "check", "config", "--syntax-only", str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert (proc.returncode == 0) == _ours_valid(raw), (raw, proc.stdout, proc.stderr)


def test_byte_sizes_are_base2_like_prometheus() -> None:
    sc = SC(job_name="j", body_size_limit="10MB")
    assert sc.body_size_limit == 10 << 20
    assert SC(job_name="j", body_size_limit="1KiB").body_size_limit == 1024
    with pytest.raises(ValidationError, match="not a valid size"):
        SC(job_name="j", body_size_limit="10 megs")
