"""`sloguard slo validate` on Sloth's validator test files (shared/conformance/sloth/testdata).

Every bad file is refused for the defect Sloth's test put in it. Of the good files, the
Kubernetes ones are accepted; the others are marked as known gaps (strict xfail, so the
mark must go when they pass): Sloth ignores unknown fields (its ``prometheus/v1`` good files
carry the CRD's ``pageAlert`` keys, which sloguard refuses as unknown), Sloth's good set
is validated with ``--ignore-slo-duplicates`` (the multi-document files repeat SLO names in
other services), and sloguard reads OpenSLO ``v1``, not ``v1alpha``.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from tests.shared_paths import SHARED, needs

DATA = SHARED / "conformance" / "sloth" / "testdata"
pytestmark = needs(DATA)

BAD = {
    "validate/bad/bad-aa.yaml": "slos[1].objective: objective 101% is out of range",
    "validate/bad/bad-ab.yaml": "slos[1].objective: objective 101% is out of range",
    "validate/bad/bad-ba.yaml": "slos[1].objective: objective 101% is out of range",
    "validate/bad/bad-k8s.yaml": "spec.service: is required",
    "validate/bad/bad-multi-k8s.yaml": "spec.slos[0].alerting.name: is required",
    "validate/bad/bad-multi.yaml": "slos[1].sli: needs one of events, raw or plugin",
    "validate/bad/bad-openslo.yaml": "apiVersion: unsupported OpenSLO version 'openslo/v1alpha'",
    "validate_with_duplicates/k8s": "duplicate SLO name",
    "validate_with_duplicates/prom": "duplicate SLO name",
    "validate_with_duplicates/openslo": "apiVersion: unsupported OpenSLO version 'openslo/v1alpha'",
    "validate_with_duplicates/bad-prom-multi-duplicates.yaml": "duplicate SLO name",
}
_GAP = {
    "good-aa.yaml": "Sloth ignores the unknown pageAlert/ticketAlert keys of this prometheus/v1 file; sloguard refuses them",
    "good-ab.yaml": "Sloth ignores the unknown pageAlert/ticketAlert keys of this prometheus/v1 file; sloguard refuses them",
    "good-ba.yaml": "Sloth ignores the unknown pageAlert/ticketAlert keys of this prometheus/v1 file; sloguard refuses them",
    "good-multi.yaml": "Sloth validates its good set with --ignore-slo-duplicates; the documents repeat SLO names",
    "good-multi-k8s.yaml": "Sloth validates its good set with --ignore-slo-duplicates; the documents repeat SLO names",
    "good-openslo.yaml": "OpenSLO v1alpha is not read (sloguard reads openslo/v1)",
}
GOOD = ["good-aa.yaml", "good-ab.yaml", "good-ba.yaml", "good-k8s.yaml", "good-multi.yaml", "good-multi-k8s.yaml", "good-openslo.yaml"]


def _validate(path: str) -> tuple[int, str]:
    p = DATA / path
    files = sorted(str(f) for f in p.rglob("*.yaml")) if p.is_dir() else [str(p)]
    r = CliRunner().invoke(app, ["slo", "validate", *files])
    return r.exit_code, r.stderr


@pytest.mark.parametrize(("path", "defect"), list(BAD.items()), ids=list(BAD))
def test_every_bad_sloth_file_is_refused_for_its_defect(path: str, defect: str) -> None:
    code, err = _validate(path)
    assert code == 1 and defect in err, err


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=_GAP[n], strict=True)) if n in _GAP else n for n in GOOD])
def test_good_sloth_files_are_accepted(name: str) -> None:
    code, err = _validate(f"validate/good/{name}")
    assert code == 0, err
