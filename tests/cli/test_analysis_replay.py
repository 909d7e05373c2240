"""`sloguard analysis replay`: a template run over stored history reproduces the live run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.delivery.analysis import start_run
from sloguard.delivery.analysis.template import instantiate, load_template_file
from tests.delivery.analysis._judged_data import SLOW, T0, Arm, open_engine, write
from tests.delivery.analysis.test_judged import drive

TEMPLATE = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: canary-checks}
spec:
  args: [{name: alpha, value: "0.05"}]
  metrics:
  - name: errors
    interval: 1m
    initialDelay: 1m
    count: 4
    provider:
      judge:
        name: exact
        events: 'sum(increase(req_total{code="500",$ARM}[$WINDOW]))'
        exposure: 'sum(increase(req_total{$ARM}[$WINDOW]))'
  - name: latency
    interval: 1m
    initialDelay: 1m
    count: 4
    provider:
      judge:
        name: tail
        settings: {quantile: 0.9, min_samples: 500}
        buckets: 'sum by (le) (increase(lat_bucket{$ARM}[$WINDOW]))'
  - name: traffic
    interval: 1m
    count: 4
    successCondition: result[0] > 0
    provider:
      prometheus:
        address: http://prometheus.example:9090
        query: sum(rate(req_total{version="{{args.alpha}}"}[1m])) or vector(1)
"""


def _setup(tmp_path: Path, canary: Arm) -> tuple[Path, Path]:
    data = tmp_path / "data"
    write(data, {"baseline": Arm(), "canary": canary})
    file = tmp_path / "t.yaml"
    file.write_text(TEMPLATE)
    return data, file


def _replay(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["analysis", "replay", *args])
    return r.exit_code, r.stdout, r.stderr


def _live_verdicts(data: Path, file: Path) -> tuple[str, list[list[dict[str, object]]]]:
    from sloguard.delivery.analysis.judged import engine_series_query
    from sloguard.delivery.analysis.providers import ProviderEnv, engine_query

    metrics = instantiate(load_template_file(file)[0][0], embedded_prometheus=True)
    db, engine = open_engine(data)
    try:
        env = ProviderEnv(engine_query(engine), series=engine_series_query(engine))  # type: ignore[arg-type]
        run = drive(start_run("canary-checks", metrics, T0), env)
    finally:
        db.close()
    return run.phase.value, [[m.verdict.to_dict() if m.verdict else {"phase": m.phase.value, "value": m.value}
                              for m in r.measurements] for r in run.results]


@pytest.mark.parametrize("canary", [Arm(error_share=0.02, latency=SLOW), Arm()], ids=["worse", "same"])
def test_replay_reproduces_the_live_run(tmp_path: Path, canary: Arm) -> None:
    data, file = _setup(tmp_path, canary)
    phase, live = _live_verdicts(data, file)
    code, out, err = _replay(str(file), "--from", str(T0 // 1000), "--to", str(T0 // 1000 + 3600),
                             "--data-dir", str(data), "-o", "json")
    assert code == 0, err
    got = json.loads(out)
    assert got["phase"] == phase == ("Failed" if canary.error_share > 0.01 else "Successful")
    replayed = [[s["verdict"] or {"phase": s["phase"], "value": s["value"]} for s in m["steps"]] for m in got["metrics"]]
    assert replayed == live and any(isinstance(v.get("p_value"), float) for v in replayed[0])


def test_replay_text_explains_and_stops_at_to(tmp_path: Path) -> None:
    data, file = _setup(tmp_path, Arm())
    code, out, err = _replay(str(file), "--from", str(T0 // 1000), "--to", str(T0 // 1000 + 150),
                             "--data-dir", str(data))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Analysis run canary-checks: Successful"
    assert out.count("statistic: ") == 4  # two judge metrics measured at +1m and +2m before --to
    assert "the run was terminated" in out and "p-value = " in out and "interval [" in out


@pytest.mark.parametrize(("args", "words"), [
    (["--arg", "nope=1"], "does not declare"),
    (["--arg", "novalue"], "expected NAME=VALUE"),
    (["--from", "yesterday"], "--from 'yesterday'"),
    (["--template", "other"], "no template named 'other'"),
])
def test_bad_input_is_named(tmp_path: Path, args: list[str], words: str) -> None:
    data, file = _setup(tmp_path, Arm())
    base = ["--from", str(T0 // 1000), "--to", str(T0 // 1000 + 60), "--data-dir", str(data)]
    code, _, err = _replay(str(file), *base, *args)
    assert code == 1 and words in err


def test_one_source_is_required(tmp_path: Path) -> None:
    _, file = _setup(tmp_path, Arm())
    code, _, err = _replay(str(file), "--from", "0")
    assert code == 2 and "exactly one of --url or --data-dir" in err
    code, _, err = _replay(str(file), "--from", "0", "--data-dir", str(tmp_path / "missing"))
    assert code == 1 and "does not exist" in err


def test_replay_over_http_matches_the_data_dir(tmp_path: Path) -> None:
    """--url asks a Prometheus-compatible API (here the engine behind a local HTTP server)."""
    import urllib.parse

    from sloguard.promql._format import query_response_json
    from tests.delivery.analysis._servers import Answer, Seen, serve

    data, file = _setup(tmp_path, Arm(error_share=0.02, latency=SLOW))
    window = ["--from", str(T0 // 1000), "--to", str(T0 // 1000 + 600), "-o", "json"]
    code, local, err = _replay(str(file), *window, "--data-dir", str(data))
    assert code == 0, err
    db, engine = open_engine(data)

    def answer(seen: Seen) -> Answer:
        form = dict(urllib.parse.parse_qsl(seen.body.decode()))
        res = engine.instant_query(form["query"], round(float(form["time"]) * 1000))  # type: ignore[attr-defined]
        return Answer(200, query_response_json(res).encode())

    try:
        with serve(answer) as server:
            code, remote, err = _replay(str(file), *window, "--url", server.base)
            assert {s.path for s in server.seen} == {"/api/v1/query"}
    finally:
        db.close()
    assert code == 0, err
    assert json.loads(remote) == json.loads(local) and json.loads(remote)["phase"] == "Failed"
