"""`sloguard rollout validate FILE...`: exit codes, problems as `slo validate` prints them, JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sloguard.cli import app

DATA = Path(__file__).parents[1] / "delivery" / "data"
runner = CliRunner()


def test_valid_files_exit_0_with_warnings_printed() -> None:
    result = runner.invoke(app, ["rollout", "validate", str(DATA / "argo-canary.yaml"), str(DATA / "argo-success-rate.yaml")])
    assert result.exit_code == 0, result.output
    assert "SUCCESS: 1 valid rollout(s), 1 AnalysisTemplate(s) in 2 file(s)" in result.output
    assert "warning: " in result.output and "argo-canary.yaml:27:17: spec.strategy.canary.maxSurge" in result.output


def test_errors_exit_1_naming_file_line_and_path() -> None:
    result = runner.invoke(app, ["rollout", "validate", str(DATA / "argo-canary.yaml")])
    assert result.exit_code == 1
    assert "argo-canary.yaml:37:29: spec.strategy.canary.steps[4].analysis.templates[0].templateName" in result.output
    assert "FAILED: 1 problem(s)" in result.output


def test_json_output_lists_problems_warnings_and_rollouts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: sloguard/v1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  service: s\n"
                   "  strategy: {canary: {steps: [{setWeight: 101}]}}\n"
                   "  versions: {stable: {name: a, upstreams: ['127.0.0.1:1']}, canary: {name: b, upstreams: ['127.0.0.1:2']}}\n")
    result = runner.invoke(app, ["rollout", "validate", "--format", "json", str(bad), str(DATA / "argo-bluegreen.yaml")])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["valid"] is False
    (p,) = doc["problems"]
    assert (p["path"], p["file_line"], p["file"]) == ("spec.strategy.canary.steps[0].setWeight", 6, str(bad))
    assert [r["name"] for r in doc["rollouts"]] == ["rollout-bluegreen"]
    assert doc["rollouts"][0]["strategy"] == "blueGreen"
    assert any(w["path"] == "spec.replicas" for w in doc["warnings"])


def test_json_valid_exit_0(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rollout", "validate", "--format", "json", str(DATA / "native-canary.yaml"),
                                 str(DATA / "argo-success-rate.yaml")])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["valid"] is True and doc["rollouts"][0]["service"] == "checkout"


def test_no_files_found_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rollout", "validate", str(tmp_path)])
    assert result.exit_code == 1 and "no spec files found" in result.output


def test_a_file_of_templates_alone_counts_its_templates() -> None:
    result = runner.invoke(app, ["rollout", "validate", str(DATA / "argo-success-rate.yaml")])
    assert result.exit_code == 0, result.output
    assert "SUCCESS: 0 valid rollout(s), 1 AnalysisTemplate(s) in 1 file(s)" in result.output
    result = runner.invoke(app, ["rollout", "validate", "--format", "json", str(DATA / "argo-success-rate.yaml")])
    assert json.loads(result.stdout)["templates"] == ["success-rate"]
