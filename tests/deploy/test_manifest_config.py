"""The sloguard.yml and SLO in each shape's ConfigMap, loaded by sloguard's own loaders as
the pod sees them, and the container's args run through sloguard's CLI: the manifests
cannot drift from the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.config import ConfigError, parse_config
from sloguard.rules import expand_rule_files, parse_rule_text
from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_files, load_text
from tests.deploy._manifests import (
    SHAPES,
    config_map_data,
    container,
    container_env,
    docs,
    materialize,
    rooted_args,
    secret_data,
    workload,
)
from tests.deploy._serve import run_sloguard

CONFIG = "/etc/sloguard/sloguard.yml"


def _configmap(shape: str) -> dict[str, str]:
    return config_map_data(docs(shape))["sloguard-config"]


@pytest.mark.parametrize("shape", SHAPES)
def test_configmap_config_loads_with_sloguards_loader(shape: str) -> None:
    config = parse_config(_configmap(shape)["sloguard.yml"], f"{shape}/configmap.yaml")
    if shape == "cluster":  # the keys the cluster shape depends on are read, not ignored
        assert config.cluster.enabled and config.backend() is not None and config.remote_write


def test_cluster_config_points_at_a_remote_backend_and_enables_the_cluster() -> None:
    config = yaml.safe_load(_configmap("cluster")["sloguard.yml"])
    assert config["query_backend"]["url"].startswith("http://")
    assert [rw["url"] for rw in config["remote_write"]] == [config["query_backend"]["url"] + "/api/v1/write"]
    assert config["cluster"] == {"enabled": True}
    assert "scrape_configs" not in config and "state" not in config  # the state URL is a Secret


def _start(shape: str, root: Path, monkeypatch: pytest.MonkeyPatch, objects: list[dict[str, Any]]) -> Any:
    materialize(objects, root)
    c = container(workload(objects))
    mounts = [m["mountPath"] for m in c["volumeMounts"]]
    args = rooted_args(c["args"], container_env(objects), root, mounts)
    return run_sloguard(args, monkeypatch)


@pytest.mark.parametrize("shape", SHAPES)
def test_container_args_start_sloguard_on_the_mounted_config(
    shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    objects = docs(shape)
    started = _start(shape, tmp_path, monkeypatch, objects)
    assert started.exit_code == 0, started.output
    options, c = started.options, container(workload(objects))
    data = next(m for m in c["volumeMounts"] if m["name"] == "data")
    assert options.data_dir == tmp_path / data["mountPath"].lstrip("/")
    assert options.config_path == tmp_path / CONFIG.lstrip("/")
    http = next(p for p in c["ports"] if p["name"] == "http")
    assert (options.host, options.port) == ("0.0.0.0", http["containerPort"])
    if shape == "cluster":
        assert options.state_url == secret_data(objects)["sloguard-state"]["url"]
        assert options.peer_name == "sloguard-0"  # each replica under its pod name
    else:
        assert options.state_url is None  # SQLite in the data dir, on the PersistentVolume


@pytest.mark.parametrize("shape", SHAPES)
def test_the_mounted_slo_loads_and_its_rules_parse(
    shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = _start(shape, tmp_path, monkeypatch, docs(shape))
    base = tmp_path / CONFIG.lstrip("/")
    files = expand_rule_files(list(started.config.slo_files), str(base.parent))
    slos, problems = load_files(files)
    assert [p for p in problems if p.is_error] == []
    spec = yaml.safe_load(_configmap(shape)["example-slo.yml"])
    assert [s.name for s in slos] == [s["name"] for s in spec["slos"]]  # read two ways
    rules, rule_problems = parse_rule_text(dump_yaml([rulegen.generate(slos, 60_000)]), "generated")
    assert rule_problems == [] and rules is not None and rules.groups


def test_dashboards_export_reads_the_mounted_config_as_docs_scale_says(tmp_path: Path) -> None:
    materialize(docs("single"), tmp_path)
    out = tmp_path / "tmp/dashboards"
    result = CliRunner().invoke(app, ["dashboards", "export", "--config", str(tmp_path / CONFIG.lstrip("/")), "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = [s["name"] for s in yaml.safe_load(_configmap("single")["example-slo.yml"])["slos"]]
    assert sorted(p.name for p in out.iterdir()) == sorted(["sloguard-overview.json", *(f"sloguard-slo-{n}.json" for n in names)])


# --- deliberate mistakes the loaders must catch ---

def test_a_misspelt_config_key_fails_loading_with_its_name() -> None:
    text = _configmap("single")["sloguard.yml"].replace("slo_files:", "slo_file:")
    with pytest.raises(ConfigError, match="slo_file: unknown key"):
        parse_config(text, "single/configmap.yaml")


def test_an_slo_objective_over_100_percent_is_an_error() -> None:
    text = _configmap("single")["example-slo.yml"].replace("objective: 99.9%", "objective: 199.9%")
    slos, problems = load_text(text, "example-slo.yml")
    assert slos == [] and [p for p in problems if p.is_error]


def test_container_args_with_a_wrong_flag_do_not_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = docs("single")
    c = container(workload(objects))
    c["args"] = [a.replace("--listen=", "--listen-address=") for a in c["args"]]
    started = _start("single", tmp_path, monkeypatch, objects)
    assert started.exit_code == 2 and "--listen-address" in started.output and not started.calls


def test_an_undefined_env_reference_in_args_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = docs("cluster")
    container(workload(objects))["env"].pop(0)  # POD_NAME
    with pytest.raises(KeyError, match="POD_NAME"):
        _start("cluster", tmp_path, monkeypatch, objects)
