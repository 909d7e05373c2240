"""The shared Go text spellings (``sloguard.gofmt``)."""

from __future__ import annotations

import pytest

from sloguard.gofmt import go_float, go_float_e, go_float_upper_e, go_quote


def test_go_quote_escapes_like_go_percent_q() -> None:
    assert go_quote('a "b"\n\\') == '"a \\"b\\"\\n\\\\"'
    assert go_quote("ü") == '"ü"'
    assert go_quote(5) == '"5"'


@pytest.mark.parametrize(
    ("v", "g", "e", "upper"),
    [(1.5, "1.5", "1.5e+00", "1.5E+00"), (2.0, "2", "2e+00", "2E+00"), (0.001, "0.001", "1e-03", "1E-03"),
     (123456789.0, "1.23456789e+08", "1.23456789e+08", "1.23456789E+08"), (-0.0, "-0", "-0e+00", "-0E+00"),
     (float("nan"), "NaN", "NaN", "NaN"), (float("-inf"), "-Inf", "-Inf", "-Inf")],
)
def test_float_forms_match_strconv(v: float, g: str, e: str, upper: str) -> None:
    assert (go_float(v), go_float_e(v), go_float_upper_e(v)) == (g, e, upper)
