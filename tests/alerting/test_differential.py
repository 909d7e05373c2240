"""Differential tests of the alerting pipeline against the real Alertmanager 0.25.

Every scenario in tests/alerting/diff_scenarios is played (concurrently, each run with
its own server and capture server) twice against Alertmanager, which must give the
same notification sequence both times (the harness is deterministic), and once against
``sloguard serve --alerting.config``, which must give Alertmanager's sequence. The
sloguard half skips while ``sloguard serve`` has no ``/api/v2/status``, and runs by
itself once it has.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tests.alerting._capture import Captured
from tests.alerting._diff.normalise import Clock, Moment, differences, render, sequence, timestamp
from tests.alerting._diff.runner import Recording, play_all
from tests.alerting._diff.scenario import all_scenarios
from tests.alerting._diff.target import alerting_api_missing, alertmanager_target, sloguard_target

SCENARIOS = all_scenarios()
NAMES = [s.name for s in SCENARIOS]
AM = alertmanager_target()
needs_am = pytest.mark.skipif(AM.missing is not None, reason=AM.missing or "")


@pytest.fixture(scope="module")
def sloguard_missing() -> str | None:
    with tempfile.TemporaryDirectory(prefix="sloguard-probe-") as tmp:
        return alerting_api_missing(Path(tmp))


@pytest.fixture(scope="module")
def recordings(sloguard_missing: str | None) -> dict[str, list[Recording]]:
    """Per scenario: [alertmanager run 1, alertmanager run 2, sloguard (when it can run)]."""
    targets = [AM] if sloguard_missing else [AM, sloguard_target()]
    runs = play_all(SCENARIOS, targets, runs=2)
    out: dict[str, list[Recording]] = {}
    for per in runs:
        am = [r for r in per if r.target == AM.name]
        out[per[0].scenario] = am + [r for r in per if r.target != AM.name][:1]
    return out


@needs_am
@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_alertmanager_is_deterministic(recordings: dict[str, list[Recording]], name: str) -> None:
    first, second = recordings[name][0], recordings[name][1]
    assert first.moments, f"scenario {name} produced no notification at all:\n{render(first.moments)}"
    assert differences(first.moments, second.moments) == [], render(first.moments)


@needs_am
@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_sloguard_matches_alertmanager(
    sloguard_missing: str | None, recordings: dict[str, list[Recording]], name: str
) -> None:
    if sloguard_missing:
        pytest.skip(sloguard_missing)
    am, slo = recordings[name][0], recordings[name][2]
    diff = differences(am.moments, slo.moments)
    assert diff == [], "\n".join(diff)


# The harness' own pieces, without servers.

CLOCK = Clock(anchor_ms=1_700_000_000_000, posted_offsets_ms=frozenset({0, 2500}))


def _body(receiver: str, starts: str, ends: str = "0001-01-01T00:00:00Z") -> bytes:
    alert = {"status": "firing", "labels": {"a": "1"}, "startsAt": starts, "endsAt": ends}
    body = {"receiver": receiver, "status": "firing", "groupLabels": {"a": "1"}, "externalURL": "http://h:1",
            "alerts": [alert]}
    return json.dumps(body).encode()


def test_timestamps_are_read_as_posted_zero_or_server_time() -> None:
    assert timestamp("2023-11-14T22:13:22.500Z", CLOCK) == "+2.5s"
    assert timestamp("2023-11-14T22:13:20Z", CLOCK) == "+0s"
    assert timestamp("2023-11-14T23:13:22.5+01:00", CLOCK) == "+2.5s"
    assert timestamp("2023-11-14T22:13:22.500000001Z", CLOCK) == "<server time>"
    assert timestamp("2023-11-14T22:13:21Z", CLOCK) == "<server time>"
    assert timestamp("0001-01-01T00:00:00Z", CLOCK) == "zero"


def test_arrivals_within_a_moment_are_sorted_and_moments_keep_their_order() -> None:
    got = [Captured("/b", {}, _body("b", "2023-11-14T22:13:20Z"), 10.01),
           Captured("/a", {}, _body("a", "2023-11-14T22:13:20Z"), 10.02),
           Captured("/a", {}, _body("a", "2023-11-14T22:13:21.7Z"), 12.0)]
    moments = sequence(got, start=9.0, clock=CLOCK)
    assert [m.at for m in moments] == [1.01, 3.0]
    assert [n.receiver for n in moments[0].notifications] == ["a", "b"]
    assert '"externalURL": "<externalURL>"' in moments[0].notifications[0].body
    assert '"startsAt": "<server time>"' in moments[1].notifications[0].body


def test_differences_name_what_differs() -> None:
    base = sequence([Captured("/a", {}, _body("a", "2023-11-14T22:13:20Z"), 1.0)], 0.0, CLOCK)
    late = (Moment(base[0].at + 1.0, base[0].notifications),)
    other = sequence([Captured("/a", {}, _body("a", "2023-11-14T22:13:22.5Z"), 1.0)], 0.0, CLOCK)
    assert differences(base, base) == []
    assert "expected 1.00 s" in differences(base, late)[0]
    assert '"startsAt": "+2.5s"' in "\n".join(differences(base, other))
    assert "missing" in differences(base + base, base)[0]
