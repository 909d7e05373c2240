"""A bundled demo target: a RED-style web service's metrics at ``/demo/metrics``.

The counters are pure functions of the time since the service started (the clock is
injected), so they only ever increase and a test can predict them exactly. The error rate
of ``/api/checkout`` swings slowly (a 10-minute wave), so burn-rate graphs have something
to show.

The service is healthy against the bundled SLOs (``examples/slos/demo.yml``: 99.5% of
requests without a 5xx per route, 99% within 250 ms): at the top of its wave checkout
fails 0.27% of requests (burn 0.54), and 0.33% of all requests are slower than 250 ms
(burn 0.33), so the budgets are spent slowly and no alert fires.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
WAVE_PERIOD_S = 600.0


@dataclass(frozen=True, slots=True)
class DemoRoute:
    """One route of the demo service: request rate, error share and latency shape.

    ``error_ratio`` is the mean share of 5xx answers; ``error_swing`` (0..1) is how far it
    swings around the mean over ``WAVE_PERIOD_S``. ``latency_cdf`` gives, per bucket of
    ``BUCKETS``, the share of requests at or under that bound.
    """

    path: str
    rps: float
    error_ratio: float
    error_swing: float
    latency_cdf: tuple[float, ...]
    mean_latency_s: float


ROUTES = (
    DemoRoute("/api/checkout", 12.0, 0.0015, 0.8, (0.35, 0.70, 0.993, 0.998, 0.9995, 0.9999), 0.09),
    DemoRoute("/api/catalog", 30.0, 0.0005, 0.0, (0.80, 0.95, 0.998, 0.9995, 0.9999, 1.0), 0.03),
    DemoRoute("/healthz", 1.0, 0.0, 0.0, (1.0, 1.0, 1.0, 1.0, 1.0, 1.0), 0.001),
)


def _errors(route: DemoRoute, t: float) -> float:
    """Integral of ``rps * error_ratio * (1 + swing*sin(2πt/P))`` from 0 to t (monotonic)."""
    w = 2 * math.pi / WAVE_PERIOD_S
    return route.rps * route.error_ratio * (t + route.error_swing * (1 - math.cos(w * t)) / w)


class DemoService:
    """Renders the demo exposition for the time elapsed since construction."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._start = clock()

    def elapsed(self) -> float:
        return max(0.0, self._clock() - self._start)

    def exposition(self) -> str:
        t = self.elapsed()
        lines = [
            "# HELP http_requests_total Requests served by the demo service.",
            "# TYPE http_requests_total counter",
        ]
        hist = [
            "# HELP http_request_duration_seconds Request latency of the demo service.",
            "# TYPE http_request_duration_seconds histogram",
        ]
        for r in ROUTES:
            total = math.floor(r.rps * t)
            errors = min(total, math.floor(_errors(r, t)))
            lines.append(f'http_requests_total{{code="200",route="{r.path}"}} {total - errors}')
            lines.append(f'http_requests_total{{code="500",route="{r.path}"}} {errors}')
            for le, share in zip(BUCKETS, r.latency_cdf, strict=True):
                hist.append(f'http_request_duration_seconds_bucket{{route="{r.path}",le="{le}"}} {math.floor(total * share)}')
            hist.append(f'http_request_duration_seconds_bucket{{route="{r.path}",le="+Inf"}} {total}')
            hist.append(f'http_request_duration_seconds_sum{{route="{r.path}"}} {total * r.mean_latency_s:.3f}')
            hist.append(f'http_request_duration_seconds_count{{route="{r.path}"}} {total}')
        gauges = [
            "# HELP demo_build_info Version of the demo service.",
            "# TYPE demo_build_info gauge",
            'demo_build_info{version="1.0.0"} 1',
        ]
        return "\n".join(lines + hist + gauges) + "\n"


def routes(service: DemoService | None = None) -> list[Route]:
    """``GET /demo/metrics`` serving ``service`` (a fresh one by default)."""
    svc = service or DemoService()

    async def metrics(request: Request) -> Response:
        return Response(svc.exposition(), media_type=CONTENT_TYPE)

    return [Route("/demo/metrics", metrics, methods=["GET"])]
