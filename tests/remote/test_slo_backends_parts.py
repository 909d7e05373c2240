"""Per-SLO query backends, the parts: the config's keys and their errors, which SLO reads
which backend (spec field, name globs, an unknown name), OpenSLO's annotation, and the
fanout's merge of two stores."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from sloguard.api._slo_setup import SLOSetup
from sloguard.config import ConfigError, load_config
from sloguard.labels import Labels
from sloguard.remote._fanout import merge_batches
from sloguard.slo.convert import convert
from sloguard.slo.loader import SpecFormat, load_text
from sloguard.tsdb import SeriesBatch

SPEC = """
apiVersion: sloguard/v1
service: shop
slos:
  - name: {name}
    objective: 99%
{extra}    sli:
      ratio: {{bad: 'x_total{{code="500"}}', total: 'x_total'}}
"""


def _config_error(tmp_path: Path, text: str) -> str:
    (tmp_path / "sloguard.yml").write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "sloguard.yml")
    return str(e.value)


def test_the_config_names_a_bad_backend_and_an_unknown_one_by_key(tmp_path: Path) -> None:
    assert "query_backends: vm: timeout: not a valid duration" in _config_error(
        tmp_path, "query_backends: {vm: {url: 'http://127.0.0.1:8428', timeout: soon}}\n")
    err = _config_error(tmp_path, "query_backends: {vm: {url: 'http://127.0.0.1:8428'}}\n"
                                  "slo_query_backends: {'checkout-*': vm2}\n")
    assert "slo_query_backends.checkout-*: unknown query backend 'vm2' (query_backends defines: vm)" in err
    (tmp_path / "ok.yml").write_text("query_backends: {vm: {url: 'http://127.0.0.1:8428', timeout: 5s}}\n"
                                     "slo_query_backends: {'checkout-*': vm}\n")
    c = load_config(tmp_path / "ok.yml")
    assert c.query_backends["vm"].timeout_s == 5.0 and c.slo_query_backends == {"checkout-*": "vm"}


def test_each_slo_gets_its_spec_backend_else_a_glob_and_one_naming_an_unknown_backend_is_left_out(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    specs = [SPEC.format(name="a-named", extra="    query_backend: vm\n"),
             SPEC.format(name="checkout-mapped", extra=""), SPEC.format(name="plain", extra=""),
             SPEC.format(name="typo", extra="    query_backend: vm2\n")]
    for i, text in enumerate(specs):
        (tmp_path / f"s{i}.yml").write_text(text)
    setup = SLOSetup([str(tmp_path / "s*.yml")], str(tmp_path), tmp_path / "gen" / "slo.rules.yml",
                     backends=frozenset({"vm", "thanos"}), backend_of={"checkout-*": "thanos"})
    with caplog.at_level(logging.ERROR, logger="sloguard.server"):
        setup.refresh()
    assert {s.name: s.query_backend for s in setup.slos} == {"a-named": "vm", "checkout-mapped": "thanos", "plain": ""}
    (record,) = [r for r in caplog.records if "query_backend" in r.getMessage()]
    assert record.__dict__["slo"] == "typo" and record.__dict__["query_backend"] == "vm2"


def test_openslo_keeps_the_backend_in_an_annotation() -> None:
    (slo,), _ = load_text(SPEC.format(name="a", extra="    query_backend: vm\n"), "a.yml")
    text = convert([slo], SpecFormat.OPENSLO).text
    assert "sloguard.dev/query-backend: vm" in text
    (back,), problems = load_text(text, "a.openslo.yml")
    assert back.query_backend == "vm" and not [p for p in problems if p.is_error]


def _batch(series: list[tuple[Labels, list[int], list[float]]]) -> SeriesBatch:
    counts = [len(t) for _, t, _ in series]
    return SeriesBatch(labels=[ls for ls, _, _ in series], offsets=np.array([0, *np.cumsum(counts)], np.int64),
                       timestamps=np.array([t for _, ts, _ in series for t in ts], np.int64),
                       values=np.array([v for _, _, vs in series for v in vs], np.float64))


def test_the_fanout_merges_series_by_labels_and_the_primary_wins_a_shared_timestamp() -> None:
    a, b, c = Labels.of(__name__="x", job="a"), Labels.of(__name__="x", job="b"), Labels.of(__name__="x", job="c")
    merged = merge_batches(_batch([(a, [10, 30], [1.0, 3.0]), (c, [10], [5.0])]),
                           _batch([(a, [20, 30], [2.0, 9.0]), (b, [10], [4.0])]))
    got = [(ls, t.tolist(), v.tolist()) for ls, t, v in (merged.series(i) for i in range(len(merged)))]
    assert got == [(a, [10, 20, 30], [1.0, 2.0, 3.0]), (b, [10], [4.0]), (c, [10], [5.0])]


def test_a_group_whose_query_function_changes_on_reload_is_replaced(tmp_path: Path) -> None:
    from sloguard.rules import ManagerOptions, RuleManager
    from sloguard.tsdb.testing import MemoryStorage

    def own(expr: str, t: int) -> list[object]:
        return []

    def other(expr: str, t: int) -> list[object]:
        return []

    storage = MemoryStorage()
    m = RuleManager(ManagerOptions(query=own, storage=storage), use_threads=False)  # type: ignore[arg-type]
    (tmp_path / "r.yml").write_text("groups: [{name: g, rules: [{record: x, expr: vector(1)}]}]\n")
    picked: dict[str, object] = {}
    m.group_query = lambda file, group: picked.get(group)  # type: ignore[assignment,return-value]
    m.update([str(tmp_path / "r.yml")])
    (first,) = m.groups()
    m.update([str(tmp_path / "r.yml")])
    assert m.groups() == [first] and first.opts.query is own  # unchanged: kept
    picked["g"] = other
    m.update([str(tmp_path / "r.yml")])
    (second,) = m.groups()
    assert second is not first and second.opts.query is other
