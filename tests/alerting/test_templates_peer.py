"""Differential: templates rendered by the real ``amtool template render`` (Alertmanager
0.25's template package) and by sloguard, on the same ``template.Data`` (written as JSON
by sloguard, read back by amtool) and the same template files (the shipped default.tmpl
and a user file)."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import NotificationTemplate, TemplateError
from sloguard.alerting.template_data import Data, build_data
from sloguard.labels import Labels

pytestmark = pytest.mark.peer

AMTOOL = shutil.which("amtool")
USER_TMPL = """{{ define "team.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname | title }}{{ end }}
{{ define "team.list" }}{{ range $i, $a := .Alerts }}{{ $i }}:{{ $a.Labels.instance }}={{ $a.Status }}
{{ end }}{{ end }}"""

CASES = [
    '{{ template "__subject" . }}',
    '{{ template "slack.default.fallback" . }}',
    '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
    '{{ template "opsgenie.default.description" . }}',
    '{{ template "wechat.default.message" . }}',
    '{{ template "team.title" . }}',
    '{{ template "team.list" . }}',
    '{{ .CommonLabels.Remove .GroupLabels.Names }}|{{ .GroupLabels.SortedPairs }}|{{ .CommonLabels.Values }}',
    '{{ range .Alerts.Resolved }}{{ .StartsAt }} {{ .EndsAt.Format "Jan 02 15:04:05.000" }}{{ end }}',
    '{{ join "," (stringSlice "a" "b") }}|{{ reReplaceAll "(\\\\w+)-(\\\\d)" "$2.$1" "web-1 db-2" }}',
    '{{ if match "^Disk" .CommonLabels.alertname }}m{{ end }}|{{ "ab cD" | title }}|{{ len .Alerts }}',
    '{{ .Receiver }}|{{ .ExternalURL }}|{{ .Status }}|{{ printf "%q %d" "x" 3 }}|{{ .Alerts.Firing | len }}',
    '{{ range .Alerts }}{{ . }};{{ end }}',
    '<p>{{ .CommonAnnotations.summary }}</p>{{ "<b>+</b>" | safeHtml }}{{ "\'q\' \\"d\\"" }}',
    '{{ .CommonLabels.Remove }}',
    '{{ .Status "x" }}',
    '{{ .CommonLabels.alertname "x" }}',
    '{{ $c := .CommonLabels }}{{ $c.alertname "x" }}',
    '{{ $x := 1 }}{{ $x "a" }}',
    '{{ template "missing" . }}',
]


def _data() -> Data:
    alerts = [
        Alert.of({"alertname": "DiskFull", "instance": "a:9100", "dev": "sda"}, {"summary": "a < b & c"}, 1_780_000_000_123,
                 None, "http://prom/1"),
        Alert.of({"alertname": "DiskFull", "instance": "b:9100", "dev": "sdb"}, {"summary": "a < b & c", "x": "y"},
                 1_780_000_000_000, 1_780_000_060_500, "http://prom/2"),
    ]
    return build_data("team.x", Labels.of(alertname="DiskFull"), alerts, 1_780_000_100_000, "http://am:9093")


def _amtool(tmp_path: Path, text: str, kind: str) -> tuple[bool, str]:
    default = resources.files("sloguard.alerting") / "templates" / "default.tmpl"
    (tmp_path / "user.tmpl").write_text(USER_TMPL)
    (tmp_path / "default.tmpl").write_text(default.read_text(encoding="utf-8"))
    (tmp_path / "data.json").write_text(json.dumps(_data().to_json()))
    assert AMTOOL is not None
    r = subprocess.run([AMTOOL, "template", "render", f"--template.glob={tmp_path}/*.tmpl",
                        f"--template.data={tmp_path / 'data.json'}", f"--template.text={text}",
                        f"--template.type={kind}"], capture_output=True, text=True, timeout=30)
    return r.returncode == 0, r.stdout if r.returncode == 0 else r.stderr


@pytest.mark.parametrize("kind", ["text", "html"])
@pytest.mark.parametrize("text", CASES)
def test_rendering_equals_amtools(tmp_path: Path, text: str, kind: str) -> None:
    if AMTOOL is None:
        pytest.skip("amtool (Alertmanager 0.25) is not installed")
    ok, theirs = _amtool(tmp_path, text, kind)
    tmpl = NotificationTemplate([("user.tmpl", USER_TMPL)], "http://am:9093")
    run = tmpl.execute_text if kind == "text" else tmpl.execute_html
    if ok:
        assert run(text, _data()) == theirs
    else:
        with pytest.raises(TemplateError) as err:
            run(text, _data())
        assert str(err.value) == theirs.removeprefix("amtool: error: ").strip()
