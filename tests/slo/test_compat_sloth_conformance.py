"""`sloguard slo rules --compat sloth` against Sloth's own generator test data.

``shared/conformance/sloth/CASES.tsv`` lists each ``sloth generate`` invocation of Sloth's
integration test with the rules Sloth wrote for it (Go templates: ``{{ .version }}`` is the
generator's version string). Every case runs the real CLI (with Python equivalents of
Sloth's two Go test plugins registered for the plugin cases); the output must equal Sloth's
as parsed YAML with every PromQL expression compared after formatting, and, since the YAML
is written the way Sloth's Go code writes it, byte for byte as well.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.slo.compat import SLOTH_VERSION
from sloguard.slo.sloth_plugins import register_sli_plugin, register_slo_plugin
from tests.shared_paths import SHARED, needs
from tests.slo import sloth_test_plugins

SLOTH = SHARED / "conformance" / "sloth"
pytestmark = needs(SLOTH)
def _cases(with_errors: bool = True) -> list[Any]:
    if not (SLOTH / "CASES.tsv").is_file():
        return [pytest.param(("", "", ""), id="missing")]
    out = []
    for line in (SLOTH / "CASES.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        args, expected, note = (line.split("\t") + ["", ""])[:3]
        if expected == "(error)" and not with_errors:
            continue
        out.append(pytest.param((args, expected, note), id=args.replace("--input testdata/", "")))
    return out


def _render_expected(text: str) -> str:
    """Sloth's test templates: ``{{ .version }}`` and ``{{"literal"}}`` actions only."""
    text = text.replace("{{ .version }}", SLOTH_VERSION)
    text = re.sub(r'{{"((?:[^"\\]|\\.)*)"}}', lambda m: m.group(1), text)
    assert "{{ ." not in text, "unexpected Go template action in the expected output"
    return text


def _cli_args(args: str) -> list[str]:
    """``sloth generate`` flags to ``sloguard slo rules --compat sloth`` (``--input`` is positional)."""
    words = shlex.split(args)
    out = ["slo", "rules", "--compat", "sloth"]
    it: Iterator[str] = iter(words)
    for w in it:
        out.append(next(it) if w == "--input" else w)
    return out


@pytest.fixture
def case(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    """Runs in the conformance folder with Python equivalents of Sloth's two Go test plugins
    registered (they exist only in tests, as Sloth's exist only in its test tree)."""
    monkeypatch.chdir(SLOTH)
    off = [register_sli_plugin(sloth_test_plugins.PLUGIN_ID, sloth_test_plugins.integration_test),
           register_slo_plugin(sloth_test_plugins.SLO_PLUGIN_ID, sloth_test_plugins.plugin1)]
    try:
        yield request.param
    finally:
        for f in off:
            f()


def _normalised(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (promql_parser.parse(v).prettify() if k == "expr" else _normalised(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_normalised(v) for v in node]
    return node


def _docs(text: str) -> list[Any]:
    return [_normalised(d) for d in yaml.safe_load_all(text) if d is not None]


@pytest.mark.parametrize("case", _cases(), indirect=True)
def test_sloth_compat_rules_equal_sloths_as_parsed_yaml_with_formatted_promql(case: tuple[str, str, str]) -> None:
    args, expected, _ = case
    result = CliRunner().invoke(app, _cli_args(args))
    if expected == "(error)":
        assert result.exit_code == 1, result.output
        assert "unsupported Sloth spec version 'prometheus/v999'" in result.stderr, result.stderr
        return
    assert result.exit_code == 0, result.stderr
    want = _docs(_render_expected(Path(expected).read_text()))
    got = _docs(result.stdout)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == w


@pytest.mark.parametrize("case", _cases(with_errors=False), indirect=True)
def test_sloth_compat_rules_are_byte_identical_to_sloths(case: tuple[str, str, str]) -> None:
    args, expected, _ = case
    result = CliRunner().invoke(app, _cli_args(args))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == _render_expected(Path(expected).read_text())


def test_an_sli_plugin_without_a_python_equivalent_is_refused_by_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SLOTH)
    result = CliRunner().invoke(app, ["slo", "rules", "--compat", "sloth", "testdata/in-sli-plugin.yaml"])
    assert result.exit_code == 1
    assert "slos[0].sli.plugin.id: Sloth SLI plugin 'integration_test' has no sloguard equivalent" in result.stderr


def test_slo_plugin_chains_are_refused_by_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SLOTH)
    result = CliRunner().invoke(app, ["slo", "rules", "--compat", "sloth", "testdata/in-slo-plugin-k8s.yaml"])
    assert result.exit_code == 1
    assert "spec.sloPlugins.chain[0].id: Sloth SLO plugin 'integration-tests/plugin1' has no sloguard equivalent" in result.stderr
    assert "spec.slos[0].plugins.chain[1].id" in result.stderr
