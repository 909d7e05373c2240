"""The silence index gives what judging every silence one by one gives (``Silence.mutes``),
in the same order, on random silences (equality, negative, regex, literal alternatives,
empty values) and label sets; and compiles a silence's matchers once, not per alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.alerting import _silence_index
from sloguard.alerting._silence_index import SilenceIndex
from sloguard.alerting.silence_match import Silence, SilenceMatcher
from sloguard.labels import Labels

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
NAMES = st.sampled_from(["a", "b", "job"])
VALUES = st.sampled_from(["", "x", "y", "xy"])
REGEXES = st.sampled_from(["x", "x|y", "x|", "y|xy", ".*", "x.*", "(x|y)", "X|y", "", "x|y|xy", "[xy]"])
MATCHERS = st.one_of(
    st.builds(SilenceMatcher, NAMES, VALUES, st.just(False), st.booleans()),
    st.builds(SilenceMatcher, NAMES, REGEXES, st.just(True), st.booleans()),
)
WHEN = st.sampled_from([(-60, 60), (-60, 0), (0, 60), (10, 60), (-60, -10)])  # (start, end) minutes from now


@st.composite
def silences(draw: st.DrawFn) -> list[Silence]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        start, end = draw(WHEN)
        out.append(Silence(tuple(draw(st.lists(MATCHERS, min_size=1, max_size=3))), NOW + timedelta(minutes=start),
                           NOW + timedelta(minutes=end), id=f"s{i}"))
    return out


LABELS = st.dictionaries(NAMES, VALUES, max_size=3).map(Labels.from_dict)


@settings(max_examples=400, deadline=None)
@given(silences(), st.lists(LABELS, min_size=1, max_size=4))
def test_the_index_finds_exactly_the_silences_a_scan_finds(read: list[Silence], label_sets: list[Labels]) -> None:
    index = SilenceIndex()
    index.load(read)
    for labels in label_sets:
        assert index.muting(labels, NOW) == tuple(s.id for s in read if s.mutes(labels, NOW))


def test_matchers_are_compiled_once_per_silence_across_reads(monkeypatch: object) -> None:
    made: list[str] = []
    real = SilenceMatcher.to_matcher

    def counted(m: SilenceMatcher) -> object:
        made.append(m.value)
        return real(m)

    read = [Silence((SilenceMatcher("a", f"x{i}.*", is_regex=True),), NOW - timedelta(hours=1), NOW + timedelta(hours=1),
                    id=f"s{i}") for i in range(2000)]
    probes = [Labels.of(a=f"x{i}") for i in range(0, 2000, 40)]
    expected = [tuple(s.id for s in read if s.mutes(labels, NOW)) for labels in probes]  # x1.* mutes x12 too
    monkeypatch.setattr(SilenceMatcher, "to_matcher", counted)  # type: ignore[attr-defined]
    index = SilenceIndex()
    index.load(read)
    index.load(list(read))  # the next refresh reads the same silences again
    assert [index.muting(labels, NOW) for labels in probes] == expected
    assert len(made) == 2000 and expected[3][:3] == ("s1", "s12", "s120")


def test_anchored_silences_are_not_compared_with_alerts_that_lack_their_label() -> None:
    read = [Silence((SilenceMatcher("alertname", f"A{i}"), SilenceMatcher("job", ".+", is_regex=True)),
                    NOW - timedelta(hours=1), NOW + timedelta(hours=1), id=f"s{i}") for i in range(1000)]
    read.append(Silence((SilenceMatcher("job", "api|web", is_regex=True),), NOW, NOW + timedelta(hours=1), id="jobs"))
    read.append(Silence((SilenceMatcher("team", "db", is_equal=False),), NOW, NOW + timedelta(hours=1), id="not-db"))
    index = SilenceIndex()
    index.load(read)
    assert _silence_index._anchors(index._silences[0][1]) == [("alertname", "A0")]
    assert _silence_index._anchors(index._silences[1000][1]) == [("job", "api"), ("job", "web")]
    assert index._loose == [1001]  # only the negative matcher's silence is compared with every alert
    assert index.muting(Labels.of(alertname="A7", job="web"), NOW) == ("s7", "jobs", "not-db")
    assert index.muting(Labels.of(alertname="A7", team="db"), NOW) == ()
