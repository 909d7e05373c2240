"""The rule manager reads ahead the block data of the groups due next: a cycle of
per-service groups decodes each frame about once, and records exactly what groups
evaluated one by one without it record."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
from sloguard.rules._prefetch import static_spans
from sloguard.rules._recording import RecordingRule
from sloguard.tsdb import TSDB, BlockWriter, TSDBOptions, _blockwrite

HOUR = 3_600_000
SERVICES = 12
END = 2 * HOUR


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 1 h blocks; one service's series lie in many frames, each frame holds series
    of every service (frames of 4,096 samples); service 3 has a burst of errors."""
    path = Path(tmp_path_factory.mktemp("rules-prefetch")) / "d"
    rng = np.random.default_rng(5)
    mp = pytest.MonkeyPatch()
    mp.setattr(_blockwrite, "FRAME_SAMPLES", 4096)
    try:
        with BlockWriter(path, block_duration_ms=HOUR) as bw:
            for code in ("200", "500"):
                for inst in range(4):
                    for svc in range(SERVICES):
                        ls = Labels.of(name__="req", code=code, instance=f"i-{inst}", service=f"svc-{svc}")
                        ts = np.arange(0, END, 15_000, dtype=np.int64)
                        rate = 5.0 if (code == "500" and svc == 3) else rng.random() * 2
                        bw.add(ls, ts, np.cumsum(rng.random(len(ts)) * rate))
    finally:
        mp.undo()
    return path


def _rules(tmp: Path) -> Path:
    lines = ["groups:"]
    for svc in range(SERVICES):
        sel = f'service="svc-{svc}"'
        for tier in ("a", "b"):
            lines += [
                f"- name: svc-{svc}-{tier}", "  rules:",
                f"  - record: svc:errors:rate5m_{tier}",
                f"    expr: sum by (service) (rate(req{{{sel},code=\"500\"}}[5m]))",
                f"  - record: svc:ratio:rate1h_{tier}",
                f"    expr: sum by (service) (rate(req{{{sel},code=\"500\"}}[1h])) / sum by (service) (rate(req{{{sel}}}[1h]))",
                f"  - alert: Burn_{tier}",
                f"    expr: svc:ratio:rate1h_{tier}{{{sel}}} > 0.5",
            ]
    path = tmp / "rules.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _manager(store: Path, tmp: Path, name: str, cache: int) -> Iterator[tuple[TSDB, RuleManager]]:
    shutil.copytree(store, tmp / name)
    db = TSDB.open(tmp / name, TSDBOptions(decoded_cache_bytes=cache))
    m = RuleManager(ManagerOptions(query=engine_query_func(PromQLEngine(db)), storage=db), use_threads=False)
    m.update([str(_rules(tmp))])
    yield db, m
    db.close()


def _recorded(db: TSDB) -> dict[Labels, tuple[list[int], list[float]]]:
    batch = db.querier().select([Matcher(MatchType.REGEX, "__name__", "svc:.*|ALERTS.*")], 0, 10 * HOUR)
    out = {}
    for i, ls in enumerate(batch.labels):
        _, t, v = batch.series(i)
        out[ls] = (t.tolist(), v.tolist())
    return out


def _alerts(m: RuleManager) -> set[tuple[str, str]]:
    return {(r.name, a.labels.get("service")) for r in m.alerting_rules() for a in r.active_alerts()}


def _cycles(m: RuleManager, decodes: list[tuple[str, int]], ahead: bool) -> list[int]:
    counts = []
    for at in (END - 60_000, END):
        decodes.clear()
        for g, t in m.cycle(at):
            if ahead:
                m.evaluate(g, t)
            else:
                g.eval(t)  # one group at a time, no read-ahead
        counts.append(len(decodes))
    return counts


# A cycle's gathered series take about 1.7 MB; the frames 1.2 MB.
@pytest.mark.parametrize(("cache", "most"), [(8 << 20, [1, 0]), (1 << 20, [8, 8])])
def test_a_cycle_decodes_each_frame_about_once_and_records_the_same(
    store: Path, tmp_path: Path, decodes: list[tuple[str, int]], cache: int, most: list[int]
) -> None:
    """With half the cache holding a cycle's series, each frame is decoded once in the
    first cycle and never after; with far less, once per read-ahead (each holds the
    series of three or four services). Groups evaluated one by one with the small cache
    decode every frame once per service."""
    ahead, plain = _manager(store, tmp_path, "ahead", cache), _manager(store, tmp_path, "plain", 1 << 20)
    (db_a, m_a), (db_p, m_p) = next(ahead), next(plain)
    n_frames = sum(len(b.frames) for b in db_a.blocks)
    got_counts, plain_counts = _cycles(m_a, decodes, True), _cycles(m_p, decodes, False)
    assert got_counts[0] >= n_frames and all(c <= k * n_frames for c, k in zip(got_counts, most, strict=True))
    assert min(plain_counts) > SERVICES * n_frames // 2
    got, want = _recorded(db_a), _recorded(db_p)
    assert got == want
    assert len(got) == 2 * 2 * SERVICES  # two records per group (ALERTS are written once restored)
    alerts = _alerts(m_a)
    assert alerts == _alerts(m_p)
    assert ("Burn_a", "svc-3") in alerts and len(alerts) < 2 * SERVICES  # the burst fires, not everything
    for gen in (ahead, plain):
        next(gen, None)


def test_selectors_are_read_from_expressions_before_the_first_evaluation() -> None:
    rules = [RecordingRule("r", 'rate(x{a="1"}[5m]) / on() y offset 1m + rate(x{a="1"}[1h])')]
    spans = static_spans(rules)
    x = (Matcher.equal("a", "1"), Matcher.equal("__name__", "x"))
    assert {tuple(sorted(k, key=lambda m: m.name)): v for k, v in spans.items()} == {
        tuple(sorted(x, key=lambda m: m.name)): HOUR,
        (Matcher.equal("__name__", "y"),): 300_000 + 60_000,
    }
