"""The alert model, notification data and templates: Alertmanager 0.25's fingerprint,
ordering, ``template.Data`` and the default templates' titles (the live comparison with a
real Alertmanager is in test_receivers_peer.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sloguard.alerting.model import (
    Alert,
    fingerprint,
    go_time_rfc3339,
    label_set_string,
    sort_alerts,
)
from sloguard.alerting.notify_template import NotificationTemplate, TemplateError
from sloguard.alerting.template_data import KV, build_data, quote_meta
from sloguard.labels import Labels

T = NotificationTemplate()


def _alerts() -> list[Alert]:
    return [
        Alert.of({"alertname": "HighLatency", "instance": "a:9090", "team": "s"},
                 {"summary": "too slow", "description": "p99 > 1s"}, 1_000, None, "http://prom/graph"),
        Alert.of({"alertname": "HighLatency", "instance": "b:9090", "team": "s"}, {"summary": "too slow"}, 500),
    ]


def _data(alerts: list[Alert], group: dict[str, str] | None = None, now: int = 2_000) -> object:
    labels = Labels.from_dict(group if group is not None else {"alertname": "HighLatency"})
    return build_data("web.hook", labels, alerts, now, "http://am:9093")


def test_fingerprint_matches_prometheus_common_known_values() -> None:
    # prometheus/common model/signature_test.go: TestMetricToFingerprint
    assert fingerprint(()) == 14695981039346656037
    assert fingerprint({"name": "garland, briggs", "fear": "love is not enough"}.items()) == 5799056148416392346
    # observed in Alertmanager 0.25's webhook body for this label set
    assert _alerts()[0].fingerprint_hex == "2cee975d2c4f8188"


def test_fingerprint_does_not_depend_on_label_order_but_on_the_separator() -> None:
    assert fingerprint([("a", "b"), ("c", "d")]) == fingerprint([("c", "d"), ("a", "b")])
    assert fingerprint([("a", "bc")]) != fingerprint([("ab", "c")])


def test_label_set_string_is_go_model_labelset_string() -> None:
    assert label_set_string([("team", 's"x'), ("alertname", "A")]) == '{alertname="A", team="s\\"x"}'
    assert label_set_string([]) == "{}"


def test_go_time_json_form_trims_fraction_and_renders_unset_as_zero_time() -> None:
    assert go_time_rfc3339(None) == "0001-01-01T00:00:00Z"
    assert go_time_rfc3339(1_500) == "1970-01-01T00:00:01.5Z"
    assert go_time_rfc3339(1_000) == "1970-01-01T00:00:01Z"


def test_sort_alerts_orders_by_job_then_instance_then_smaller_label_sets() -> None:
    a = Alert.of({"alertname": "X", "instance": "b"})
    b = Alert.of({"alertname": "X", "instance": "a", "zone": "1"})
    c = Alert.of({"alertname": "X", "job": "z"})
    d = Alert.of({"alertname": "Y"})
    e = Alert.of({"alertname": "X", "zone": "1"})
    assert sort_alerts([d, e, a, c, b]) == [c, b, a, d, e]


def test_alert_status_depends_on_the_time() -> None:
    a = Alert.of({"alertname": "X"}, starts_at=0, ends_at=10)
    assert a.status_at(9).value == "firing" and a.status_at(10).value == "resolved"
    assert Alert.of({"alertname": "X"}).status_at(10**15).value == "firing"


def test_kv_helpers_put_alertname_first_and_remove_keys() -> None:
    kv = KV({"zone": "1", "alertname": "A", "env": "p"})
    assert [(p.Name, p.Value) for p in kv.sorted_pairs()] == [("alertname", "A"), ("env", "p"), ("zone", "1")]
    assert kv.go_names() == ["alertname", "env", "zone"] and kv.go_values() == ["A", "p", "1"]
    assert kv.remove(["env"]) == {"zone": "1", "alertname": "A"} and "env" in kv


def test_data_status_common_labels_and_quoted_receiver() -> None:
    resolved = Alert.of({"alertname": "HighLatency", "instance": "c", "team": "s"}, {"summary": "too slow"}, 0, 1_500)
    d = build_data("web.hook", Labels.of(alertname="HighLatency"), [*_alerts(), resolved], 2_000)
    assert d.Receiver == "web\\.hook" and d.Status == "firing"
    assert d.CommonLabels == {"alertname": "HighLatency", "team": "s"}
    assert d.CommonAnnotations == {"summary": "too slow"}
    assert [a.Status for a in d.Alerts.firing()] == ["firing", "firing"]
    assert not d.Alerts.resolved()[0].EndsAt.is_zero() and d.Alerts.firing()[0].EndsAt.is_zero()
    assert build_data("r", Labels(), [resolved], 2_000).Status == "resolved"
    assert quote_meta("a.b*c[d]") == "a\\.b\\*c\\[d\\]"


def test_default_subject_as_alertmanager_writes_it() -> None:
    d = _data(_alerts())
    assert T.execute_text('{{ template "slack.default.title" . }}', d) == "[FIRING:2] HighLatency (s)"
    group = {"alertname": "HighLatency", "team": "s"}
    assert T.execute_text('{{ template "email.default.subject" . }}', _data(_alerts(), group)) == "[FIRING:2] HighLatency s "
    resolved = [Alert.of({"alertname": "HighLatency", "team": "s"}, {}, 0, 1)]
    assert T.execute_text('{{ template "pagerduty.default.description" . }}', _data(resolved, group)) == "[RESOLVED] HighLatency s "


def test_default_fallback_and_pagerduty_instances() -> None:
    d = _data(_alerts())
    assert (T.execute_text('{{ template "slack.default.fallback" . }}', d)
            == "[FIRING:2] HighLatency (s) | http://am:9093/#/alerts?receiver=web%5C.hook")
    text = T.execute_text('{{ template "pagerduty.default.instances" .Alerts.Firing }}', d)
    assert text.startswith("Labels:\n - alertname = HighLatency\n - instance = a:9090\n - team = s\nAnnotations:\n")
    assert text.endswith("Source: \n") and text.count("Labels:") == 2


def test_user_templates_define_range_and_methods_with_arguments(tmp_path: Path) -> None:
    (tmp_path / "a.tmpl").write_text(
        '{{ define "mine" }}{{ range .Alerts.Firing }}{{ .Labels.instance }};{{ end }}'
        '{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Names | join "," }}{{ end }}{{ end }}'
        '{{ define "slack.default.title" }}custom {{ .Status | title }}{{ end }}')
    t = NotificationTemplate.from_globs(["*.tmpl", "missing/*.tmpl"], str(tmp_path))
    d = _data(_alerts())
    assert t.execute_text('{{ template "mine" . }}', d) == "a:9090;b:9090;team"
    assert t.execute_text('{{ template "slack.default.title" . }}', d) == "custom Firing"
    assert t.execute_text('{{ $c := .CommonLabels }}{{ $c.Remove (stringSlice "team") }}', d) == "map[alertname:HighLatency]"
    assert t.execute_text("", d) == ""


def test_title_and_functions_are_alertmanagers() -> None:
    d = _data(_alerts())
    assert T.execute_text('{{ "hELLO wORLD" | title }}|{{ toUpper "a" }}|{{ reReplaceAll "a(.)" "$1" "xab" }}', d) == "Hello World|A|xb"
    assert T.execute_text('{{ if match "^High" .CommonLabels.alertname }}yes{{ end }}', d) == "yes"
    with pytest.raises(TemplateError, match='function "humanize" not defined'):
        T.execute_text("{{ humanize 1 }}", d)


def test_html_templates_escape_output_unless_safe_html() -> None:
    d = _data(_alerts())
    out = T.execute_html('{{ .CommonAnnotations.summary }} {{ "<b>" }} {{ "<i>" | safeHtml }} {{ "a+b" }}', d)
    assert out == "too slow &lt;b&gt; <i> a&#43;b"
    page = T.execute_html('{{ template "email.default.html" . }}', d)
    assert "<title>[FIRING:2] HighLatency (s)</title>" in page and "description = p99 &gt; 1s" in page


def test_template_errors_name_the_template_and_place() -> None:
    with pytest.raises(TemplateError, match='template "nope" not defined'):
        T.execute_text('{{ template "nope" . }}', _data(_alerts()))
    with pytest.raises(TemplateError, match="unexpected"):
        NotificationTemplate([("bad.tmpl", '{{ define "x" }}{{ end }}{{ end }}')])


def test_an_unreadable_template_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "dir.tmpl").mkdir()
    with pytest.raises(TemplateError, match="cannot read template file .*dir.tmpl"):
        NotificationTemplate.from_globs(["*.tmpl"], str(tmp_path))


def test_alert_times_format_with_go_layouts() -> None:
    d = _data([Alert.of({"alertname": "X"}, {}, 1_780_000_000_123, None)], now=1_780_000_000_200)
    out = T.execute_text('{{ range .Alerts }}{{ .StartsAt.Format "Mon Jan _2 2006 3:04:05.000PM -0700 MST" }}'
                         '|{{ .StartsAt }}|{{ .EndsAt }}|{{ .EndsAt.IsZero }}|{{ .StartsAt.Unix }}{{ end }}', d)
    assert out == ("Thu May 28 2026 8:26:40.123PM +0000 UTC|2026-05-28 20:26:40.123 +0000 UTC"
                   "|0001-01-01 00:00:00 +0000 UTC|true|1780000000")


def test_method_calls_with_wrong_arguments_fail_with_gos_wording() -> None:
    d = _data(_alerts())
    with pytest.raises(TemplateError, match="wrong number of args for Remove: want 1 got 0"):
        T.execute_text("{{ .CommonLabels.Remove }}", d)
    with pytest.raises(TemplateError, match="Status has arguments but cannot be invoked as function"):
        T.execute_text('{{ .Status "x" }}', d)
    with pytest.raises(TemplateError, match="alertname is not a method but has arguments"):
        T.execute_text('{{ .CommonLabels.alertname "x" }}', d)


def test_data_json_is_build_data_to_json() -> None:
    """The webhook's direct encoder gives what the template data would encode."""
    from sloguard.alerting.template_data import data_json

    resolved = Alert.of({"alertname": "HighLatency", "instance": "b"}, {"summary": "x<y>"}, starts_at=500,
                        ends_at=1_500)
    for alerts, now in (([*_alerts(), resolved], 2_000), ([resolved], 2_000), ([], 2_000), (_alerts(), 1_234)):
        labels = Labels.of(alertname="HighLatency", team="a|b")
        direct = data_json("web.hook", labels, alerts, now, "http://am")
        via_data = build_data("web.hook", labels, alerts, now, "http://am").to_json()
        assert json.dumps(direct) == json.dumps(via_data)  # the same keys in the same order
