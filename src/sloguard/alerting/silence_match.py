"""The silence model and its rules as in Alertmanager 0.25: validation, states, matching,
update-in-place or expire-and-replace. Pure; the one home of these rules: the durable
repository (``sloguard.state.silences``) stores this model and applies these functions.

Texts are Alertmanager's: ``validate_silence`` raises ``SilenceInvalid("silence invalid: ...")``
like ``Silences.Set``; ``check_postable`` raises the API's "Failed to create silence: ..."
messages. Regex matchers are anchored and run on RE2, as in ``sloguard.labels``.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sloguard.labels import (
    GoRegexError,
    Labels,
    Matcher,
    MatchType,
    compile_go,
    is_valid_label_name,
)

LabelSet = Mapping[str, str] | Labels


class SilenceError(ValueError):
    """A silence Alertmanager refuses; the message is Alertmanager's text."""


class SilenceInvalid(SilenceError):
    """``Silences.Set`` refused the silence: the message starts with "silence invalid: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"silence invalid: {reason}")
        self.reason = reason


class SilenceState(enum.Enum):
    """A silence's state at a time (Alertmanager's ``types.SilenceState``)."""

    EXPIRED = "expired"
    ACTIVE = "active"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class SilenceMatcher:
    """A matcher as the v2 API carries it (``name``, ``value``, ``isRegex``, ``isEqual``)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @property
    def type(self) -> MatchType:
        if self.is_regex:
            return MatchType.REGEX if self.is_equal else MatchType.NOT_REGEX
        return MatchType.EQUAL if self.is_equal else MatchType.NOT_EQUAL

    def to_matcher(self) -> Matcher:
        """The anchored label matcher (``ValueError`` for a regex RE2 refuses)."""
        return Matcher(self.type, self.name, self.value)


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence (the v2 API's fields); times are timezone-aware, ``id`` is empty until it is
    stored. ``starts_at`` and ``ends_at`` are both inside the active period (Alertmanager
    compares with before/after)."""

    matchers: tuple[SilenceMatcher, ...]
    starts_at: datetime
    ends_at: datetime
    id: str = ""
    created_by: str = ""
    comment: str = ""
    updated_at: datetime | None = None

    def state_at(self, now: datetime) -> SilenceState:
        if now < self.starts_at:
            return SilenceState.PENDING
        if now > self.ends_at:
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE

    def matches(self, labels: LabelSet) -> bool:
        """Whether every matcher holds on ``labels`` (a missing label reads as "")."""
        return all(_compiled(m).matches(labels.get(m.name, "") or "") for m in self.matchers)

    def mutes(self, labels: LabelSet, now: datetime) -> bool:
        """Active at ``now`` and matching: the silence mutes this alert."""
        return self.state_at(now) is SilenceState.ACTIVE and self.matches(labels)


@functools.lru_cache(maxsize=1024)
def _compiled(m: SilenceMatcher) -> Matcher:
    return m.to_matcher()


def validate_matcher(m: SilenceMatcher) -> None:
    """Alertmanager's ``ValidateMatcher`` (regexes compiled as written, RE2 syntax)."""
    if not is_valid_label_name(m.name):
        raise SilenceError(f'invalid label name "{m.name}"')
    if not m.is_regex:
        if not _valid_utf8(m.value):
            raise SilenceError(f'invalid label value "{m.value}"')
        return
    try:
        compile_go(m.value)
    except GoRegexError as e:
        raise SilenceError(f'invalid regular expression "{m.value}": {e}') from None


def _valid_utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def matches_empty(m: SilenceMatcher) -> bool:
    """Alertmanager's ``matchesEmpty``: only ``=""`` and regexes matching "" count; negative
    matchers never do (so ``foo!="bar"`` alone makes a valid silence, as in 0.25)."""
    if not m.is_equal:
        return False
    if not m.is_regex:
        return m.value == ""
    return compile_go(m.value).matches("")


def validate_silence(s: Silence, *, check_id: bool = False) -> None:
    """``validateSilence`` as ``Silences.Set`` runs it (after giving the silence an id and an
    update time, so ``check_id`` is off by default); raises ``SilenceInvalid``."""
    if check_id and not s.id:
        raise SilenceInvalid("ID missing")
    if not s.matchers:
        raise SilenceInvalid("at least one matcher required")
    for i, m in enumerate(s.matchers):
        try:
            validate_matcher(m)
        except SilenceError as e:
            raise SilenceInvalid(f"invalid label matcher {i}: {e}") from None
    if all(matches_empty(m) for m in s.matchers):
        raise SilenceInvalid("at least one matcher must not match the empty string")
    for t, what in ((s.starts_at, "start"), (s.ends_at, "end"), (s.updated_at, "update")):
        if t is not None and is_zero_time(t):
            raise SilenceInvalid(f"invalid zero {what} timestamp")
    if s.ends_at < s.starts_at:
        raise SilenceInvalid("end time must not be before start time")


def is_zero_time(t: datetime) -> bool:
    """Go's zero ``time.Time`` (0001-01-01T00:00:00Z), what an unset timestamp decodes to."""
    return t.replace(tzinfo=None) == datetime(1, 1, 1) and not t.utcoffset()


def check_postable(s: Silence, now: datetime) -> None:
    """The v2 API's checks before ``Set``: start strictly before end, end not in the past."""
    if s.starts_at >= s.ends_at:
        raise SilenceError("Failed to create silence: start time must be before end time")
    if s.ends_at < now:
        raise SilenceError("Failed to create silence: end time can't be in the past")


def can_update(prev: Silence, new: Silence, now: datetime) -> bool:
    """Whether ``prev`` may be changed in place to ``new`` without rewriting history;
    otherwise Alertmanager expires ``prev`` and creates a new silence."""
    if prev.matchers != new.matchers:
        return False
    state = prev.state_at(now)
    if state is SilenceState.ACTIVE:
        return int(new.starts_at.timestamp()) == int(prev.starts_at.timestamp()) and not new.ends_at < now
    if state is SilenceState.PENDING:
        return not new.starts_at < now
    return False


def start_no_earlier_than(s: Silence, now: datetime) -> Silence:
    """A new silence starting in the past starts now (``Silences.Set``)."""
    return replace(s, starts_at=now) if s.starts_at < now else s


def expire(s: Silence, now: datetime) -> Silence:
    """The silence expired at ``now``: an active one ends now, a pending one starts and ends
    now, an expired one is unchanged."""
    state = s.state_at(now)
    if state is SilenceState.ACTIVE:
        return replace(s, ends_at=now, updated_at=now)
    if state is SilenceState.PENDING:
        return replace(s, starts_at=now, ends_at=now, updated_at=now)
    return s


def silencing(silences: Sequence[Silence], labels: LabelSet, now: datetime) -> list[Silence]:
    """The silences that mute ``labels`` at ``now`` (for the API's ``silencedBy``)."""
    return [s for s in silences if s.mutes(labels, now)]
