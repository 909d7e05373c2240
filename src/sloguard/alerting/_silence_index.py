"""The silences read last, made ready to judge many alerts quickly.

Judging every alert against every silence, each regex compiled again once a small cache
overflowed, took 15 ms an alert with 3,000 silences: ``GET /api/v2/alerts`` of 1,000 alerts
held the event loop for 15 s. Here each silence's matchers are compiled once (kept by the
matchers themselves, which a silence's id never changes), and a silence with a positive
literal matcher (``name="v"`` or ``name=~"a|b"``) is found through that label: an alert is
compared only with the silences that could match it, and with those that have no such
matcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sloguard.alerting.silence_match import Silence, SilenceMatcher
from sloguard.labels import Labels, Matcher, MatchType

Compiled = tuple[tuple[str, Matcher], ...]


class SilenceIndex:
    """The silences of one read: :meth:`muting` gives the ids of those muting a label set,
    in the order of the read (as a scan of them all would)."""

    __slots__ = ("_anchored", "_compiled", "_loose", "_silences")

    def __init__(self) -> None:
        self._silences: list[tuple[Silence, Compiled]] = []
        self._compiled: dict[tuple[SilenceMatcher, ...], Compiled] = {}
        self._anchored: dict[tuple[str, str], list[int]] = {}
        self._loose: list[int] = []

    def __len__(self) -> int:
        return len(self._silences)

    def load(self, silences: Sequence[Silence]) -> None:
        """Index ``silences``; matchers compiled for the last read are reused."""
        known: dict[tuple[SilenceMatcher, ...], Compiled] = self._compiled
        compiled: dict[tuple[SilenceMatcher, ...], Compiled] = {}
        entries: list[tuple[Silence, Compiled]] = []
        anchored: dict[tuple[str, str], list[int]] = {}
        loose: list[int] = []
        for i, s in enumerate(silences):
            c = compiled.get(s.matchers) or known.get(s.matchers) or tuple((m.name, m.to_matcher()) for m in s.matchers)
            compiled[s.matchers] = c
            entries.append((s, c))
            keys = _anchors(c)
            if keys is None:
                loose.append(i)
            for key in keys or ():
                anchored.setdefault(key, []).append(i)
        self._silences, self._compiled, self._anchored, self._loose = entries, compiled, anchored, loose

    def muting(self, labels: Labels, now: datetime) -> tuple[str, ...]:
        """The ids of the silences active at ``now`` whose matchers all hold on ``labels``
        (a missing label reads as "")."""
        if not self._silences:
            return ()
        found = [i for pair in labels for i in self._anchored.get(pair, ())]
        candidates = sorted({*found, *self._loose}) if found else self._loose
        values = dict(labels)
        ids = []
        for i in candidates:
            s, compiled = self._silences[i]
            if not (now < s.starts_at or now > s.ends_at) and all(
                    m.matches(values.get(name, "")) for name, m in compiled):
                ids.append(s.id)
        return tuple(ids)


def _anchors(compiled: Compiled) -> list[tuple[str, str]] | None:
    """The (name, value) pairs one of which a label set must hold to match: those of the
    first positive matcher that names literal values, none of them empty (None: no such
    matcher; the silence is compared with every label set)."""
    for name, m in compiled:
        if m.type is MatchType.EQUAL and m.value != "":
            return [(name, m.value)]
        if m.type is MatchType.REGEX:
            values = m.literal_alternatives
            if values and "" not in values:
                return [(name, v) for v in values]
    return None
