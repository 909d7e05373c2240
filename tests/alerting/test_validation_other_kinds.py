"""Alertmanager 0.25's verdicts on the receiver kinds sloguard does not send to (and a nil
``match_re`` value): the same accept/refuse and text as ``amtool check-config``; the recorded
texts are re-checked against the real amtool when it is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloguard.alerting import AlertingConfigError, parse_config

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "validation_cases_other_kinds.yml").read_text())
AMTOOL = shutil.which("amtool")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_same_verdict_and_text_as_amtool(case: dict[str, Any]) -> None:
    if case["amtool_error"] is None:
        parse_config(case["config"], f"{case['name']}.yml")
        return
    with pytest.raises(AlertingConfigError) as info:
        parse_config(case["config"], f"{case['name']}.yml")
    assert info.value.detail == case["amtool_error"]
    assert info.value.path


@pytest.mark.skipif(AMTOOL is None, reason="amtool (Alertmanager 0.25) is not installed")
def test_the_recorded_texts_are_amtools(tmp_path: Path) -> None:
    for case in CASES:
        path = tmp_path / f"{case['name']}.yml"
        path.write_text(case["config"])
        run = subprocess.run([str(AMTOOL), "check-config", str(path)], capture_output=True, text=True,
                             timeout=30, check=False)
        first = run.stdout.splitlines()[0]
        got = first.split("FAILED: ", 1)[1] if "FAILED: " in first else None
        assert got == case["amtool_error"], case["name"]
