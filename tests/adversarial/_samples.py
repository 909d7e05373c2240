"""Acknowledged samples: what the server answered 204 to, read back after an attack."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sloguard.ingest.remote_write import encode_write_request

if TYPE_CHECKING:
    from tests.adversarial.conftest import Server


Series = tuple[tuple[tuple[str, str], ...], list[int], list[float]]


@dataclass
class Acked:
    """Samples the server acknowledged (204), by label set; ``verify`` reads them all back."""

    metric: str
    samples: dict[tuple[tuple[str, str], ...], dict[int, float]] = field(default_factory=dict)

    def send(self, server: Server, series: list[Series]) -> None:
        r = server.write(encode_write_request(series))
        assert r.status_code == 204, f"a valid remote write got {r.status_code}: {r.text[:300]}"
        for labels, ts, vs in series:
            self.samples.setdefault(labels, {}).update(zip(ts, vs, strict=True))

    def seed(self, server: Server, n_series: int = 20, n_samples: int = 30, tag: str = "seed") -> None:
        """``n_series`` series of ``n_samples`` samples 1 s apart, ending now."""
        now_ms = int(time.time() * 1000)
        ts = [now_ms - (n_samples - i) * 1000 for i in range(n_samples)]
        self.send(server, [
            ((("__name__", self.metric), ("batch", tag), ("i", str(k))), ts, [k * 1000.0 + j for j in range(n_samples)])
            for k in range(n_series)
        ])

    def count(self) -> int:
        return sum(len(v) for v in self.samples.values())

    def fetch(self, server: Server) -> dict[tuple[tuple[str, str], ...], dict[int, float]]:
        """What the server returns for this metric over the acknowledged time range (sorted labels)."""
        newest = max(t for s in self.samples.values() for t in s)
        oldest = min(t for s in self.samples.values() for t in s)
        window_s = (newest - oldest) // 1000 + 2
        status, body = server.query(f"{self.metric}[{window_s}s]", at=newest / 1000 + 0.001)
        assert status == 200, f"reading back {self.metric} failed with {status}: {body}"
        return {
            tuple(sorted(r["metric"].items())): {int(round(float(t) * 1000)): float(v) for t, v in r["values"]}
            for r in body["data"]["result"]
        }

    def verify(self, server: Server) -> None:
        """Every acknowledged sample is returned by a range-vector query, with its value."""
        got = self.fetch(server)
        missing = 0
        for labels, want in self.samples.items():
            have = got.get(tuple(sorted(labels)), {})
            missing += sum(1 for t, v in want.items() if have.get(t) != v)
        assert missing == 0, f"{missing} of {self.count()} acknowledged samples of {self.metric} are missing or changed"
