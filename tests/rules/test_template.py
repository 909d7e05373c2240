"""The Go-template subset: output formatting and error texts as Prometheus produces them."""

from __future__ import annotations

import pytest

from sloguard.rules.template import AlertTemplateData, expand_alert_text, go_float

DATA = AlertTemplateData({"instance": "h:9", "job": "x"}, {"dc": "eu"}, "http://p:9090", 1234567.5)


def _q(expr: str) -> list[tuple[dict[str, str], float]]:
    return [({"__name__": "up", "job": "a"}, 1.0), ({"__name__": "up", "job": "b"}, 0.0)] if expr == "up" else []


def _x(text: str, data: AlertTemplateData = DATA) -> str:
    return expand_alert_text(text, "__alert_A", data, _q)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Instance {{ $labels.instance }} down", "Instance h:9 down"),
        ("{{ $labels.missing }}", ""),
        ("{{ .Labels.job }}/{{ $externalLabels.dc }}/{{ $externalURL }}", "x/eu/http://p:9090"),
        ("{{ $value }}", "1.2345675e+06"),
        ("{{ humanize $value }}", "1.235M"),
        ("{{ humanize 0.00012 }}", "120u"),
        ("{{ humanize 0 }}", "0"),
        ("{{ $value | humanize1024 }}", "1.177Mi"),
        ("{{ humanize1024 1 }}", "1"),
        ("{{ humanizeDuration 3725.5 }}", "1h 2m 5s"),
        ("{{ humanizeDuration 90061 }}", "1d 1h 1m 1s"),
        ("{{ humanizeDuration 1.5 }}", "1.5s"),
        ("{{ humanizeDuration 0.25 }}", "250ms"),
        ("{{ humanizeDuration 0 }}", "0s"),
        ("{{ humanizePercentage 0.1234 }}", "12.34%"),
        ("{{ humanizeTimestamp 1.5 }}", "1970-01-01 00:00:01.5 +0000 UTC"),
        ('{{ printf "%.2f" $value }}', "1234567.50"),
        ('{{ printf "%s=%d %v" "a" 3 2.5 }}', "a=3 2.5"),
        ('{{ printf "%d" 2.5 }}', "%!d(float64=2.5)"),
        ('{{ toUpper "abc" }} {{ "ABC" | toLower }} {{ title "hello world-x" }}', "ABC abc Hello World-X"),
        ('{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}', "h"),
        ("{{ if gt $value 80.0 }}high{{ else }}low{{ end }}", "high"),
        ("{{ if lt $value 80.0 }}a{{ else if eq $labels.job \"x\" }}b{{ else }}c{{ end }}", "b"),
        ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", "instance=h:9;job=x;"),
        ('{{ range query "up" }}{{ .Labels.job }}:{{ .Value }} {{ end }}', "a:1 b:0 "),
        ('{{ with query "up" }}{{ . | first | value }}{{ end }}', "1"),
        ('{{ with query "none" }}x{{ else }}empty{{ end }}', "empty"),
        ('{{ query "up" | first | label "job" }}', "a"),
        ('{{ len $labels }} {{ index $labels "job" }}', "2 x"),
        ("{{ $labels }}", "map[instance:h:9 job:x]"),
        ('{{- "a" -}}   b', "ab"),
        ("{{ $x := 1 }}{{ if and $x (eq $x 1) (not false) }}yes{{ end }}", "yes"),
        ('{{ or "" "dflt" }}', "dflt"),
        ("{{/* comment */}}ok", "ok"),
    ],
)
def test_expansion_matches_go(text: str, want: str) -> None:
    assert _x(text) == want


def test_int_float_comparison_is_an_error_like_go() -> None:
    assert _x("{{ if gt $value 80 }}hi{{ end }}") == (
        "<error expanding template: error executing template __alert_A: template: __alert_A:1:118: "
        'executing "__alert_A" at <gt $value 80>: error calling gt: incompatible types for comparison>'
    )


def test_unknown_function_is_a_parse_error_in_the_text() -> None:
    assert _x("{{ nofunc }}") == (
        "<error expanding template: error parsing template __alert_A: template: __alert_A:1: "
        'function "nofunc" not defined>'
    )


def test_function_error_names_the_call() -> None:
    out = _x('{{ first (query "none") }}')
    assert out.startswith("<error expanding template: error executing template __alert_A:")
    assert out.endswith("error calling first: first() called on vector with no elements>")


@pytest.mark.parametrize(
    ("v", "want"),
    [(1.0, "1"), (0.5, "0.5"), (100000.0, "100000"), (1e6, "1e+06"), (123456789.0, "1.23456789e+08"),
     (0.0001, "0.0001"), (0.00001, "1e-05"), (float("nan"), "NaN"), (float("-inf"), "-Inf"), (-2.5, "-2.5")],
)
def test_go_float_printing(v: float, want: str) -> None:
    assert go_float(v) == want
