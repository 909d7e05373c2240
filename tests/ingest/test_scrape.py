"""Scrape loop and manager: labels, report series, staleness, honor_labels, relabeling, auth."""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.ingest.scrape import ACCEPT_HEADER, ScrapeManager, TargetHealth
from sloguard.ingest.scrape_config import GlobalConfig, ScrapeConfig
from sloguard.ingest.testing import FakeClock
from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import is_stale_nan
from sloguard.tsdb.testing import MemoryStorage

Samples = dict[Labels, list[tuple[int, float]]]
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Exporter:
    """A fake exporter behind an httpx.MockTransport; records every request."""

    def __init__(self, body: str = "", content_type: str = "text/plain; version=0.0.4") -> None:
        self.body = body
        self.content_type = content_type
        self.status = 200
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            self.status, content=self.body.encode(), headers={"Content-Type": self.content_type}
        )

    def factory(self) -> Callable[[ScrapeConfig], httpx.AsyncClient]:
        return lambda sc: httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


def dump(storage: MemoryStorage) -> Samples:
    batch = storage.querier().select([Matcher(MatchType.REGEX, "__name__", ".+")], 0, 2**62)
    out: Samples = {}
    for i in range(len(batch)):
        lset, ts, vs = batch.series(i)
        out[lset] = list(zip(ts.tolist(), vs.tolist(), strict=True))
    return out


def config(**kw: object) -> ScrapeConfig:
    base: dict[str, object] = {
        "job_name": "node",
        "scrape_interval": "15s",
        "static_configs": [{"targets": ["host1:9100"]}],
    }
    base.update(kw)
    return ScrapeConfig.model_validate(base)


async def run_scrapes(
    exporter: Exporter, sc: ScrapeConfig, bodies: list[str], clock: FakeClock | None = None
) -> tuple[MemoryStorage, ScrapeManager, list[int]]:
    """Start a manager, let it scrape once per body; return storage and scrape times (ms)."""
    clock = clock or FakeClock()
    storage = MemoryStorage()
    mgr = ScrapeManager(storage, [sc], clock=clock, http_client_factory=exporter.factory())
    await mgr.start()
    times: list[int] = []
    for body in bodies:
        exporter.body = body
        before = len(exporter.requests)
        while len(exporter.requests) == before:
            await clock.advance(1)
        times.append(mgr.loops[0].last.timestamp_ms)  # type: ignore[union-attr]
    return storage, mgr, times


def one(samples: Samples, **labels: str) -> list[tuple[int, float]]:
    want = Labels.of(**labels)
    return samples[want]


async def test_scraped_series_get_job_and_instance_and_scrape_time() -> None:
    ex = Exporter()
    storage, mgr, (t0,) = await run_scrapes(ex, config(), ['http_requests_total{code="200"} 7\n'])
    s = dump(storage)
    assert one(s, name__="http_requests_total", code="200", job="node", instance="host1:9100") == [(t0, 7.0)]
    await mgr.stop()


async def test_report_series_describe_the_scrape() -> None:
    ex = Exporter()
    body = "a 1\nb 2\nc 3\n"
    sc = config(metric_relabel_configs=[{"source_labels": ["__name__"], "regex": "c", "action": "drop"}])
    storage, mgr, (t0,) = await run_scrapes(ex, sc, [body])
    s = dump(storage)
    t = {"job": "node", "instance": "host1:9100"}
    assert one(s, name__="up", **t) == [(t0, 1.0)]
    assert one(s, name__="scrape_samples_scraped", **t) == [(t0, 3.0)]
    assert one(s, name__="scrape_samples_post_metric_relabeling", **t) == [(t0, 2.0)]
    assert one(s, name__="scrape_series_added", **t) == [(t0, 2.0)]
    assert one(s, name__="scrape_duration_seconds", **t)[0][0] == t0
    assert Labels.of(name__="c", **t) not in s
    await mgr.stop()


async def test_series_that_disappear_get_a_staleness_marker() -> None:
    ex = Exporter()
    storage, mgr, (t0, t1) = await run_scrapes(ex, config(), ["a 1\nb 1\n", "a 2\n"])
    s = dump(storage)
    b = one(s, name__="b", job="node", instance="host1:9100")
    assert b[0] == (t0, 1.0) and b[1][0] == t1 and is_stale_nan(b[1][1])
    assert one(s, name__="a", job="node", instance="host1:9100") == [(t0, 1.0), (t1, 2.0)]
    await mgr.stop()


