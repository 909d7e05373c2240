"""``WriteStorage.apply`` (a reload's ``remote_write``): unchanged queues keep running, new
ones start at the WAL's end, changed ones resume from their stored position (nothing lost),
removed ones stop and forget their position; a config that cannot be applied keeps the
running queues."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloguard.clock import SystemClock
from sloguard.labels import Labels
from sloguard.remote.write import (
    RemoteWriteConfig,
    SendResponse,
    WriteConfigError,
    WriteStorage,
    load_position,
)
from sloguard.tsdb import TSDB
from tests.remote._wfake import FakeReceiver, sync, until

FAST = {"batch_send_deadline": "20ms", "min_backoff": "5ms", "max_backoff": "20ms", "max_samples_per_send": 50}


def _cfg(name: str, **kw: object) -> RemoteWriteConfig:
    doc: dict[str, object] = {"url": f"http://{name}/api/v1/write", "name": name, "queue_config": dict(FAST)}
    doc.update(kw)
    return RemoteWriteConfig.model_validate(doc)


class Receivers:
    """One fake receiver per queue name; a name in ``broken`` cannot get a client."""

    def __init__(self) -> None:
        self.rx: dict[str, FakeReceiver] = {}
        self.broken: set[str] = set()

    def __call__(self, cfg: RemoteWriteConfig) -> FakeReceiver:
        if cfg.queue_name in self.broken:
            raise ValueError("unable to use the tls_config files (ca_file '/nope')")
        return self.rx.setdefault(cfg.queue_name, FakeReceiver())


def _write(db: TSDB, batch: int, n: int = 10) -> set[tuple[str, int]]:
    app = db.appender()
    for i in range(n):
        app.append(Labels.of(__name__="m", i=str(i)), batch * 1000, float(batch))
    app.commit()
    return {(str(i), batch * 1000) for i in range(n)}


def _got(rx: FakeReceiver) -> set[tuple[str, int]]:
    return {(dict(k)["i"], t) for k, v in rx.stored.items() for t, _ in v}


def _storage(tmp: Path, rxs: Receivers, *cfgs: RemoteWriteConfig) -> WriteStorage:
    return WriteStorage(list(cfgs), tmp / "wal", tmp / "rw", clock=SystemClock(), transport=rxs, poll_ms=2)


@sync
async def test_adding_changing_and_removing_queues_loses_nothing(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    rxs = Receivers()
    ws = _storage(tmp_path, rxs, _cfg("a"))
    await ws.start()
    a = ws.queues[0]
    want = _write(db, 1)
    await until(lambda: _got(rxs.rx["a"]) == want, "batch 1 at a")

    # add b: a keeps running (the same queue), b starts at the WAL's end
    assert await ws.apply([_cfg("a"), _cfg("b")]) == ["kept a", "started b"]
    assert ws.queues[0] is a
    b2 = _write(db, 2)
    want |= b2
    await until(lambda: _got(rxs.rx["a"]) == want and _got(rxs.rx["b"]) == b2, "batch 2 at a and b")

    # a's receiver is down while batch 3 is written; then a's relabelling changes: the
    # restarted queue resumes from its stored position and sends batch 3 too (relabelled)
    rxs.rx["a"].default = SendResponse(503, error="down")
    want |= (b3 := _write(db, 3))
    await until(lambda: a.metrics.samples_retried_total > 0, "a retrying batch 3")
    before = load_position(tmp_path / "rw", "a")
    relabel = [{"target_label": "rl", "replacement": "2", "action": "replace"}]
    assert await ws.apply([_cfg("a", write_relabel_configs=relabel), _cfg("b")]) == ["kept b", "restarted a"]
    assert ws.queues[0] is not a and load_position(tmp_path / "rw", "a") == before  # unacked: not moved on
    rxs.rx["a"].default = SendResponse(200)
    want |= (b4 := _write(db, 4))
    await until(lambda: _got(rxs.rx["a"]) == want, "batches 1-4 at a")
    relabelled = {(dict(k)["i"], t) for k, v in rxs.rx["a"].stored.items() if dict(k).get("rl") == "2" for t, _ in v}
    assert b3 | b4 <= relabelled and not (relabelled & b2)

    # remove b: it stops, its position is forgotten, batch 5 reaches a only
    assert await ws.apply([_cfg("a", write_relabel_configs=relabel)]) == ["kept a", "stopped b"]
    assert load_position(tmp_path / "rw", "b") is None and [q.name for q in ws.queues] == ["a"]
    want |= (b5 := _write(db, 5))
    await until(lambda: _got(rxs.rx["a"]) == want, "batch 5 at a")
    assert not (_got(rxs.rx["b"]) & b5) and _got(rxs.rx["b"]) == b2 | b3 | b4
    await ws.stop()
    db.close()


@sync
async def test_a_config_that_cannot_be_applied_keeps_the_running_queues(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    rxs = Receivers()
    ws = _storage(tmp_path, rxs, _cfg("a"))
    await ws.start()
    a = ws.queues[0]
    rxs.broken.add("c")
    with pytest.raises(WriteConfigError, match=r"remote_write c \(http://c/api/v1/write\): unable to use the tls_config"):
        await ws.apply([_cfg("a", remote_timeout="5s"), _cfg("c")])  # a would restart: it must not
    assert ws.queues == [a] and "c" not in rxs.rx
    with pytest.raises(WriteConfigError, match="name 'a' is used by both"):
        await ws.apply([_cfg("a"), RemoteWriteConfig.model_validate({"url": "http://other/w", "name": "a"})])
    want = _write(db, 1)
    await until(lambda: _got(rxs.rx["a"]) == want, "a still sending")
    await ws.stop()
    db.close()


@sync
async def test_changed_external_labels_restart_every_queue(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    rxs = Receivers()
    ws = _storage(tmp_path, rxs, _cfg("a"))
    await ws.start()
    assert await ws.apply([_cfg("a")]) == ["kept a"]
    assert await ws.apply([_cfg("a")], Labels.of(cluster="eu")) == ["restarted a"]
    _write(db, 1)
    await until(lambda: rxs.rx["a"].samples() == 10, "batch 1")
    assert all(dict(k)["cluster"] == "eu" for k in rxs.rx["a"].stored)
    await ws.stop()
    db.close()
