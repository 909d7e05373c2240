"""Reading Alertmanager YAML: every section, globals filled in, secrets hidden, errors with key paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloguard.alerting import AlertingConfigError, Secret, load_config, parse_config
from sloguard.labels import MatchType

FULL = """
global:
  resolve_timeout: 2m
  smtp_smarthost: mail.example.org:587
  smtp_from: alerts@example.org
  smtp_auth_password: hunter2
  slack_api_url: https://hooks.slack.com/services/T0/B0/XYZ
  http_config:
    basic_auth: {username: u, password: p}
templates: ['tmpl/*.tmpl']
route:
  receiver: hook
  group_by: [alertname]
  routes:
  - matchers: ['severity="page"']
    receiver: pager
    mute_time_intervals: [weekends]
  - match_re: {service: 'api|web'}
    receiver: mail
    active_time_intervals: [office]
inhibit_rules:
- source_matchers: [severity="page"]
  target_matchers: [severity="ticket"]
  equal: [slo]
- source_match: {a: b}
  target_match_re: {c: 'd.*'}
time_intervals:
- name: office
  time_intervals:
  - times: [{start_time: '09:00', end_time: '17:00'}]
    weekdays: ['monday:friday']
    location: Europe/Paris
mute_time_intervals:
- name: weekends
  time_intervals:
  - weekdays: [saturday, sunday]
receivers:
- name: hook
  webhook_configs:
  - url: http://127.0.0.1:9/hook?token=abc
    max_alerts: 5
- name: pager
  pagerduty_configs:
  - routing_key: rk-123
  slack_configs:
  - channel: '#ops'
- name: mail
  email_configs:
  - to: team@example.org
    headers: {subject: Hi}
- name: ops
  opsgenie_configs:
  - api_key: x
