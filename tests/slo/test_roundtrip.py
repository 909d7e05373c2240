"""Property: converting an SLO A -> B -> A, for every ordered pair of formats, keeps every field
except those a warning names, and every warning names a field that really changed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloguard.slo._yaml import dump_yaml
from sloguard.slo.convert import differences, lossy, read_back
from sloguard.slo.loader import SpecFormat, dump
from sloguard.slo.model import (
    SLI,
    SLO,
    Alerting,
    AlertTier,
    AvailabilitySLI,
    BudgetingMethod,
    BurnWindow,
    CalendarUnit,
    EventsSLI,
    LatencySLI,
    Period,
    RatioSLI,
    RawSLI,
    clean_ratio,
    workbook_tiers,
)

H, M, D = 3_600_000, 60_000, 86_400_000
W = "{{.window}}"
FORMATS = [f for f in SpecFormat if f is not SpecFormat.PYRRA]  # Pyrra's round trip: test_pyrra.py

names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
label_names = st.sampled_from(["team", "owner", "category", "env", "routing", "tier"])
label_values = st.text("abcxyz019-_ ", min_size=1, max_size=8).filter(lambda v: v.strip() == v)
label_sets = st.dictionaries(label_names, label_values, max_size=3).map(lambda d: tuple(d.items()))
texts = st.text("abcXYZ 019.,:%-'\"#{}", max_size=24).map(str.strip)
selectors = st.sampled_from(["http_requests_total", 'http_requests_total{code=~"5.."}', 'errors_total{job="api"}',
                             'requests_total{job="api", route!=""}'])
objectives = st.integers(1, 5).flatmap(lambda k: st.integers(1, 10**k - 1).map(lambda n: clean_ratio(n / 10**k)))
periods = st.sampled_from([
    Period(), Period(rolling_ms=28 * D), Period(rolling_ms=7 * D), Period(rolling_ms=90 * M),
    Period(rolling_ms=None, calendar=CalendarUnit.WEEK, timezone="America/New_York"),
    Period(rolling_ms=None, calendar=CalendarUnit.MONTH, timezone="UTC"),
])


def _agg(grouping: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(grouping)})" if grouping else "sum"


def slis(grouping: tuple[str, ...]) -> st.SearchStrategy[SLI]:
    agg = _agg(grouping)
    rate = selectors.map(lambda s: f"{agg}(rate({s}[{W}]))")
    return st.one_of(
        st.builds(RatioSLI, total=selectors, bad=selectors).filter(lambda s: s.total != s.bad),
        st.builds(lambda t, g: RatioSLI(total=t, good=g), selectors, selectors).filter(lambda s: s.total != s.good),
        st.builds(EventsSLI, error_query=rate, total_query=rate).filter(lambda s: s.error_query != s.total_query),
        st.just(EventsSLI(f"sum(increase(errors_total[{W}])) / 60", f"sum(rate(requests_total[{W}]))")),
        st.builds(lambda g, t: RawSLI(f"1 - ({agg}(rate({g}[{W}])) / {agg}(rate({t}[{W}])))"), selectors, selectors),
        st.sampled_from([RawSLI("slo:error_ratio:gauge"), RawSLI(f"avg_over_time(slo:error_ratio:gauge[{W}])")]),
        st.builds(LatencySLI, metric=st.just("http_request_duration_seconds"), threshold=st.sampled_from([0.25, 1.0]),
                  selector=st.sampled_from(["", 'job="api"']), buckets=st.sampled_from([(), (0.1, 0.25, 1.0)])),
        st.just(LatencySLI("rpc_seconds", 0.3, buckets=(0.1, 0.25, 0.5), estimate=True)),
        st.sampled_from([AvailabilitySLI('up{job="api"}'), AvailabilitySLI('probe_success{target="x"}')]),
    )


@st.composite
def tiers(draw: st.DrawFn, period: Period) -> tuple[AlertTier, ...]:
    out = []
    extra_windows = (BurnWindow(2 * H, 10 * M, 5.0), BurnWindow(4 * H, 7 * M, 2.5))
    for base in workbook_tiers(period.nominal_ms):
        extra = draw(st.dictionaries(st.sampled_from(["severity", "team", "routing"]), label_values, max_size=2))
        windows = draw(st.sampled_from([base.windows, base.windows, extra_windows[:1], extra_windows]))
        out.append(AlertTier(
            base.name, windows, enabled=draw(st.booleans()), for_ms=draw(st.sampled_from([0, 0, 2 * M, 90_000])),
            labels=base.labels + tuple(extra.items()), annotations=draw(label_sets),
        ))
    if draw(st.integers(0, 5)) == 0:
        out.append(AlertTier("warn", (BurnWindow(D, 2 * H, 2.0),), labels=(("severity", "warn"),)))
    return tuple(out)


@st.composite
def slos(draw: st.DrawFn) -> SLO:
    name = draw(names)
    grouping = draw(st.sampled_from([(), ("route",), ("route", "instance")]))
    period = draw(periods)
    timeslices = draw(st.booleans())
    return SLO(
        name=name, service=draw(names), objective=draw(objectives), sli=draw(slis(grouping)), period=period,
        budgeting=BudgetingMethod.TIMESLICES if timeslices else BudgetingMethod.OCCURRENCES,
        timeslice_target=draw(st.sampled_from([0.9, 0.95, 0.999])) if timeslices else None,
        timeslice_ms=draw(st.sampled_from([M, 5 * M, 90_000])) if timeslices else None,
        description=draw(texts), grouping=grouping, labels=draw(label_sets),
        alerting=Alerting(
            name=draw(st.sampled_from(["", name, "CheckoutBudgetBurn"])), tiers=draw(tiers(period)),
            labels=draw(label_sets), annotations=draw(label_sets),
            runbook=draw(st.sampled_from(["", "https://example.org/runbooks/x"])),
            min_events=draw(st.sampled_from([0, 100])), no_data_for_ms=draw(st.sampled_from([None, 10 * M, 5 * M])),
        ),
    )


def _leg(slo: SLO, fmt: SpecFormat) -> tuple[SLO, set[str]]:
    """``slo`` written as ``fmt`` and read back; the losses named must be exactly what changed."""
    losses = lossy(slo, fmt)
    back, problems = read_back(dump_yaml(dump([slo], fmt)), fmt)
    assert problems == [], (fmt, problems)
    assert [s.name for s in back] == [slo.name]
    named = {loss.field for loss in losses if not loss.portable}
    changed = set(differences(slo, back[0]))
    assert changed == named, (fmt.value, "changed without a warning:", changed - named, "warned, unchanged:", named - changed)
    assert all(loss.field.startswith("sli.") and "sli" not in changed for loss in losses if loss.portable)
    return back[0], named


def _two_tiers(slo: SLO) -> bool:
    return sorted(t.name for t in slo.alerting.tiers) == ["page", "ticket"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slo=slos(), a=st.sampled_from(FORMATS))
def test_every_pair_of_formats_round_trips_or_names_the_loss(slo: SLO, a: SpecFormat) -> None:
    in_a, _ = _leg(slo, a)  # the SLO as format A says it
    for b in FORMATS:
        if b is a:
            continue
        in_b, lost_ab = _leg(in_a, b)
        back, lost_ba = _leg(in_b, a)
        assert set(differences(in_a, back)) <= lost_ab | lost_ba
        # native and OpenSLO carry every field any format reads (native: page and ticket tiers only)
        if b is not SpecFormat.SLOTH and _two_tiers(in_a):
            assert lost_ab == set(), (a.value, b.value)
        if a is not SpecFormat.SLOTH and _two_tiers(in_b):
            assert lost_ba == set(), (b.value, a.value)
