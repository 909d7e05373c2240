"""Rule files composed with libyaml: the same groups for good files, the same problems,
word for word, for bad ones (they are read again with PyYAML's composer)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sloguard.rules import _rulefmt, parse_rule_text
from sloguard.rules.template import template_parse_error

FIXTURES = Path(__file__).parent / "fixtures" / "check"

pytestmark = pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")

BAD = {
    "yaml syntax": "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n     bad: [\n",
    "tab indentation": "groups:\n\t- name: g\n",
    "duplicate key": "groups:\n  - name: g\n    name: h\n    rules: []\n",
    "bad expression": "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: sum(\n",
    "bad template": "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
    "        annotations: {s: '{{ .Nope'}\n",
    "groups not a list": "groups: 3\n",
}


def _pure(text: str, monkeypatch: pytest.MonkeyPatch, path: str = "f.yml") -> tuple[object, list[str]]:
    with monkeypatch.context() as m:
        m.setattr(_rulefmt, "_FAST_LOADER", None)
        return parse_rule_text(text, path)


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_gives_the_same_problems_as_pyyaml_alone(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = BAD[name]
    rf, errs = parse_rule_text(text, "f.yml")
    assert errs, f"{name}: no problem found"
    assert (rf, errs) == _pure(text, monkeypatch)


def test_a_yaml_error_keeps_pyyaml_wording_and_line() -> None:
    _, errs = parse_rule_text(BAD["yaml syntax"], "f.yml")
    # libyaml's own text would be "did not find expected key"
    assert errs == ["yaml: line 6: expected <block end>, but found '<block mapping start>'"] * 2


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yml")), ids=lambda p: p.name)
def test_fixture_files_parse_the_same_with_and_without_libyaml(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text()
    assert parse_rule_text(text, str(path)) == _pure(text, monkeypatch, str(path))


def test_good_files_are_composed_by_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[object] = []
    real = yaml.compose

    def spy(text: str, Loader: object) -> object:  # noqa: N803 - PyYAML's keyword
        used.append(Loader)
        return real(text, Loader=Loader)

    monkeypatch.setattr(_rulefmt.yaml, "compose", spy)
    rf, errs = parse_rule_text("groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n")
    assert errs == [] and rf is not None and rf.rule_count == 1
    assert used == [yaml.CSafeLoader]


def test_template_check_is_remembered_per_text_not_per_name() -> None:
    text = "{{ $value | humanize }} over {{ $labels.job }}"
    assert template_parse_error(text, "__alert_A") is None
    assert template_parse_error(text, "__alert_B") is None
    assert template_parse_error("{{ .Nope", "__alert_A") == "template: __alert_A:1: unclosed action"
    assert template_parse_error("{{ .Nope", "__alert_B") == "template: __alert_B:1: unclosed action"
