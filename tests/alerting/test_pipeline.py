"""build_pipeline end to end on one replica: webhook bodies through a mock transport, dedup
across flushes, send_resolved, silences and marks, templates, the log receiver, failures
and deadlines, the counters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloguard.alerting.marker import AlertState, Marker
from sloguard.alerting.model import Alert
from sloguard.alerting.notify_template import TemplateError
from sloguard.clock import ManualClock
from sloguard.state import NflogReceiver, Silence, SilenceMatcher, SqlStateStore
from sloguard.state.silences import from_ms
from tests.alerting._pipekit import Capture, flush, pipeline
from tests.alerting._stagekit import GROUP_KEY, HOUR, MIN, T0, alert, sqlite_store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> Iterator[SqlStateStore]:
    with sqlite_store(tmp_path, clock) as s:
        yield s


def test_a_group_is_notified_once_until_it_changes(store: SqlStateStore, clock: ManualClock) -> None:
    cap = Capture()
    notify = pipeline(store, clock, cap.client())
    a, b = alert("a"), alert("b")
    assert asyncio.run(notify(flush(T0), [a, b]))
    assert sorted(cap.paths()) == ["/quiet", "/team"]
    body = cap.bodies("/team")[0]
    assert (body["receiver"], body["status"], body["groupKey"]) == ("team", "firing", GROUP_KEY)
    assert [x["fingerprint"] for x in body["alerts"]] == [a.fingerprint_hex, b.fingerprint_hex]
    assert asyncio.run(notify(flush(T0 + 5 * MIN), [a, b]))
    assert len(cap.seen) == 2  # nothing new: deduplicated
    gone = alert("b", ends_at=T0 + 6 * MIN)
    assert asyncio.run(notify(flush(T0 + 10 * MIN), [a, gone]))
    assert cap.paths()[2:] == ["/team"]  # a resolved alert goes only where send_resolved is on
    assert [x["status"] for x in cap.bodies("/team")[1]["alerts"]] == ["firing", "resolved"]


def test_all_resolved_is_sent_once_and_logged_for_quiet_integrations(store: SqlStateStore, clock: ManualClock) -> None:
    cap = Capture()
    notify = pipeline(store, clock, cap.client())
    asyncio.run(notify(flush(T0), [alert("a")]))
    asyncio.run(notify(flush(T0 + 5 * MIN), [alert("a", ends_at=T0 + MIN)]))
    asyncio.run(notify(flush(T0 + 10 * MIN), [alert("a", ends_at=T0 + MIN)]))
    assert cap.paths() == ["/team", "/quiet", "/team"] or cap.paths() == ["/quiet", "/team", "/team"]
    assert cap.bodies("/team")[1]["status"] == "resolved"
    quiet = store.nflog.query(NflogReceiver("team", "webhook", 1), GROUP_KEY)
    assert quiet is not None and quiet.firing == () and len(quiet.resolved) == 1


def test_a_silence_in_the_store_mutes_and_marks(store: SqlStateStore, clock: ManualClock) -> None:
    sid = store.silences.set(Silence((SilenceMatcher("instance", "a"),), from_ms(T0 - 1), from_ms(T0 + HOUR)))
    cap, marker = Capture(), Marker()
    notify = pipeline(store, clock, cap.client(), marker=marker)
    a, b = alert("a"), alert("b")
    assert asyncio.run(notify(flush(T0), [a]))
    assert cap.seen == []
    assert marker.status(a.fingerprint).silenced_by == (sid,)
    asyncio.run(notify(flush(T0 + MIN), [a, b]))
    assert [[x["labels"]["instance"] for x in body["alerts"]] for body in cap.bodies("/team")] == [["b"]]
    assert marker.status(b.fingerprint).state is AlertState.ACTIVE


INHIBIT = """
route: {receiver: team, group_by: [alertname]}
receivers: [{name: team, webhook_configs: [{url: http://hook.test/team}]}]
inhibit_rules: [{source_matchers: [severity="page"], target_matchers: [severity="ticket"]}]
"""


def test_inhibited_alerts_are_not_sent(store: SqlStateStore, clock: ManualClock) -> None:
    page, ticket = alert("p", severity="page"), alert("t", severity="ticket")
    cap, marker = Capture(), Marker()
    notify = pipeline(store, clock, cap.client(), config=INHIBIT, marker=marker, firing=[page, ticket])
    asyncio.run(notify(flush(T0), [ticket]))
    assert cap.seen == []
    assert marker.status(ticket.fingerprint).inhibited_by == (page.fingerprint_hex,)


def test_a_refused_notification_is_not_logged_and_is_sent_again(store: SqlStateStore, clock: ManualClock) -> None:
    cap = Capture(codes={"/team": 400})
    notify = pipeline(store, clock, cap.client())
    assert not asyncio.run(notify(flush(T0), [alert("a")]))
    assert store.nflog.query(NflogReceiver("team", "webhook", 0), GROUP_KEY) is None
    assert store.nflog.query(NflogReceiver("team", "webhook", 1), GROUP_KEY) is not None  # the other one took it
    cap.codes.clear()
    assert asyncio.run(notify(flush(T0 + 5 * MIN), [alert("a")]))
    assert cap.paths().count("/team") == 2 and cap.paths().count("/quiet") == 1
    stats = notify.stats.integration("webhook")
    assert (stats.notifications, stats.notifications_failed, stats.requests, stats.requests_failed) == (3, 1, 3, 1)


def test_retries_stop_at_the_group_interval_by_default(store: SqlStateStore, clock: ManualClock) -> None:
    cap = Capture(codes={"/other": 503})
    notify = pipeline(store, clock, cap.client())

    async def run() -> bool:
        task = asyncio.ensure_future(notify(flush(T0, receiver="other", group_interval_ms=MIN), [alert("a")]))
        while not task.done():
            await clock.advance(100)
        return await task

    assert not asyncio.run(run())
    assert clock.now_ms() <= T0 + MIN + 100  # gave up by the deadline: group_interval (1 min) after the flush
    assert len(cap.seen) == 7  # attempts at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; the next (63.5 s) is too late


def test_a_hung_webhook_does_not_hold_its_sibling(store: SqlStateStore, clock: ManualClock) -> None:
    cap = Capture(hang={"/team"})
    notify = pipeline(store, clock, cap.client(), notify_timeout_s=2)

    async def run() -> bool:
        task = asyncio.ensure_future(notify(flush(T0), [alert("a")]))
        await clock.settle()
        assert sorted(cap.paths()) == ["/quiet", "/team"] and not task.done()
        assert store.nflog.query(NflogReceiver("team", "webhook", 1), GROUP_KEY) is not None
        while not task.done():
            await clock.advance(1000)
        return await task

    assert not asyncio.run(run())
    assert clock.now_ms() <= T0 + 5 * MIN


def test_an_unknown_receiver_fails_the_flush(store: SqlStateStore, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    notify = pipeline(store, clock, Capture().client())
    with caplog.at_level(logging.ERROR, "sloguard.alerting"):
        assert not asyncio.run(notify(flush(T0, receiver="ghost"), [alert("a")]))
    assert "names the receiver 'ghost'" in caplog.records[-1].err  # type: ignore[attr-defined]


DEFAULT = "route: {receiver: default}\nreceivers: [{name: default}]\n"


def test_log_receivers_write_each_notification_to_the_log(
    store: SqlStateStore, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    notify = pipeline(store, clock, Capture().client(), config=DEFAULT, log_receivers=frozenset({"default"}))
    with caplog.at_level(logging.INFO, "sloguard.alerting"):
        assert asyncio.run(notify(flush(T0, receiver="default"), [alert("a"), alert("b", ends_at=T0)]))
        assert asyncio.run(notify(flush(T0 + MIN, receiver="default"), [alert("a"), alert("b", ends_at=T0)]))
    notes = [r for r in caplog.records if r.getMessage() == "notification"]
    assert len(notes) == 1  # the second flush said nothing new
    r = notes[0]
    assert (r.receiver, r.group, r.firing, r.resolved, r.alertnames) == (  # type: ignore[attr-defined]
        "default", '{alertname="Down"}', 1, 1, "Down")


def test_templates_from_the_config_are_used(tmp_path: Path, store: SqlStateStore, clock: ManualClock) -> None:
    (tmp_path / "my.tmpl").write_text('{{ define "my.title" }}[{{ .Status | toUpper }}] {{ .GroupLabels.alertname }}{{ end }}')
    config = f"""
route: {{receiver: chat}}
receivers: [{{name: chat, slack_configs: [{{api_url: http://hook.test/slack, channel: '#x', title: '{{{{ template "my.title" . }}}}'}}]}}]
templates: ['{tmp_path}/*.tmpl']
"""
    cap = Capture()
    assert asyncio.run(pipeline(store, clock, cap.client(), config=config)(flush(T0, receiver="chat"), [alert("a")]))
    assert cap.bodies("/slack")[0]["attachments"][0]["title"] == "[FIRING] Down"
    (tmp_path / "my.tmpl").write_text('{{ define "broken" }}{{ end }}{{ end }}')
    with pytest.raises(TemplateError, match="my.tmpl"):
        pipeline(store, clock, cap.client(), config=config)


def test_a_stage_that_breaks_fails_the_flush_without_raising(
    store: SqlStateStore, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> list[Alert]:
        raise RuntimeError("the alert store is broken")

    notify = pipeline(store, clock, Capture().client(), config=INHIBIT)
    notify.stage.receivers["team"].stages[0].muter._firing = broken  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, "sloguard.alerting"):
        assert not asyncio.run(notify(flush(T0), [alert("t", severity="ticket")]))
    assert "the alert store is broken" in caplog.text