async def test_failed_scrape_sets_up_0_and_marks_all_series_stale() -> None:
    ex = Exporter()
    clock = FakeClock()
    storage, mgr, (t0,) = await run_scrapes(ex, config(), ["a 1\n"], clock)
    ex.status = 500
    before = len(ex.requests)
    while len(ex.requests) == before:
        await clock.advance(1)
    t1 = mgr.loops[0].last.timestamp_ms  # type: ignore[union-attr]
    s = dump(storage)
    a = one(s, name__="a", job="node", instance="host1:9100")
    assert a[-1][0] == t1 and is_stale_nan(a[-1][1])
    assert one(s, name__="up", job="node", instance="host1:9100")[-1] == (t1, 0.0)
    (st,) = mgr.targets()
    assert st.health is TargetHealth.DOWN
    assert st.last_error == "server returned HTTP status 500 Internal Server Error"
    assert st.to_json()["health"] == "down"
    await mgr.stop()


async def test_parse_error_is_a_failed_scrape_with_the_line_number() -> None:
    ex = Exporter()
    storage, mgr, _ = await run_scrapes(ex, config(), ["a 1\nb{ 2\n"])
    (st,) = mgr.targets()
    assert st.health is TargetHealth.DOWN and st.last_error.startswith("line 2:")
    assert one(dump(storage), name__="up", job="node", instance="host1:9100")[0][1] == 0.0
    await mgr.stop()


async def test_conflicting_exposed_labels_become_exported_without_honor_labels() -> None:
    ex = Exporter()
    storage, mgr, _ = await run_scrapes(ex, config(), ['a{job="app",exported_job="x"} 1\n'])
    assert Labels.of(
        name__="a", job="node", instance="host1:9100", exported_job="x", exported_exported_job="app"
    ) in dump(storage)
    await mgr.stop()


async def test_honor_labels_keeps_exposed_labels() -> None:
    ex = Exporter()
    storage, mgr, _ = await run_scrapes(ex, config(honor_labels=True), ['a{job="app"} 1\n'])
    assert Labels.of(name__="a", job="app", instance="host1:9100") in dump(storage)
    await mgr.stop()


async def test_honor_timestamps_false_uses_scrape_time() -> None:
    body = "a 1 1000\n# EOF\n"
    ct = "application/openmetrics-text; version=1.0.0"
    for honor, expect in ((True, 1_000_000), (False, None)):
        ex = Exporter(content_type=ct)
        storage, mgr, (t0,) = await run_scrapes(ex, config(honor_timestamps=honor), [body])
        (ts, _), = one(dump(storage), name__="a", job="node", instance="host1:9100")
        assert ts == (expect if expect is not None else t0)
        await mgr.stop()


async def test_relabel_configs_drop_targets_and_set_labels() -> None:
    sc = config(
        static_configs=[{"targets": ["keep:1", "drop:2"], "labels": {"env": "prod"}}],
        relabel_configs=[
            {"source_labels": ["__address__"], "regex": "drop:.*", "action": "drop"},
            {"source_labels": ["__address__"], "regex": "(.*):.*", "target_label": "host"},
        ],
    )
    ex = Exporter()
    storage, mgr, _ = await run_scrapes(ex, sc, ["a 1\n"])
    assert Labels.of(name__="a", job="node", instance="keep:1", env="prod", host="keep") in dump(storage)
    (dropped,) = mgr.dropped_targets()
    assert dropped.discovered_labels.get("__address__") == "drop:2"
    active, dropped_json = mgr.targets_json()
    assert [t["labels"] for t in active] == [{"env": "prod", "host": "keep", "instance": "keep:1", "job": "node"}]
    assert active[0]["health"] == "up" and active[0]["scrapeInterval"] == "15s"
    assert dropped_json[0]["discoveredLabels"]["__address__"] == "drop:2"
    assert [str(r.url) for r in ex.requests] == ["http://keep:1/metrics"]
    await mgr.stop()


