"""Time intervals: Alertmanager 0.25's own test cases (timeinterval_test.go, as data), DST edges,
and a differential check of the parse verdicts and error texts against the real ``amtool``."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from sloguard.alerting import AlertingConfigError, parse_config
from sloguard.alerting.timeinterval import (
    InclusiveRange,
    TimeInterval,
    TimeIntervalError,
    TimeRange,
    days_in_month,
    in_time_intervals,
    intervals_from_config,
    parse_time_interval,
    parse_time_intervals,
)


def rfc822z(text: str) -> datetime:
    """Go's time.RFC822Z ("02 Jan 06 15:04 -0700"), as upstream's tests parse their times."""
    return datetime.strptime(text, "%d %b %y %H:%M %z")


def _range(b: int, e: int) -> tuple[InclusiveRange, ...]:
    return (InclusiveRange(b, e),)


# timeIntervalTestCases: (interval as upstream builds it, contained times, excluded times)
CONTAINS_CASES = [
    (TimeInterval(), ["02 Jan 06 15:04 +0000", "03 Jan 07 10:04 +0000", "04 Jan 06 09:04 +0000"], []),
    (
        TimeInterval(times=(TimeRange(540, 1020),), weekdays=_range(1, 5)),
        ["04 May 20 15:04 +0000", "05 May 20 10:04 +0000", "09 Jun 20 09:04 +0000"],
        ["03 May 20 15:04 +0000", "04 May 20 08:59 +0000", "05 May 20 05:00 +0000"],
    ),
    (
        TimeInterval(days_of_month=_range(4, 6), months=_range(4, 4), years=_range(2020, 2020)),
        ["04 Apr 20 15:04 +0000", "05 Apr 20 00:00 +0000", "06 Apr 20 23:05 +0000"],
        ["03 May 18 15:04 +0000", "03 Apr 20 23:59 +0000", "04 Jun 20 23:59 +0000",
         "06 Apr 19 23:59 +0000", "07 Apr 20 00:00 +0000"],
    ),
    (
        TimeInterval(days_of_month=_range(-3, -1)),
        ["31 Jan 20 15:04 +0000", "30 Jan 20 15:04 +0000", "29 Jan 20 15:04 +0000",
         "30 Jun 20 00:00 +0000", "29 Feb 20 23:05 +0000"],
        ["03 May 18 15:04 +0000", "27 Jan 20 15:04 +0000", "03 Apr 20 23:59 +0000", "04 Jun 20 23:59 +0000",
         "06 Apr 19 23:59 +0000", "07 Apr 20 00:00 +0000", "01 Mar 20 00:00 +0000"],
    ),
    (  # out-of-bound days are clamped to the month
        TimeInterval(months=_range(6, 6), days_of_month=_range(-31, 31)),
        ["30 Jun 20 00:00 +0000", "01 Jun 20 00:00 +0000"],
        ["31 May 20 00:00 +0000", "1 Jul 20 00:00 +0000"],
    ),
    (
        parse_time_interval({"times": [{"start_time": "09:00", "end_time": "17:00"}],
                             "weekdays": ["monday:friday"], "location": "Australia/Sydney"}, "t"),
        ["06 Apr 21 13:00 +1000"],
        ["06 Apr 21 13:00 +0000"],
    ),
    (
        parse_time_interval({"times": [{"start_time": "09:00", "end_time": "17:00"}], "weekdays": ["monday:friday"],
                             "months": ["november"], "location": "Australia/Sydney"}, "t"),
        ["01 Nov 21 09:00 +1100", "31 Oct 21 22:00 +0000"],
        ["31 Oct 21 21:00 +0000"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("interval", "inside", "outside"), CONTAINS_CASES)
def test_contains_matches_upstream_table(interval: TimeInterval, inside: list[str], outside: list[str]) -> None:
    assert [t for t in inside if not interval.contains(rfc822z(t))] == []
    assert [t for t in outside if interval.contains(rfc822z(t))] == []


# timeStringTestCases: one `times` entry -> (start, end) minutes, or an error
@pytest.mark.parametrize(
    ("start", "end", "want"),
    [("00:00", "24:00", (0, 1440)), ("01:35", "17:39", (95, 1059)), ("09:35", "09:39", (575, 579)),
     ("17:31", "17:31", "start time cannot be equal or greater than end time"),
     ("12:30", "24:01", "couldn't parse timestamp 24:01, invalid format"),
     ("09:30", "07:41", "start time cannot be equal or greater than end time"),
     ("24:00", "17:41", "start time cannot be equal or greater than end time"),
     ("14:03", None, "both start and end times must be provided")],
)  # fmt: skip
def test_times_parse_like_upstream(start: str, end: str | None, want: tuple[int, int] | str) -> None:
    raw = {"start_time": start} if end is None else {"start_time": start, "end_time": end}
    if isinstance(want, str):
        with pytest.raises(TimeIntervalError) as e:
            parse_time_interval({"times": [raw]}, "time_intervals[0]")
        assert e.value.reason == want
        assert "time_intervals[0].times[0]" in str(e.value)
    else:
        ti = parse_time_interval({"times": [raw]}, "t")
        assert ti.times == (TimeRange(*want),)


# yamlUnmarshalTestCases: YAML text -> error text, or contained / excluded times
YAML_ERRORS = [
    ("- times: [{start_time: '01:99', end_time: '23:59'}]", "couldn't parse timestamp 01:99, invalid format"),
    ("- times: [{start_time: '00:00', end_time: '99:99'}]", "couldn't parse timestamp 99:99, invalid format"),
    ("- weekdays: ['friday:monday']", "start day cannot be before end day"),
    ("- weekdays: ['blurgsday:flurgsday']", "blurgsday is not a valid weekday"),
    ("- weekdays: ['1:3']", "1 is not a valid weekday"),
    ("- weekdays: ['-2:-1']", "-2 is not a valid weekday"),
    ("- days_of_month: ['0']", "0 is not a valid day of the month: out of range"),
    ("- days_of_month: ['-50:-20']", "-50 is not a valid day of the month: out of range"),
    ("- days_of_month: ['1:50']", "50 is not a valid day of the month: out of range"),
    ("- days_of_month: ['-15:5']", "end day must be negative if start day is negative"),
    ("- days_of_month: ['10:-25']", "end day -25 is always before start day 10"),
    ("- months: ['martius:june']", "martius is not a valid month"),
    ("- months: ['march:junius']", "junius is not a valid month"),
    ("- months: ['december:january']", "end month january is before start month december"),
    ("- years: ['2022:2020']", "end year 2020 is before start year 2022"),
    # beyond upstream's table: texts read from timeinterval.go and Go's strconv/time packages
    ("- weekdays: ['monday:tuesday:friday']", "couldn't parse range monday:tuesday:friday, invalid format"),
    ("- days_of_month: ['first']", 'strconv.Atoi: parsing "first": invalid syntax'),
    ("- years: ['2020: 2021']", 'strconv.Atoi: parsing " 2021": invalid syntax'),
    ("- months: ['7:3']", "end month march is before start month july"),
    ("- location: 'Mars/Olympus_Mons'", "unknown time zone Mars/Olympus_Mons"),
    ("- location: '../etc/passwd'", "time: invalid location name"),
]


@pytest.mark.parametrize(("text", "reason"), YAML_ERRORS)
def test_bad_intervals_fail_with_alertmanagers_text(text: str, reason: str) -> None:
    with pytest.raises(TimeIntervalError) as e:
        parse_time_intervals(yaml.safe_load(text), "time_intervals[0].time_intervals")
    assert e.value.reason == reason
    assert str(e.value).startswith("time_intervals[0].time_intervals[0].")


YAML_VALID = [
    ("- weekdays: ['monday:friday']\n  times: [{start_time: '09:00', end_time: '17:00'}]",
     ["08 Jul 20 09:00 +0000", "08 Jul 20 16:59 +0000", "01 Apr 21 13:00 +0000"],
     ["08 Jul 20 05:00 +0000", "08 Jul 20 08:59 +0000"]),
    ("- weekdays: ['monday:friday', 'sunday']\n  months: ['january:march']\n  days_of_month: ['-7:-1']\n"
     "  years: ['2020:2025', '2030:2035']\n  times: [{start_time: '09:00', end_time: '17:00'}]",
     ["27 Jan 21 09:00 +0000", "28 Jan 21 16:59 +0000", "29 Jan 21 13:00 +0000", "31 Mar 25 13:00 +0000",
      "31 Jan 35 13:00 +0000"],
     ["30 Jan 21 13:00 +0000", "01 Apr 21 13:00 +0000", "30 Jan 26 13:00 +0000", "31 Jan 35 17:01 +0000"]),
    ("- weekdays: ['monday:wednesday', 'saturday', 'sunday']\n  times: [{start_time: '13:00', end_time: '15:00'}]\n"
     "  days_of_month: ['1', '10', '20:-1']\n  years: ['2020:2023']\n  months: ['january:march']",
     ["10 Jan 21 13:00 +0000", "30 Jan 21 14:24 +0000"],
     ["09 Jan 21 13:00 +0000", "20 Jan 21 12:59 +0000", "02 Feb 21 13:00 +0000"]),
    # a range starting after the month's end is skipped, not clamped to its last day
    ("- days_of_month: ['30:31']\n  years: ['2020:2023']\n  months: ['february']", [], ["28 Feb 21 13:00 +0000"]),
    ("- days_of_month: ['1:-1']", ["01 Feb 21 00:00 +0000", "28 Feb 21 23:59 +0000"], []),
    ("- months: ['January:december']", ["15 Aug 22 10:00 +0000"], []),
    ("- years: ['2020:2022']\n  location: 'Australia/Sydney'", ["31 Dec 22 12:59 +0000"], ["31 Dec 22 13:00 +0000"]),  # AEDT: +11
    # an empty list is a constraint nothing meets (yaml.v2 gives a non-nil empty slice)
    ("- weekdays: []", [], ["08 Jul 20 09:00 +0000"]),
    ("- weekdays: ~\n  months: [13]", [], ["08 Dec 20 09:00 +0000"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "inside", "outside"), YAML_VALID)
def test_valid_intervals_contain_upstreams_times(text: str, inside: list[str], outside: list[str]) -> None:
    intervals = parse_time_intervals(yaml.safe_load(text), "t")
    assert [t for t in inside if not any(i.contains(rfc822z(t)) for i in intervals)] == []
    assert [t for t in outside if any(i.contains(rfc822z(t)) for i in intervals)] == []


def test_month_length_in_a_spring_forward_month_is_one_day_short_as_in_0_25() -> None:
    berlin = parse_time_interval({"days_of_month": ["-1"], "location": "Europe/Berlin"}, "t")
    assert days_in_month(datetime(2021, 3, 10, tzinfo=berlin.location.tz)) == 30  # type: ignore[union-attr]
    assert berlin.contains(datetime(2021, 3, 30, 10, tzinfo=UTC))
    assert not berlin.contains(datetime(2021, 3, 31, 10, tzinfo=UTC))
    assert berlin.contains(datetime(2021, 10, 31, 10, tzinfo=UTC))  # fall back: 31 days, -1 is the 31st
    assert not berlin.contains(datetime(2021, 10, 30, 10, tzinfo=UTC))


def test_repeated_hour_at_fall_back_is_inside_both_times() -> None:
    ny = parse_time_interval({"times": [{"start_time": "01:00", "end_time": "02:00"}],
                              "location": "America/New_York"}, "t")  # fmt: skip
    assert ny.contains(datetime(2021, 11, 7, 5, 30, tzinfo=UTC))  # 01:30 EDT
    assert ny.contains(datetime(2021, 11, 7, 6, 30, tzinfo=UTC))  # 01:30 EST
    assert not ny.contains(datetime(2021, 11, 7, 7, 0, tzinfo=UTC))  # 02:00 EST


def test_skipped_hour_at_spring_forward_is_never_inside() -> None:
    ny = parse_time_interval({"times": [{"start_time": "02:00", "end_time": "03:00"}],
                              "location": "America/New_York"}, "t")  # fmt: skip
    assert not any(ny.contains(datetime(2021, 3, 14, 6, m, tzinfo=UTC)) for m in range(0, 60, 5))  # 01:xx EST
    assert not ny.contains(datetime(2021, 3, 14, 7, 0, tzinfo=UTC))  # 03:00 EDT
    assert ny.contains(datetime(2021, 3, 15, 6, 30, tzinfo=UTC))  # 02:30 EDT the next day


def test_local_location_reads_the_hosts_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        ti = parse_time_interval({"times": [{"start_time": "09:00", "end_time": "10:00"}], "location": "Local"}, "t")
        assert ti.contains(datetime(2022, 1, 3, 3, 30, tzinfo=UTC))  # 09:00 IST
        assert not ti.contains(datetime(2022, 1, 3, 9, 0, tzinfo=UTC))
        monkeypatch.setenv("TZ", "Europe/Berlin")
        time.tzset()  # the host's DST rules apply to Local too: March is one day short
        last = parse_time_interval({"days_of_month": ["-1"], "location": "Local"}, "t")
        assert last.contains(datetime(2021, 3, 30, 10, tzinfo=UTC))
        assert not last.contains(datetime(2021, 3, 31, 10, tzinfo=UTC))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


_HEAD = "route: {receiver: r}\nreceivers: [{name: r}]\n"


def test_pipeline_reads_now_as_utc_and_names_a_missing_interval() -> None:
    named = intervals_from_config(parse_config(_HEAD + "time_intervals:\n" +
        "- name: office\n  time_intervals:\n  - times: [{start_time: '09:00', end_time: '17:00'}]"))  # fmt: skip
    assert in_time_intervals(rfc822z("08 Jul 20 18:30 +0200"), named, ["office"])  # 16:30 UTC
    assert not in_time_intervals(rfc822z("08 Jul 20 08:30 +0200"), named, ["office"])
    with pytest.raises(TimeIntervalError, match="time interval night doesn't exist in config"):
        in_time_intervals(datetime(2020, 7, 8, tzinfo=UTC), named, ["night"])


@pytest.mark.parametrize(
    ("text", "reason"),
    [("- time_intervals: []", "missing name in time interval"),
     ("- name: a\n- name: a", 'time interval "a" is not unique'),
     ("- name: a\n  time_intervals: [{weekday: [monday]}]", "field weekday not found in type timeinterval.TimeInterval")],
)  # fmt: skip
def test_named_interval_errors(text: str, reason: str) -> None:
    with pytest.raises(AlertingConfigError) as e:
        parse_config(_HEAD + "time_intervals:\n" + text)
    assert e.value.detail == reason and e.value.path.startswith("time_intervals[")


def test_a_bad_interval_spec_is_an_alerting_config_error_without_a_file() -> None:
    with pytest.raises(AlertingConfigError) as e:
        parse_time_interval({"weekdays": ["friday:monday"]}, "t[0]")
    assert isinstance(e.value, TimeIntervalError) and e.value.file == "" and e.value.reason == e.value.detail
    assert str(e.value) == f"{e.value.path}: {e.value.detail}" and e.value.path.startswith("t[0].weekdays[0]")


def test_legacy_mute_time_intervals_are_read_too() -> None:
    cfg = parse_config(_HEAD + "mute_time_intervals:\n- name: weekend\n  time_intervals: [{weekdays: [saturday]}]")
    (weekend,) = intervals_from_config(cfg)["weekend"]
    assert weekend.contains(datetime(2020, 7, 11, 12, tzinfo=UTC))  # a Saturday
    assert not weekend.contains(datetime(2020, 7, 10, 12, tzinfo=UTC))


# ---- differential: the real amtool's verdict and text for the same intervals -------------

AMTOOL = shutil.which("amtool")
_CASES = [*(t for t, _ in YAML_ERRORS), *(t for t, _, _ in YAML_VALID)]


def _amtool_verdicts(tmp: Path) -> list[str]:
    files = []
    for i, text in enumerate(_CASES):
        body = "\n".join("      " + line for line in text.splitlines())
        p = tmp / f"c{i}.yml"
        p.write_text(f"route: {{receiver: r}}\nreceivers: [{{name: r}}]\ntime_intervals:\n"
                     f"  - name: x\n    time_intervals:\n{body}\n")  # fmt: skip
        files.append(str(p))
    env = {**os.environ, "TZ": "UTC"}
    out = subprocess.run([AMTOOL or "amtool", "check-config", *files], capture_output=True, text=True, env=env).stdout
    verdicts = []
    for f in files:
        line = next(ln for ln in out.splitlines() if ln.startswith(f"Checking '{f}'"))
        verdicts.append(line.split("FAILED: ", 1)[1].strip() if "FAILED: " in line else "SUCCESS")
    return verdicts


@pytest.mark.skipif(AMTOOL is None, reason="amtool (Alertmanager 0.25) is not installed")
def test_parse_verdicts_equal_amtool_check_config(tmp_path: Path) -> None:
    ours = []
    for text in _CASES:
        try:
            parse_time_intervals(yaml.safe_load(text), "t")
            ours.append("SUCCESS")
        except TimeIntervalError as e:
            ours.append(e.reason)
    assert ours == _amtool_verdicts(tmp_path)
