from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sloguard.labels import Labels, Matcher
from sloguard.tsdb import TSDB, SeriesBatch, TSDBOptions

OpenDB = Callable[..., TSDB]


@pytest.fixture
def open_db(tmp_path: Path) -> Iterator[OpenDB]:
    opened: list[TSDB] = []

    def _open(path: Path | None = None, **kw: Any) -> TSDB:
        db = TSDB.open(path or tmp_path / "data", TSDBOptions(**kw))
        opened.append(db)
        return db

    yield _open
    for db in opened:
        db.close()


def up(**kw: str) -> Labels:
    return Labels.of(name__=kw.pop("name__", "up"), **kw)


def select_all(db: TSDB, name: str = "up", mint: int = -(2**62), maxt: int = 2**62) -> SeriesBatch:
    return db.querier().select([Matcher.equal("__name__", name)], mint, maxt)


def as_dict(batch: SeriesBatch) -> dict[str, tuple[list[int], list[float]]]:
    out = {}
    for i in range(len(batch)):
        ls, t, v = batch.series(i)
        out[str(ls)] = (t.tolist(), v.tolist())
    return out


def commit(db: TSDB, labels: Labels, ts: list[int], vs: list[float]) -> None:
    app = db.appender()
    app.append_many(labels, np.asarray(ts, np.int64), np.asarray(vs, np.float64))
    res = app.commit()
    assert res.rejected_total == 0, res.errors