"""


def _cfg(tmp_path: Path, text: str = FULL) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    return path


def test_every_section_is_read(tmp_path: Path) -> None:
    cfg = load_config(_cfg(tmp_path))
    assert cfg.global_config.resolve_timeout_ms == 120_000
    assert [r.name for r in cfg.receivers] == ["hook", "pager", "mail", "ops"]
    assert cfg.receiver("hook").webhook_configs[0].max_alerts == 5
    assert cfg.route.routes[0].mute_time_intervals == ("weekends",)
    assert cfg.route.routes[1].matchers[0].value == "^(?:api|web)$"
    assert len(cfg.inhibit_rules) == 2
    assert cfg.inhibit_rules[0].equal == ("slo",)
    assert cfg.inhibit_rules[1].target_matchers[0].type is MatchType.REGEX
    assert cfg.templates == (str(tmp_path / "tmpl/*.tmpl"),)


def test_time_intervals_keep_their_raw_specs_under_their_names(tmp_path: Path) -> None:
    cfg = load_config(_cfg(tmp_path))
    assert set(cfg.time_intervals) == {"office", "weekends"}
    office = cfg.time_intervals["office"][0]
    assert office["location"] == "Europe/Paris"
    assert office["weekdays"] == ["monday:friday"]
    assert cfg.time_intervals["weekends"][0]["weekdays"] == ["saturday", "sunday"]


def test_receivers_take_what_they_lack_from_global(tmp_path: Path) -> None:
    cfg = load_config(_cfg(tmp_path))
    email = cfg.receiver("mail").email_configs[0]
    assert (email.smarthost, email.from_, email.hello, email.require_tls) == (
        "mail.example.org:587", "alerts@example.org", "localhost", True)
    assert email.auth_password is not None and email.auth_password.reveal() == "hunter2"
    assert dict(email.headers)["Subject"] == "Hi"
    slack = cfg.receiver("pager").slack_configs[0]
    assert slack.api_url is not None and slack.api_url.reveal().endswith("/XYZ")
    pd = cfg.receiver("pager").pagerduty_configs[0]
    assert pd.url == "https://events.pagerduty.com/v2/enqueue"
    hook = cfg.receiver("hook").webhook_configs[0]
    assert hook.http_config is not None and hook.http_config.basic_auth_username == "u"


def test_secrets_print_as_secret(tmp_path: Path) -> None:
    cfg = load_config(_cfg(tmp_path))
    shown = repr(cfg) + str(cfg.receiver("pager")) + f"{Secret('rk-123')}"
    for secret in ("hunter2", "rk-123", "token=abc", "/XYZ"):
        assert secret not in shown
    assert "<secret>" in shown


def test_unsupported_receiver_kinds_load_as_problems(tmp_path: Path) -> None:
    cfg = load_config(_cfg(tmp_path))
    assert cfg.receiver("ops").unsupported == ("opsgenie_configs",)
    assert [p.path for p in cfg.problems] == ["receivers[3].opsgenie_configs"]
    assert "not supported" in cfg.problems[0].message


@pytest.mark.parametrize(
    ("text", "path", "detail"),
    [
        ("route: {receiver: a, foo: 1}\nreceivers: [{name: a}]", "route.foo", "field foo not found"),
        ("route: {receiver: a, group_wait: soon}\nreceivers: [{name: a}]", "route.group_wait",
         'not a valid duration string: "soon"'),
        ("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'ftp://x'}]}]",
         "receivers[0].webhook_configs[0].url", 'unsupported scheme "ftp" for URL'),
        ("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{}]}]",
         "receivers[0].webhook_configs[0]", "missing URL in webhook config"),
        ("route: {receiver: a}\nreceivers: [{name: a, email_configs: [{to: x@y}]}]",
         "receivers[0]", "no global SMTP smarthost set"),
        ("route: {receiver: a}\nreceivers: [{name: a, slack_configs: [{channel: x}]}]",
         "receivers[0]", "no global Slack API URL set either inline or in a file"),
        ("route: {receiver: a}\nreceivers: [{name: a, pagerduty_configs: [{}]}]",
         "receivers[0].pagerduty_configs[0]", "missing service or routing key in PagerDuty config"),
        ("route: {receiver: a, routes: [{matchers: ['a=~\"(b\"']}]}\nreceivers: [{name: a}]",
         "route.routes[0].matchers[0]", "missing closing )"),
        ("route: {receiver: a, routes: [{matchers: ['a b']}]}\nreceivers: [{name: a}]",
         "route.routes[0].matchers[0]", "bad matcher format: a b"),
        ("route: {receiver: a, matchers: ['a=b']}\nreceivers: [{name: a}]", "route",
         "root route must not have any matchers"),
        ("route: {receiver: a}\ninhibit_rules: [{equal: ['1x']}]\nreceivers: [{name: a}]",
         "inhibit_rules[0].equal", '"1x" is not a valid label name'),
        ("route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals: [{name: x}, {name: x}]",
         "time_intervals[1].name", 'time interval "x" is not unique'),
        ("", "", "no route provided in config"),
        ("route: [", "", "yaml:"),
        ("route:\n  receiver: a\n  receiver: b\nreceivers: [{name: a}]", "", "yaml: line 3: field receiver already set"),
    ],
)
def test_bad_input_names_file_key_path_and_alertmanagers_text(text: str, path: str, detail: str) -> None:
    with pytest.raises(AlertingConfigError) as info:
        parse_config(text, "am.yml")
    assert info.value.path == path
    assert detail in info.value.detail
    assert str(info.value).startswith("am.yml: ")


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AlertingConfigError, match="cannot read the file"):
        load_config(tmp_path / "nope.yml")


def test_template_globs_find_files_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "tmpl").mkdir()
    (tmp_path / "tmpl" / "a.tmpl").write_text('{{ define "x" }}hi{{ end }}')
    cfg = load_config(_cfg(tmp_path))
    assert cfg.template_files() == [str(tmp_path / "tmpl" / "a.tmpl")]


def test_receiver_defaults_are_alertmanagers() -> None:
    text = ("route: {receiver: a}\nreceivers: [{name: a, pagerduty_configs: [{routing_key: k, client: c, "
            "details: {firing: mine, extra: x}}], slack_configs: [{api_url: 'https://h/x'}], "
            "webhook_configs: [{url: 'http://h/'}]}]")
    rcv = parse_config(text).receiver("a")
    pd = rcv.pagerduty_configs[0]
    assert pd.source == "c" and pd.send_resolved  # source follows client
    details = dict(pd.details)
    assert details["firing"] == "mine" and details["extra"] == "x"
    assert details["num_resolved"] == "{{ .Alerts.Resolved | len }}"
    slack = rcv.slack_configs[0]
    assert not slack.send_resolved and slack.callback_id == '{{ template "slack.default.callbackid" . }}'
    assert rcv.webhook_configs[0].send_resolved and rcv.webhook_configs[0].max_alerts == 0


INTERVALS = """
route: {receiver: a, routes: [{receiver: a, matchers: ['x="y"'], mute_time_intervals: [offhours]}]}
receivers: [{name: a}]
time_intervals:
  - name: offhours
    time_intervals:
      - times: [{start_time: 17:00, end_time: 24:00}]
        days_of_month: [1:5]
"""


def test_unquoted_clock_times_and_day_ranges_read_as_text_as_in_go_yaml() -> None:
    """PyYAML alone reads 17:00 as 1020 and 1:5 as 65 (YAML 1.1 base 60); amtool accepts them as text."""
    cfg = parse_config(INTERVALS, "am.yml")
    (spec,) = cfg.time_intervals["offhours"]
    assert spec["times"] == [{"start_time": "17:00", "end_time": "24:00"}] and spec["days_of_month"] == ["1:5"]


def test_a_bad_time_interval_is_refused_when_the_config_is_read() -> None:
    with pytest.raises(AlertingConfigError, match="couldn't parse timestamp 25:00, invalid format") as e:
        parse_config(INTERVALS.replace("start_time: 17:00", "start_time: 25:00"), "am.yml")
    assert "time_intervals[0].time_intervals[0].times[0]" in str(e.value)