async def test_request_carries_accept_timeout_params_and_bearer_token() -> None:
    sc = config(
        scrape_timeout="5s",
        params={"module": ["if_mib"], "x": ["1"]},
        bearer_token="s3cret-token",
        static_configs=[{"targets": ["h:1"], "labels": {"__param_x": "2"}}],
    )
    ex = Exporter()
    _, mgr, _ = await run_scrapes(ex, sc, ["a 1\n"])
    req = ex.requests[0]
    assert req.headers["Accept"] == ACCEPT_HEADER
    assert req.headers["X-Prometheus-Scrape-Timeout-Seconds"] == "5"
    assert req.headers["Authorization"] == "Bearer s3cret-token"
    assert str(req.url) == "http://h:1/metrics?module=if_mib&x=2"
    await mgr.stop()


async def test_basic_auth_is_sent_and_the_password_never_printed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sc = config(basic_auth={"username": "alice", "password": "hunter2-pw"})
    ex = Exporter()
    ex.status = 401
    _, mgr, _ = await run_scrapes(ex, sc, ["a 1\n"])
    expected = base64.b64encode(b"alice:hunter2-pw").decode()
    assert ex.requests[0].headers["Authorization"] == f"Basic {expected}"
    (st,) = mgr.targets()
    text = caplog.text + repr(sc) + str(sc) + st.last_error + repr(st) + sc.model_dump_json()
    assert "hunter2-pw" not in text and expected not in text
    await mgr.stop()


async def test_sample_limit_fails_the_scrape() -> None:
    ex = Exporter()
    storage, mgr, _ = await run_scrapes(ex, config(sample_limit=1), ["a 1\nb 2\n"])
    (st,) = mgr.targets()
    assert st.health is TargetHealth.DOWN and "sample limit exceeded" in st.last_error
    assert Labels.of(name__="a", job="node", instance="host1:9100") not in dump(storage)
    await mgr.stop()


async def test_stop_marks_series_and_report_series_stale() -> None:
    ex = Exporter()
    storage, mgr, _ = await run_scrapes(ex, config(), ["a 1\n"])
    await mgr.stop()
    s = dump(storage)
    for name in ("a", "up"):
        assert is_stale_nan(one(s, name__=name, job="node", instance="host1:9100")[-1][1])


async def test_targets_scrape_at_spread_offsets_and_on_their_interval() -> None:
    sc = config(static_configs=[{"targets": [f"h{i}:1" for i in range(8)]}])
    ex = Exporter("a 1\n")
    clock = FakeClock(start=1_700_000_000.0)
    mgr = ScrapeManager(MemoryStorage(), [sc], clock=clock, http_client_factory=ex.factory())
    await mgr.start()
    await clock.advance(15)
    first = {lp.target.url: lp.last.timestamp_ms for lp in mgr.loops if lp.last}
    assert len(first) == 8 and len(set(first.values())) > 4
    await clock.advance(30)
    for lp in mgr.loops:
        assert lp.last is not None and lp.last.timestamp_ms == first[lp.target.url] + 30_000
    assert len(ex.requests) == 24
    await mgr.stop()


async def test_reload_keeps_unchanged_loops_and_stops_removed_ones() -> None:
    ex = Exporter("a 1\n")
    clock = FakeClock()
    storage = MemoryStorage()
    two = config(static_configs=[{"targets": ["h1:1", "h2:1"]}])
    mgr = ScrapeManager(storage, [two], clock=clock, http_client_factory=ex.factory())
    await mgr.start()
    await clock.advance(15)
    keep = next(lp for lp in mgr.loops if lp.target.url == "http://h1:1/metrics")
    await mgr.apply_config([config(static_configs=[{"targets": ["h1:1"]}])])
    assert mgr.loops == [keep]
    up_h2 = one(dump(storage), name__="up", job="node", instance="h2:1")
    assert is_stale_nan(up_h2[-1][1])
    before = keep.scrapes_ok
    await clock.advance(15)
    assert keep.scrapes_ok == before + 1 and keep.scrapes_failed == 0
    assert mgr.scrape_counts() == {("node", "success"): 3}  # h1 twice, h2 once before removal
    # a changed job setting restarts the job's loops with the new setting
    await mgr.apply_config([config(static_configs=[{"targets": ["h1:1"]}], metrics_path="/m")])
    (new,) = mgr.loops
    assert new is not keep and new.target.url == "http://h1:1/m"
    await clock.advance(15)
    assert new.scrapes_ok == 1
    await mgr.stop()


