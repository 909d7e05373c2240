"""Backfill of OpenMetrics files into blocks: round trip, errors with line numbers, CLI."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.ingest.backfill import BackfillError, import_openmetrics
from sloguard.ingest.exposition import iter_lines
from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import TSDB

HOUR_S = 3600
T0 = 1_700_000_000


def _all(data_dir: Path) -> dict[Labels, list[tuple[int, float]]]:
    db = TSDB.open(data_dir)
    try:
        batch = db.querier().select([Matcher(MatchType.REGEX, "__name__", ".+")], -(2**62), 2**62)
    finally:
        db.close()
    out = {}
    for i in range(len(batch)):
        labels, ts, vs = batch.series(i)
        out[labels] = list(zip(ts.tolist(), vs.tolist(), strict=True))
    return out


def _write(tmp_path: Path, text: str, name: str = "in.om") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _sample_file(n_series: int = 6, n: int = 600, step: int = 30) -> tuple[str, dict[Labels, list[tuple[int, float]]]]:
    rnd = random.Random(3)
    lines = ["# HELP req Requests.", "# TYPE req counter"]
    want: dict[Labels, list[tuple[int, float]]] = {}
    for s in range(n_series):
        labels = Labels.of(name__="req_total", svc=f"s{s}", le="+Inf" if s % 2 else "0.5")
        v = 0.0
        for k in range(n):
            v += round(rnd.uniform(0, 5), 3)
            t = T0 + k * step
            val = f"{v:.3f}" if k % 97 else "NaN" if s == 1 else f"{v:.3f}"
            lines.append(f'req_total{{svc="s{s}",le="{labels.get("le")}"}} {val} {t}')
            want.setdefault(labels, []).append((t * 1000, float(val)))
    lines.append("# EOF")
    return "\n".join(lines) + "\n", want


def _same(got: dict[Labels, list[tuple[int, float]]], want: dict[Labels, list[tuple[int, float]]]) -> None:
    assert got.keys() == want.keys()
    for k in want:
        g, w = np.array(got[k]), np.array(want[k])
        assert g.shape == w.shape, k
        assert (g[:, 0] == w[:, 0]).all()
        assert np.array_equal(g[:, 1], w[:, 1], equal_nan=True)


def test_round_trip_through_blocks_and_querier(tmp_path: Path) -> None:
    text, want = _sample_file()
    rep = import_openmetrics(_write(tmp_path, text), tmp_path / "data")
    assert rep.samples == 3600 and rep.series == 6
    assert len(rep.blocks) == 3  # 5h starting 800s into a 2h-aligned range
    _same(_all(tmp_path / "data"), want)


def test_tiny_chunks_give_the_same_blocks_as_one_chunk(tmp_path: Path) -> None:
    text, want = _sample_file(n_series=3, n=50)
    import_openmetrics(_write(tmp_path, text), tmp_path / "d", chunk_bytes=37)
    _same(_all(tmp_path / "d"), want)


def test_scanner_agrees_with_the_exact_parser(tmp_path: Path) -> None:
    rnd = random.Random(7)
    vals = ["1", "-2.5", "1e3", "+7", ".5", "3.", "0", "-0", "1E-2", "NaN", "+Inf", "-Inf"]
    lines = []
    for k in range(400):
        s = rnd.randrange(5)
        lines.append(f'm{{a="{s}",b="x y"}} {rnd.choice(vals)} {T0 + k}.{rnd.randrange(1000):03d}')
    lines.append("# EOF")
    text = "\n".join(lines) + "\n"
    want: dict[Labels, list[tuple[int, float]]] = {}
    for labels, t, v in iter_lines(text.encode().splitlines(), openmetrics=True):
        want.setdefault(labels, []).append((t, v))
    import_openmetrics(_write(tmp_path, text), tmp_path / "d", chunk_bytes=1000)
    expected = {}
    for k, samples in want.items():
        first: dict[int, float] = {}
        for t, v in samples:
            first.setdefault(t, v)
        expected[k] = sorted(first.items())
    _same(_all(tmp_path / "d"), expected)


def test_exemplars_and_comments_are_accepted(tmp_path: Path) -> None:
    text = (
        "# TYPE x counter\n# HELP x Some help.\n"
        'x_total 1 1700000000 # {trace_id="abc"} 1 1700000000\n'
        "x_total 2 1700000015\n# EOF\n"
    )
    import_openmetrics(_write(tmp_path, text), tmp_path / "d")
    assert _all(tmp_path / "d") == {Labels.of(name__="x_total"): [(1_700_000_000_000, 1.0), (1_700_000_015_000, 2.0)]}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('a 1 1700000000\nb{x="y"} 3\n# EOF\n', 2, "expected timestamp"),
        ("a 1 1700000000\na 2 1700000015\n", 3, "EOF"),
        ("a 1 1700000000\n# EOF\na 2 1700000015\n", 3, "after # EOF"),
        ("a 1 1700000000\na 1..2 1700000015\n# EOF\n", 2, "number"),
        ('a 1 1700000000\na{x="1} 2 1700000015\n# EOF\n', 2, ""),
        ("a 1 1700000000\na  2 1700000015\n# EOF\n", 2, ""),
    ],
)
def test_bad_input_names_its_line_and_writes_nothing(tmp_path: Path, text: str, line: int, words: str) -> None:
    with pytest.raises(BackfillError) as e:
        import_openmetrics(_write(tmp_path, text), tmp_path / "d")
    assert f"line {line}:" in str(e.value) and words in str(e.value)
    assert not any((tmp_path / "d").glob("*/meta.json"))


def test_cli_imports_a_file(tmp_path: Path) -> None:
    text, want = _sample_file(n_series=2, n=20)
    res = CliRunner().invoke(app, ["import", "openmetrics", str(_write(tmp_path, text)), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "imported 40 samples of 2 series" in res.output
    _same(_all(tmp_path / "d"), want)


def test_cli_bad_line_exits_1_naming_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "a 1 1700000000\na x 1700000001\n# EOF\n")
    res = CliRunner().invoke(app, ["import", "openmetrics", str(path), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 1
    assert "line 2:" in res.output


def test_cli_missing_file_exits_1(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["import", "openmetrics", str(tmp_path / "nope.om"), "--data-dir", str(tmp_path / "d")])
    assert res.exit_code == 1 and "nope.om" in res.output


@pytest.mark.peer
def test_same_samples_as_promtool(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH")
    text, _ = _sample_file(n_series=4, n=300)
    src = _write(tmp_path, text)
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(src), str(tmp_path / "p")], check=True, capture_output=True)
    (tmp_path / "p" / "wal").mkdir()
    dump = subprocess.run(["promtool", "tsdb", "dump", str(tmp_path / "p")], check=True, capture_output=True, text=True).stdout
    want: dict[Labels, list[tuple[int, float]]] = {}
    for line in dump.splitlines():
        series, v, t = line.rsplit(" ", 2)
        pairs = [p.split("=", 1) for p in series.strip("{}").split(", ")]
        labels = Labels((k, val.strip('"')) for k, val in pairs)
        want.setdefault(labels, []).append((int(t), float(v)))
    import_openmetrics(src, tmp_path / "s")
    _same(_all(tmp_path / "s"), {k: sorted(v) for k, v in want.items()})
