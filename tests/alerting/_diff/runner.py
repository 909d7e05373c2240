"""Play a scenario against a target over HTTP and record the notifications it sends.

Timestamps the scenario posts are ``anchor + offset``; the anchor is half a second
before the timeline's start, so a time the server takes from its own clock when an
action arrives (at ``start + at`` plus a few milliseconds) never equals a posted one.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.alerting._capture import CaptureServer
from tests.alerting._diff.normalise import Clock, Moment, sequence
from tests.alerting._diff.scenario import Action, Scenario
from tests.alerting._diff.target import Target, running

ANCHOR_LEAD_MS = 500
#: An action finished later than this after its planned time makes the run's timing suspect.
LATE_S = 0.3
#: Servers started at once (30 starting together on 2 cores took over 30 s to be ready).
MAX_AT_ONCE = 12


@dataclass(frozen=True, slots=True)
class Recording:
    scenario: str
    target: str
    moments: tuple[Moment, ...]
    late: tuple[str, ...] = ()  # actions that finished more than LATE_S after their time


def play(scenario: Scenario, target: Target, workdir: Path) -> Recording:
    capture = CaptureServer()
    url = capture.start()
    try:
        with running(target, scenario.render_config(url), workdir) as server, \
                httpx.Client(base_url=server.url, timeout=5.0) as client:
            start = time.monotonic() + 0.2
            clock = Clock(int(time.time() * 1000) + 200 - ANCHOR_LEAD_MS, posted_offsets(scenario))
            silences: dict[str, str] = {}
            late: list[str] = []
            for action in scenario.actions:
                _sleep_until(start + action.at)
                _perform(client, action, clock, silences)
                if (lag := time.monotonic() - start - action.at) > LATE_S:
                    late.append(f"{action.kind} at {action.at:g} s finished {lag:.2f} s late")
            _sleep_until(start + scenario.duration)
    finally:
        capture.stop()
    return Recording(scenario.name, target.name, sequence(list(capture.requests), start, clock), tuple(late))


def play_all(scenarios: Sequence[Scenario], targets: Sequence[Target], runs: int = 1) -> list[list[Recording]]:
    """Every scenario against every target (a target may be listed twice) ``runs`` times,
    all at once (each run has its own server and capture server). Result: per scenario,
    its recordings in (run, target) order."""
    jobs = [(s, t) for s in scenarios for _ in range(runs) for t in targets]
    with tempfile.TemporaryDirectory(prefix="sloguard-diff-") as tmp, ThreadPoolExecutor(min(len(jobs), MAX_AT_ONCE)) as pool:
        futures = [pool.submit(play, s, t, Path(tmp) / f"{i}-{s.name}-{t.name}") for i, (s, t) in enumerate(jobs)]
        done = [f.result() for f in futures]
    per = runs * len(targets)
    return [done[i:i + per] for i in range(0, len(done), per)]


def posted_offsets(scenario: Scenario) -> frozenset[int]:
    out: set[int] = set()
    for a in scenario.actions:
        out.update(_ms(x) for p in a.alerts for x in (p.starts, p.ends) if x is not None)
    return frozenset(out)


def _perform(client: httpx.Client, action: Action, clock: Clock, silences: dict[str, str]) -> None:
    if action.kind == "post":
        body = [_alert_json(p.labels, p.annotations, p.starts, p.ends, clock) for p in action.alerts]
        _check(client.post("/api/v2/alerts", json=body), action)
    elif action.kind == "silence":
        matchers = [{"name": n, "value": v, "isRegex": r, "isEqual": e} for n, v, r, e in action.matchers]
        resp = client.post("/api/v2/silences", json={
            "matchers": matchers, "startsAt": _iso(clock, action.starts), "endsAt": _iso(clock, action.ends),
            "createdBy": "differential", "comment": action.silence_id,
        })
        _check(resp, action)
        silences[action.silence_id] = str(resp.json()["silenceID"])
    else:
        _check(client.delete(f"/api/v2/silence/{silences[action.silence_id]}"), action)


def _alert_json(labels: Any, annotations: Any, starts: float | None, ends: float | None, clock: Clock) -> dict[str, Any]:
    out: dict[str, Any] = {"labels": dict(labels), "annotations": dict(annotations)}
    if starts is not None:
        out["startsAt"] = _iso(clock, starts)
    if ends is not None:
        out["endsAt"] = _iso(clock, ends)
    return out


def _check(resp: httpx.Response, action: Action) -> None:
    if resp.status_code != 200:
        raise RuntimeError(f"{action.kind} at {action.at} s: {resp.request.method} {resp.request.url} "
                           f"answered {resp.status_code}: {resp.text}")


def _iso(clock: Clock, offset_s: float) -> str:
    ms = clock.anchor_ms + _ms(offset_s)
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
