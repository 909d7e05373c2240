"""The demo service's counters only grow, and errors follow the configured share."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from sloguard.demo import DemoService


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _values(svc: DemoService) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(svc.exposition())
        for s in f.samples
    }


def test_counters_are_monotonic_over_simulated_time() -> None:
    clock = _Clock()
    svc = DemoService(clock)
    prev = _values(svc)
    for _ in range(40):
        clock.t += 37.0
        cur = _values(svc)
        for key, v in cur.items():
            if key[0].endswith(("_total", "_bucket", "_count", "_sum")):
                assert v >= prev[key], key
        prev = cur


def test_request_rate_matches_route_definition() -> None:
    clock = _Clock()
    svc = DemoService(clock)
    clock.t += 100.0
    v = _values(svc)
    ok = v[("http_requests_total", (("code", "200"), ("route", "/api/catalog")))]
    err = v[("http_requests_total", (("code", "500"), ("route", "/api/catalog")))]
    assert ok + err == 3000  # 30 rps for 100 s
    assert v[("http_request_duration_seconds_count", (("route", "/api/catalog"),))] == 3000
