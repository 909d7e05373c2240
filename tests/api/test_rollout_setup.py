"""The server's rollout setup: on the alerting pipeline's state store, analyses on the
embedded engine, and nothing left behind at stop."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sloguard.api import ServerContext
from sloguard.api._engine_setup import make_engine
from sloguard.api._rollout_setup import RolloutSetup, RolloutSetupError, known_specs, provider_env
from sloguard.delivery._controller_state import RolloutPhase, new_state, state_to_dict
from sloguard.state import RolloutRecord, open_store
from sloguard.tsdb.testing import MemoryStorage


class PipelineOnStore:
    """What the setup needs of the alerting pipeline: its state store, and alerts in."""

    def __init__(self, path: Path) -> None:
        self.store = open_store(data_dir=path)
        self.received: list[Any] = []

    def receive(self, alerts: Any) -> None:
        self.received.extend(alerts)


def test_without_the_alerting_pipeline_the_setup_says_why() -> None:
    ctx = ServerContext(storage=MemoryStorage())
    with pytest.raises(RolloutSetupError, match="alerting pipeline's state store"):
        asyncio.run(RolloutSetup().start(ctx))
    assert ctx.rollouts is None


def test_the_service_reads_the_pipelines_store_and_is_gone_after_stop(tmp_path: Path) -> None:
    pipeline = PipelineOnStore(tmp_path)
    done = replace(new_state("old", 1_000), phase=RolloutPhase.HEALTHY, canary_weight=100)
    pipeline.store.rollouts.save(RolloutRecord("old", 0, "Healthy", state_to_dict(done), 1_000))
    ctx = ServerContext(storage=MemoryStorage(), alerting=pipeline)
    setup = RolloutSetup(budget=lambda ctx: None)

    async def scenario() -> None:
        service = await setup.start(ctx)
        assert ctx.rollouts is service and setup.service is service
        assert [(r["name"], r["phase"], r["canaryWeight"]) for r in service.list()] == [("old", "Healthy", 100)]
        with pytest.raises(Exception, match="nope"):
            service.get("nope")
        await setup.stop(ctx)
        assert ctx.rollouts is None and setup.service is None
        await setup.stop(ctx)  # twice is harmless (a failed start, then the shutdown)

    asyncio.run(scenario())
    pipeline.store.close()


def test_analyses_query_the_embedded_engine_with_and_without_labels() -> None:
    assert provider_env(None).query is None
    env = provider_env(make_engine(MemoryStorage()))
    assert env.query is not None and env.series is not None
    assert env.query("vector(2)", 1_000) == [2.0]
    assert env.series('label_replace(vector(3), "a", "b", "", "")', 1_000) == [({"a": "b"}, 3.0)]


def test_rollout_files_are_globs_under_the_config_dir_read_as_one_stream(tmp_path: Path) -> None:
    (tmp_path / "rollouts").mkdir()
    (tmp_path / "rollouts" / "b.yaml").write_text("b: 2\n")
    (tmp_path / "rollouts" / "a.yaml").write_text("a: 1")
    found = known_specs(["rollouts/*.yaml"], str(tmp_path))
    assert found is not None
    text, source = found
    assert text == "a: 1\n---\nb: 2\n"
    assert source == f"{tmp_path}/rollouts/a.yaml, {tmp_path}/rollouts/b.yaml"
    assert known_specs(["nothing/*.yaml"], str(tmp_path)) is None
    assert known_specs([], str(tmp_path)) is None
