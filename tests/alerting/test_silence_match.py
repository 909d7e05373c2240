"""Silences: Alertmanager 0.25's silence_test.go tables (as data), states and matching, and a
differential against the real Alertmanager's ``POST /api/v2/silences`` verdicts and texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sloguard.alerting.silence_match import (
    Silence,
    SilenceError,
    SilenceInvalid,
    SilenceMatcher,
    SilenceState,
    can_update,
    check_postable,
    expire,
    matches_empty,
    silencing,
    start_no_earlier_than,
    validate_matcher,
    validate_silence,
)
from sloguard.labels import Labels
from tests.alerting._am_peer import alertmanager, needs_alertmanager

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
ZERO = datetime(1, 1, 1, tzinfo=UTC)
H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)
AB = (SilenceMatcher("a", "b"),)


def sil(matchers: tuple[SilenceMatcher, ...] = AB, start: datetime = NOW, end: datetime = NOW, **kw: object) -> Silence:
    return Silence(matchers, start, end, **kw)  # type: ignore[arg-type]


# TestValidateMatcher: (name, value, is_regex, is_equal, error fragment or "")
@pytest.mark.parametrize(
    ("name", "value", "is_regex", "is_equal", "err"),
    [("a", "b", False, True, ""), ("a", "b", False, False, ""), ("a", "b", True, True, ""), ("a", "b", True, False, ""),
     ("00", "a", False, True, 'invalid label name "00"'),
     ("a", "((", True, True, 'invalid regular expression "((": error parsing regexp: missing closing ): `((`'),
     ("a", "))", True, False, 'invalid regular expression "))": error parsing regexp: unexpected ): `))`'),
     ("a", "\udcff", False, True, "invalid label value")],
)  # fmt: skip
def test_validate_matcher_like_upstream(name: str, value: str, is_regex: bool, is_equal: bool, err: str) -> None:
    m = SilenceMatcher(name, value, is_regex, is_equal)
    if not err:
        validate_matcher(m)
        return
    with pytest.raises(SilenceError) as e:
        validate_matcher(m)
    assert str(e.value).startswith(err)


# TestValidateSilence
@pytest.mark.parametrize(
    ("silence", "check_id", "err"),
    [(sil(id="some_id", updated_at=NOW), True, ""),
     (sil(updated_at=NOW), True, "silence invalid: ID missing"),
     (sil((), id="x"), True, "silence invalid: at least one matcher required"),
     (sil((SilenceMatcher("a", "b"), SilenceMatcher("00", "b"))), False,
      'silence invalid: invalid label matcher 1: invalid label name "00"'),
     (sil((SilenceMatcher("a", ""), SilenceMatcher("b", ".*", is_regex=True))), False,
      "silence invalid: at least one matcher must not match the empty string"),
     (sil(start=NOW, end=NOW - S), False, "silence invalid: end time must not be before start time"),
     (sil(start=ZERO), False, "silence invalid: invalid zero start timestamp"),
     (sil(end=ZERO), False, "silence invalid: invalid zero end timestamp"),
     (sil(updated_at=ZERO), False, "silence invalid: invalid zero update timestamp")],
)  # fmt: skip
def test_validate_silence_like_upstream(silence: Silence, check_id: bool, err: str) -> None:
    if not err:
        validate_silence(silence, check_id=check_id)
        return
    with pytest.raises(SilenceInvalid) as e:
        validate_silence(silence, check_id=check_id)
    assert str(e.value) == err


@pytest.mark.parametrize(
    ("matcher", "empty"),
    [(SilenceMatcher("a", ""), True), (SilenceMatcher("a", "b"), False), (SilenceMatcher("a", "x*", True), True),
     (SilenceMatcher("a", "b|", True), True), (SilenceMatcher("a", "b", True), False),
     # negative matchers never count as matching "" in 0.25, although they do match a missing label
     (SilenceMatcher("a", "b", False, False), False), (SilenceMatcher("a", "b", True, False), False)],
)  # fmt: skip
def test_matches_empty_follows_alertmanager(matcher: SilenceMatcher, empty: bool) -> None:
    assert matches_empty(matcher) is empty


# TestSilenceCanUpdate: (prev start, prev end, new start, new end, ok)
@pytest.mark.parametrize(
    ("a", "b", "ok"),
    [((ZERO, ZERO), (NOW, NOW - M), False),
     ((NOW - H, NOW - S), (NOW, NOW), False),
     ((NOW + H, NOW + 2 * H), (NOW - M, NOW + H), False),
     ((NOW + H, NOW + 2 * H), (NOW + M, NOW + M), True),
     ((NOW + H, NOW + 2 * H), (NOW, NOW + 2 * H), True),
     ((NOW - H, NOW + 2 * H), (NOW - M, NOW + 2 * H), False),
     ((NOW - H, NOW + 2 * H), (NOW - H, NOW - S), False),
     ((NOW - H, NOW + 2 * H), (NOW - H, NOW), True),
     ((NOW - H, NOW + 2 * H), (NOW - H, NOW + 3 * H), True)],
)  # fmt: skip
def test_can_update_like_upstream(a: tuple[datetime, datetime], b: tuple[datetime, datetime], ok: bool) -> None:
    assert can_update(sil(start=a[0], end=a[1]), sil(start=b[0], end=b[1]), NOW) is ok


def test_changed_matchers_never_update_in_place() -> None:
    prev = sil(start=NOW - H, end=NOW + H)
    assert not can_update(prev, sil((SilenceMatcher("a", "c"),), NOW - H, NOW + H), NOW)


def test_states_include_both_ends_in_the_active_period() -> None:
    s = sil(start=NOW, end=NOW + H)
    assert [s.state_at(t) for t in (NOW - S, NOW, NOW + H, NOW + H + S)] == [
        SilenceState.PENDING, SilenceState.ACTIVE, SilenceState.ACTIVE, SilenceState.EXPIRED]  # fmt: skip


def test_expire_ends_active_and_pending_silences_now() -> None:
    active, pending, done = sil(start=NOW - H, end=NOW + H), sil(start=NOW + H, end=NOW + 2 * H), sil(end=NOW - H)
    assert (expire(active, NOW).starts_at, expire(active, NOW).ends_at) == (NOW - H, NOW)
    assert (expire(pending, NOW).starts_at, expire(pending, NOW).ends_at) == (NOW, NOW)
    assert expire(done, NOW) == done
    assert expire(active, NOW).state_at(NOW + S) is SilenceState.EXPIRED
    assert start_no_earlier_than(sil(start=NOW - H, end=NOW + H), NOW).starts_at == NOW


def test_matching_is_anchored_and_reads_missing_labels_as_empty() -> None:
    s = sil((SilenceMatcher("job", "api.*", True), SilenceMatcher("env", "prod", False, False)), NOW, NOW + H)
    assert s.matches(Labels.of(job="api-1")) and s.matches({"job": "api", "env": "dev"})
    assert not s.matches({"job": "xapi"}) and not s.matches({"job": "api", "env": "prod"})
    assert s.mutes({"job": "api"}, NOW + M) and not s.mutes({"job": "api"}, NOW + 2 * H)
    assert silencing([s, sil(start=NOW + H, end=NOW + 2 * H)], {"job": "api", "a": "b"}, NOW + M) == [s]


# ---- differential: the real Alertmanager's answer to POST /api/v2/silences ---------------

_EQ = {"isRegex": False, "isEqual": True}
POSTS = [
    ([{"name": "a", "value": "b", **_EQ}], 0, 60),
    ([{"name": "a", "value": "", **_EQ}], 0, 60),
    ([{"name": "a", "value": ".*", "isRegex": True, "isEqual": True}, {"name": "b", "value": "", **_EQ}], 0, 60),
    ([{"name": "a", "value": "b", "isRegex": False, "isEqual": False}], 0, 60),
    ([{"name": "a", "value": ".*", "isRegex": True, "isEqual": False}], 0, 60),
    ([{"name": "a", "value": "b|", "isRegex": True, "isEqual": True}], 0, 60),
    ([{"name": "a", "value": "(", "isRegex": True, "isEqual": True}], 0, 60),
    ([{"name": "a", "value": "x", **_EQ}, {"name": "0bad", "value": "b", **_EQ}], 0, 60),
    ([{"name": "a", "value": "b", **_EQ}], 30, 30),
    ([{"name": "a", "value": "b", **_EQ}], 30, 10),
    ([{"name": "a", "value": "b", **_EQ}], -120, -60),
    ([{"name": "a", "value": "b", **_EQ}], -120, 60),
]


def _ours(matchers: list[dict[str, object]], start: datetime, end: datetime, now: datetime) -> str:
    s = Silence(tuple(SilenceMatcher(str(m["name"]), str(m["value"]), bool(m["isRegex"]), bool(m["isEqual"]))
                      for m in matchers), start, end, updated_at=now)  # fmt: skip
    try:
        check_postable(s, now)
        validate_silence(start_no_earlier_than(s, now))
    except SilenceError as e:
        return str(e)
    return "OK"


@needs_alertmanager
def test_silence_verdicts_equal_alertmanagers(tmp_path: Path) -> None:
    theirs, ours = [], []
    with alertmanager(tmp_path, "route: {receiver: r}\nreceivers: [{name: r}]\n") as am:
        for matchers, start_min, end_min in POSTS:
            now = datetime.now(UTC)
            start, end = now + timedelta(minutes=start_min), now + timedelta(minutes=end_min)
            body = {"matchers": matchers, "startsAt": start.isoformat(), "endsAt": end.isoformat(),
                    "createdBy": "test", "comment": "differential"}  # fmt: skip
            r = am.post("/api/v2/silences", json=body)
            theirs.append("OK" if r.status_code == 200 else f"{r.status_code} {r.json()}")
            ours.append(_ours(matchers, start, end, now) if r.status_code == 200 else
                        f"400 {_ours(matchers, start, end, now)}")  # fmt: skip
    assert ours == theirs
