"""Sloth's OpenSLO v1alpha examples (tests/slo/specs/sloth_openslo: Sloth's inputs and the
``examples/_gen`` rules Sloth wrote for them) through ``slo rules --compat sloth``.

Sloth reads a v1alpha ratio as the raw error ratio ``1 - good/total``, disables the page and
ticket alerts of OpenSLO SLOs, and writes one output document per input document. The
rules must come out as Sloth's bytes (the version string aside) and compute Sloth's values
on data, including where ``1 - good/total`` differs from sloguard's own ratio: with no good
series at all Sloth's SLI has no value.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.slo.compat import SLOTH_VERSION
from tests.slo._rule_values import Scenario, Value, check_sloguard, counter

DATA = Path(__file__).parent / "specs" / "sloth_openslo"
EXAMPLES = ["openslo-getting-started.yml", "openslo-kubernetes-apiserver.yml"]
T = 40
SID = 'sloth_id="my-service-sloth-slo-my-service-0"'


def _generate(path: Path) -> str:
    result = CliRunner().invoke(app, ["slo", "rules", "--compat", "sloth", "-l", "cmd=examplesgen.sh", str(path)])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _sloths(name: str) -> str:
    text = (DATA / "_gen" / name).read_text().split("\n", 1)[1]
    return text.replace("Sloth (dev)", f"Sloth ({SLOTH_VERSION})").replace("sloth_version: dev", f"sloth_version: {SLOTH_VERSION}")


@pytest.mark.parametrize("name", EXAMPLES)
def test_openslo_examples_are_byte_identical_to_sloths(name: str) -> None:
    got = _generate(DATA / name)
    assert got == _sloths(name)
    docs = [d for d in yaml.safe_load_all(got) if d]
    assert len(docs) == len([d for d in yaml.safe_load_all((DATA / name).read_text()) if d])  # one output per input
    assert not any("alert" in r for d in docs for g in d["groups"] for r in g["rules"])  # Sloth disables them


def _series(good_per_minute: float, bad_per_minute: float) -> dict[str, np.ndarray]:
    sel = 'http_request_duration_seconds_count{{job="myservice",code="{}"}}'
    out = {sel.format(500): counter(bad_per_minute, T)}
    if good_per_minute:
        out[sel.format(200)] = counter(good_per_minute, T)
    return out


def _rules() -> dict[str, Any]:
    return yaml.safe_load(_generate(DATA / "openslo-getting-started.yml"))


def test_the_sli_is_one_minus_good_over_total(tmp_path: Path) -> None:
    values = (Value(T, f"slo:sli_error:ratio_rate5m{{{SID}}}", 0.1), Value(T, f"slo:sli_error:ratio_rate30m{{{SID}}}", 0.1),
              Value(T, f"slo:current_burn_rate:ratio{{{SID}}}", 0.1 / (1 - 0.999)))
    assert check_sloguard(_rules(), Scenario("ratio", (), _series(90, 10), values), tmp_path) == []


def test_without_good_series_the_sli_has_no_value_as_in_sloth(tmp_path: Path) -> None:
    values = (Value(T, f"slo:sli_error:ratio_rate5m{{{SID}}}", None),)
    assert check_sloguard(_rules(), Scenario("no-good", (), _series(0, 10), values), tmp_path) == []


def test_a_ratio_not_inverted_fails_the_value_check(tmp_path: Path) -> None:
    rules = copy.deepcopy(_rules())
    for g in rules["groups"]:
        for r in g["rules"]:
            r["expr"] = re.sub(r"1 - \(", "(", r["expr"])  # good/total: the success ratio, not the error ratio
    values = (Value(T, f"slo:sli_error:ratio_rate5m{{{SID}}}", 0.1),)
    assert check_sloguard(rules, Scenario("mutated", (), _series(90, 10), values), tmp_path) != []
