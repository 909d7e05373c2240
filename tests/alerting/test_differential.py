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
from tests.alerting._diff.target import (
    Target,
    alerting_api_missing,
    alertmanager_target,
    sloguard_target,
    status_missing,
)

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
    """Per scenario: [alertmanager run 1, alertmanager run 2, sloguard (when it can run)],
    all played at once."""
    targets = [AM, AM] if sloguard_missing else [AM, AM, sloguard_target()]
    return {per[0].scenario: per for per in play_all(SCENARIOS, targets)}


def _compare(name: str, first: Recording, second: Recording, targets: list[Target]) -> None:
    """Assert ``first`` and ``second`` give the same sequence. Timing on a loaded machine
    can still push an event past a timer despite the 1 s margins, so a difference is only
    reported when a fresh replay of the scenario (alone) shows it again."""
    diff = differences(first.moments, second.moments)
    if not diff:
        return
    replay = play_all([s for s in SCENARIOS if s.name == name], targets)[0]
    again = differences(replay[0].moments, replay[1].moments)
    late = [f"{r.target}: {x}" for r in (first, second, *replay) for x in r.late]
    assert again == [], (f"{first.target} vs {second.target} in scenario {name}, twice:\n" + "\n".join(again)
                         + "\nfirst time:\n" + "\n".join(diff) + "\nlate actions: " + ("; ".join(late) or "none"))


@needs_am
@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_alertmanager_is_deterministic(recordings: dict[str, list[Recording]], name: str) -> None:
    first, second = recordings[name][0], recordings[name][1]
    assert first.moments, f"scenario {name} produced no notification at all:\n{render(first.moments)}"
    _compare(name, first, second, [AM, AM])


@needs_am
@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_sloguard_matches_alertmanager(
    sloguard_missing: str | None, recordings: dict[str, list[Recording]], name: str
) -> None:
    if sloguard_missing:
        pytest.skip(sloguard_missing)
    _compare(name, recordings[name][0], recordings[name][2], [AM, sloguard_target()])


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


def test_the_sloguard_target_is_serve_with_the_alertmanager_config(tmp_path: Path) -> None:
    argv = sloguard_target("postgresql://u@h/db").command(tmp_path / "am.yml", 9093, tmp_path / "data")
    assert argv[1:4] == ["-m", "sloguard.cli", "serve"]
    flags = dict(zip(argv[4::2], argv[5::2], strict=True))
    assert flags["--alerting.config"] == str(tmp_path / "am.yml")
    assert flags["--web.listen-address"] == "127.0.0.1:9093"
    assert flags["--storage.tsdb.path"] == str(tmp_path / "data")
    assert flags["--state.url"] == "postgresql://u@h/db"
    assert (tmp_path / "sloguard-server.yml").read_text() == Path(flags["--config.file"]).read_text()
    assert "--alerting.config" not in sloguard_target(alerting=False).command(tmp_path / "x", 1, tmp_path)


@needs_am
@pytest.mark.peer
def test_the_skip_lifts_once_a_server_answers_api_v2_status(tmp_path: Path) -> None:
    config = "route: {receiver: r}\nreceivers: [{name: r}]\n"
    assert status_missing(AM, config, tmp_path) is None