async def test_reload_with_changed_settings_keeps_staleness_tracking() -> None:
    ex = Exporter("a 1\nb 1\n")
    clock = FakeClock()
    storage = MemoryStorage()
    mgr = ScrapeManager(storage, [config()], clock=clock, http_client_factory=ex.factory())
    await mgr.start()
    await clock.advance(15)
    await mgr.apply_config([config(sample_limit=100)])  # same target, new loop
    ex.body = "a 2\n"
    await clock.advance(15)
    b = one(dump(storage), name__="b", job="node", instance="host1:9100")
    assert len(b) == 2 and is_stale_nan(b[1][1])
    await mgr.stop()


async def test_invalid_scheme_drops_the_target_with_a_reason() -> None:
    mgr = ScrapeManager(MemoryStorage(), [config(scheme="ftp")], clock=FakeClock(),
                        http_client_factory=Exporter().factory())
    await mgr.start()
    assert mgr.targets() == []
    (d,) = mgr.dropped_targets()
    assert d.reason == 'invalid scheme: "ftp"'
    await mgr.stop()


async def test_missing_port_is_added_from_scheme_and_timeout_defaults_from_global() -> None:
    sc = config(scheme="https", static_configs=[{"targets": ["example.org"]}], scrape_interval=None)
    mgr = ScrapeManager(MemoryStorage(), [sc], clock=FakeClock(), global_config=GlobalConfig.model_validate({"scrape_interval": "5s"}),
                        http_client_factory=Exporter().factory())
    await mgr.start()
    (st,) = mgr.targets()
    assert st.scrape_url == "https://example.org:443/metrics"
    assert st.labels.get("instance") == "example.org:443"
    assert (st.scrape_interval_ms, st.scrape_timeout_ms) == (5000, 5000)
    assert st.health is TargetHealth.UNKNOWN and st.to_json()["lastScrape"] == "0001-01-01T00:00:00Z"
    await mgr.stop()


def test_nan_sample_is_not_mistaken_for_staleness() -> None:
    assert not is_stale_nan(float("nan")) and math.isnan(float("nan"))


async def test_metric_relabeling_that_removes_the_name_fails_the_scrape() -> None:
    ex = Exporter()
    sc = config(metric_relabel_configs=[{"regex": "__name__", "action": "labeldrop"}])
    _, mgr, _ = await run_scrapes(ex, sc, ["a 1\n"])
    (st,) = mgr.targets()
    assert st.last_error == "missing metric name (__name__ label)"
    assert mgr.scrape_counts() == {("node", "failure"): 1}
    await mgr.stop()


async def test_metric_relabeling_to_an_invalid_name_fails_the_scrape() -> None:
    ex = Exporter()
    sc = config(metric_relabel_configs=[
        {"source_labels": ["__name__"], "target_label": "__name__", "replacement": "1bad"}
    ])
    _, mgr, _ = await run_scrapes(ex, sc, ["a 1\n"])
    (st,) = mgr.targets()
    assert st.last_error.startswith("invalid metric name or label names: ")
    await mgr.stop()


async def test_scrapes_land_in_the_real_tsdb_with_staleness(tmp_path: Any) -> None:
    from sloguard.tsdb import TSDB

    db = TSDB.open(tmp_path / "data")
    try:
        ex = Exporter()
        clock = FakeClock()
        mgr = ScrapeManager(db, [config()], clock=clock, http_client_factory=ex.factory())
        await mgr.start()
        times = []
        for body in ("a 1\nb 2\n", "a 3\n"):
            ex.body = body
            before = len(ex.requests)
            while len(ex.requests) == before:
                await clock.advance(1)
            times.append(mgr.loops[0].last.timestamp_ms)  # type: ignore[union-attr]
        await mgr.stop()
        batch = db.querier().select([Matcher(MatchType.EQUAL, "__name__", "b")], 0, 2**62)
        (lset, ts, vs), = [batch.series(i) for i in range(len(batch))]
        assert lset == Labels.of(name__="b", job="node", instance="host1:9100")
        assert ts.tolist() == times and vs[0] == 2.0 and is_stale_nan(float(vs[1]))
    finally:
        db.close()


async def test_target_limit_fails_every_target_of_the_job() -> None:
    ex = Exporter("a 1\n")
    sc = config(target_limit=1, static_configs=[{"targets": ["h1:1", "h2:1"]}])
    clock = FakeClock()
    mgr = ScrapeManager(MemoryStorage(), [sc], clock=clock, http_client_factory=ex.factory())
    await mgr.start()
    await clock.advance(15)
    assert ex.requests == []
    assert {st.last_error for st in mgr.targets()} == {"target_limit exceeded (number of targets: 2, limit: 1)"}
    await mgr.stop()


