"""``AlertingCore.judge``: an alert's silences and inhibition as of now (what the v2 API
shows), and never a mark brought back for an alert collected since it was listed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sloguard.alerting.config import parse_config
from sloguard.alerting.core import AlertingCore, CoreOptions
from sloguard.alerting.marker import AlertState
from sloguard.alerting.model import Alert
from sloguard.clock import ManualClock
from sloguard.state import Silence, SilenceMatcher, open_store
from sloguard.state.silences import from_ms

NOW = 1_700_000_000_000
MIN = 60_000
CONFIG = """route: {receiver: blackhole, group_wait: 1h}
receivers: [{name: blackhole}]
inhibit_rules: [{source_matchers: [severity=page], target_matchers: [severity=ticket], equal: [slo]}]
"""


def test_judge_marks_a_new_silence_and_inhibition_at_once_but_never_a_collected_alert(tmp_path: Path) -> None:
    async def go() -> None:
        clock = ManualClock(NOW)
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock.now_ms)
        core = AlertingCore(parse_config(CONFIG, file="<test>"), CONFIG, store, clock, CoreOptions("r0"))
        await core.start()
        try:
            page = Alert.of({"alertname": "Burn", "severity": "page", "slo": "a"}, starts_at=NOW, ends_at=NOW + 5 * MIN)
            ticket = Alert.of({"alertname": "Burn", "severity": "ticket", "slo": "a"}, starts_at=NOW, ends_at=NOW + 5 * MIN)
            short = Alert.of({"alertname": "Blip"}, starts_at=NOW, ends_at=NOW + MIN)
            core.receive([page, ticket, short])
            await clock.settle()
            sid = core.silences.set(Silence((SilenceMatcher("alertname", "Blip"),), from_ms(NOW - 1), from_ms(NOW + 60 * MIN)))
            held = {a.labels.get("severity") or "blip": a for a in core.held()}
            marks = {name: core.judge(a) for name, a in held.items()}
            assert marks["ticket"].inhibited_by == (f"{page.fingerprint:016x}",) and marks["page"].state is AlertState.ACTIVE
            assert marks["blip"].silenced_by == (sid,)
            await clock.advance(2 * MIN)  # the Blip has ended: collected, its mark forgotten
            assert core.alert_store.gc() == 1 and core.alert_store.get(short.fingerprint) is None
            assert core.judge(held["blip"]).state is AlertState.UNPROCESSED
            assert core.marker.count(AlertState.SUPPRESSED) == 1  # the ticket alone, not the collected Blip again
        finally:
            await core.stop()
            store.close()

    asyncio.run(go())
