"""Sloth's validator test data (../shared/conformance/sloth/testdata): every good file
validates, every bad file is refused for the reason its ``# BAD!`` comment names, and the
directory cases of Sloth's own validate_test.go give Sloth's verdicts.

Files that are Kubernetes ``PrometheusServiceLevel`` CRDs need the CRD reader; while it is
missing, exactly the cases whose verdict depends on those files are expected to fail (the
marks go away by themselves once the reader is there).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.slo._problems import discover
from sloguard.slo.loader import load_files
from tests.shared_paths import SHARED

SLOTH = SHARED / "conformance" / "sloth"
TESTDATA = SLOTH / "testdata"
VALIDATE = TESTDATA / "validate"
NEEDS_CRD = "needs the PrometheusServiceLevel reader (h-sloth)"

pytestmark = pytest.mark.skipif(not VALIDATE.is_dir(), reason=f"Sloth's test data not found at {SLOTH} (set SLOGUARD_SHARED)")


def _is_crd(path: Path) -> bool:
    return "sloth.slok.dev/v1" in path.read_text() and "PrometheusServiceLevel" in path.read_text()


def _has_crd_reader() -> bool:
    if not VALIDATE.is_dir():
        return True
    _, problems = load_files([VALIDATE / "good" / "good-k8s.yaml"])
    return not any("unknown spec format" in p.message for p in problems)


CRD_READER = _has_crd_reader()


def _marks(files: list[Path]) -> list[pytest.MarkDecorator]:
    if CRD_READER or not any(_is_crd(f) for f in files):
        return []
    return [pytest.mark.xfail(reason=NEEDS_CRD, strict=True)]


def _files(kind: str) -> list[Path]:
    return sorted((VALIDATE / kind).glob("*.yaml")) if VALIDATE.is_dir() else []


@pytest.mark.parametrize("path", [pytest.param(f, id=f.name, marks=_marks([f])) for f in _files("good")])
def test_good_file_validates(path: Path) -> None:
    slos, problems = load_files([path])
    assert [str(p) for p in problems if p.is_error] == []
    assert slos


#: What each bad file's "# BAD!" comment marks, as the end of the key path of an error.
BAD_AT = {
    "bad-aa.yaml": "slos[1].objective",  # objective: 101
    "bad-ab.yaml": "slos[1].objective",
    "bad-ba.yaml": "slos[1].objective",
    "bad-multi.yaml": "documents[1].slos[1].sli",  # sli: {}
    "bad-k8s.yaml": "service",  # service: ""
    "bad-multi-k8s.yaml": "alerting.name",  # name: "" with both alerts enabled
}


@pytest.mark.parametrize("path", [pytest.param(f, id=f.name, marks=_marks([f])) for f in _files("bad")
                                  if f.name in BAD_AT])
def test_bad_file_is_refused_at_the_marked_key(path: Path) -> None:
    _, problems = load_files([path])
    paths = [p.path for p in problems if p.is_error]
    assert any(p.endswith(BAD_AT[path.name]) for p in paths), paths


def test_bad_openslo_28_day_window_is_accepted_as_current_sloth_does() -> None:
    """bad-openslo.yaml's only difference from the good one is ``count: 28``; it was marked
    bad in 2021-06, when Sloth knew only 30-day windows. Sloth has shipped a 28-day window
    catalog (internal/alert/windows/google-28d.yaml) since 2021-11 and accepts the file;
    its validate_test.go only checks that the bad directory fails as a whole."""
    slos, problems = load_files([VALIDATE / "bad" / "bad-openslo.yaml"])
    assert [p for p in problems if p.is_error] == []
    assert [(s.name, s.service, s.period.nominal_ms) for s in slos] == [("slo1-0", "svc01", 28 * 86_400_000)]


def test_every_bad_file_has_an_expectation() -> None:
    assert {f.name for f in _files("bad")} == set(BAD_AT) | {"bad-openslo.yaml"}


def test_unknown_spec_version_is_refused() -> None:
    _, problems = load_files([TESTDATA / "in-invalid-version.yaml"])
    assert [p.message.split(":")[0] for p in problems] == ["unknown spec format"]


#: Sloth's validate_test.go: (name, input, flags, valid).
DIRECTORY_CASES = [
    ("good specs, duplicates ignored", "validate/good", ["--ignore-slo-duplicates"], True),
    ("bad specs", "validate/bad", [], False),
    ("all specs", "validate", [], False),
    ("all excluding bad", "validate", ["--fs-exclude", "bad", "--ignore-slo-duplicates"], True),
    ("all including only good", "validate", ["--fs-include", "good", "--ignore-slo-duplicates"], True),
    ("no specs", "validate", ["--fs-exclude", ".*"], False),
    ("exclude has preference", "validate", ["--fs-exclude", "bad", "--fs-include", ".*-aa.*", "--ignore-slo-duplicates"], True),
    ("duplicates", "validate_with_duplicates", [], False),
    ("duplicates ignored", "validate_with_duplicates", ["--ignore-slo-duplicates"], True),
    ("prom duplicates", "validate_with_duplicates/prom", [], False),
    ("k8s duplicates", "validate_with_duplicates/k8s", [], False),
    ("openslo duplicates", "validate_with_duplicates/openslo", [], False),
    ("duplicates in one multi-document file", "validate_with_duplicates/bad-prom-multi-duplicates.yaml", [], False),
]


def _case_marks(where: str, flags: list[str], valid: bool) -> list[pytest.MarkDecorator]:
    if not TESTDATA.is_dir():
        return []
    opts = dict(zip(flags[::2], flags[1::2], strict=False))
    files = discover([TESTDATA / where], opts.get("--fs-include"), opts.get("--fs-exclude"))
    # a case that must pass depends on the reader if it has a CRD; one that must fail only if
    # all its files are CRDs (the others fail it anyway)
    return _marks(files) if valid or all(_is_crd(f) for f in files) else []


@pytest.mark.parametrize(
    ("where", "flags", "valid"),
    [pytest.param(w, f, v, id=n, marks=_case_marks(w, f, v)) for n, w, f, v in DIRECTORY_CASES],
)
def test_directory_cases_give_sloths_verdict(where: str, flags: list[str], valid: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TESTDATA)  # the filters see relative paths, as in Sloth's test
    result = CliRunner().invoke(app, ["slo", "validate", *flags, where])
    assert result.exit_code == (0 if valid else 1), result.output
    if "duplicates" in where and not valid:
        assert "duplicate SLO" in result.output, result.output