async def test_relabeling_can_set_a_targets_interval_and_bad_values_drop_it() -> None:
    sc = config(
        static_configs=[{"targets": ["slow:1", "bad:1"]}],
        relabel_configs=[
            {"source_labels": ["__address__"], "regex": "slow:.*", "target_label": "__scrape_interval__", "replacement": "1m"},
            {"source_labels": ["__address__"], "regex": "bad:.*", "target_label": "__scrape_timeout__", "replacement": "2m"},
        ],
    )
    mgr = ScrapeManager(MemoryStorage(), [sc], clock=FakeClock(), http_client_factory=Exporter().factory())
    await mgr.start()
    (st,) = mgr.targets()
    assert st.scrape_url == "http://slow:1/metrics" and st.scrape_interval_ms == 60_000
    (d,) = mgr.dropped_targets()
    assert d.reason == 'scrape timeout cannot be greater than scrape interval ("2m" > "15s")'
    await mgr.stop()


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=200), om=st.booleans())
def test_arbitrary_bodies_give_up_0_or_1_never_an_exception(body: bytes, om: bool) -> None:
    import asyncio

    from sloguard.ingest.scrape import ScrapeLoop, targets_from_config
    from sloguard.ingest.scrape_config import resolve

    ct = "application/openmetrics-text; version=1.0.0" if om else "text/plain; version=0.0.4"

    async def scrape() -> tuple[str | None, Samples]:
        sc = resolve(config())
        (target,), _ = targets_from_config(sc)
        client = httpx.AsyncClient(transport=httpx.MockTransport(
            lambda r: httpx.Response(200, content=body, headers={"Content-Type": ct})
        ))
        storage = MemoryStorage()
        result = await ScrapeLoop(target, sc, storage, client, FakeClock()).scrape_once()
        return result.error, dump(storage)

    error, samples = asyncio.run(scrape())
    (up,) = one(samples, name__="up", job="node", instance="host1:9100")
    assert up[1] == (1.0 if error is None else 0.0)


async def test_series_with_explicit_timestamps_are_not_marked_stale() -> None:
    ex = Exporter()
    storage, mgr, _ = await run_scrapes(ex, config(), ["a 1 1000\nb 1\n", "c 1\n"])
    s = dump(storage)
    assert one(s, name__="a", job="node", instance="host1:9100") == [(1000, 1.0)]
    assert is_stale_nan(one(s, name__="b", job="node", instance="host1:9100")[-1][1])
    await mgr.stop()


async def test_metadata_comes_from_each_targets_last_successful_scrape() -> None:
    from sloguard.api._query_status import metric_metadata

    ex = Exporter()
    first = "# HELP old_total Gone later.\n# TYPE old_total counter\nold_total 1\n"
    second = (
        "# HELP http_requests_total Requests \\\\ served.\n# TYPE http_requests_total counter\n"
        'http_requests_total{code="200"} 7\n# TYPE temp gauge\ntemp 3\nuntyped_thing 1\n'
    )
    clock = FakeClock()
    _, mgr, _ = await run_scrapes(ex, config(), [first, second], clock)
    assert sorted(mgr.metadata()) == [
        ("http_requests_total", "counter", "Requests \\ served.", ""),
        ("temp", "gauge", "", ""),
    ]
    ex.status = 500  # a failed scrape keeps what the last good one said
    before = len(ex.requests)
    while len(ex.requests) == before:
        await clock.advance(1)
    assert metric_metadata(mgr.metadata(), "temp", -1) == {"temp": [{"type": "gauge", "help": "", "unit": ""}]}
    await mgr.stop()


async def test_openmetrics_unit_is_in_the_metadata() -> None:
    ex = Exporter(content_type="application/openmetrics-text; version=1.0.0; charset=utf-8")
    body = "# TYPE req_seconds summary\n# UNIT req_seconds seconds\n# HELP req_seconds Latency.\nreq_seconds_count 1\n# EOF\n"
    _, mgr, _ = await run_scrapes(ex, config(), [body])
    assert mgr.metadata() == [("req_seconds", "summary", "Latency.", "seconds")]
    await mgr.stop()
