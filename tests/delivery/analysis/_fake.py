"""A scripted metric provider and a clock that jumps, for analysis tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from sloguard.delivery.analysis import Metric, ProviderConfig
from sloguard.delivery.analysis.condition import Condition
from sloguard.delivery.analysis.providers import PROVIDERS, ProviderEnv

M = 60_000
S = 1_000


class Boom(Exception):
    """What a scripted provider raises for the value ``BOOM``."""


BOOM = object()


@dataclass(frozen=True, slots=True)
class ScriptConfig:
    """Answers ``results[i]`` at the i-th query (the last one forever after); ``BOOM`` raises."""

    TYPE: ClassVar[str] = "script"
    results: tuple[object, ...]
    calls: list[int] = field(default_factory=list, compare=False, hash=False)


class ScriptProvider:
    TYPE: ClassVar[str] = "script"

    def __init__(self, config: ScriptConfig) -> None:
        self.config = config

    @classmethod
    def from_env(cls, config: ProviderConfig, env: ProviderEnv) -> ScriptProvider:
        assert isinstance(config, ScriptConfig)
        return cls(config)

    async def query(self, now_ms: int) -> object:
        calls = self.config.calls
        calls.append(now_ms)
        value = self.config.results[min(len(calls) - 1, len(self.config.results) - 1)]
        if value is BOOM:
            raise Boom(f"scripted failure at {now_ms} ms")
        return value


PROVIDERS[ScriptProvider.TYPE] = ScriptProvider.from_env


def metric(name: str = "m", results: tuple[object, ...] = ([1.0],), *, success: str | None = "result[0] >= 0.95",
           failure: str | None = None, **kw: object) -> Metric:
    return Metric(
        name, ScriptConfig(results),
        Condition.compile(success) if success else None,
        Condition.compile(failure) if failure else None,
        **kw,  # type: ignore[arg-type]
    )


@dataclass
class JumpClock:
    """A clock whose sleeps return at once, having moved time to the wake-up."""

    now: int = 0
    sleeps: list[int] = field(default_factory=list)

    def now_ms(self) -> int:
        return self.now

    async def sleep_until(self, t_ms: int) -> None:
        self.sleeps.append(t_ms)
        self.now = max(self.now, t_ms)


Script = Callable[[int], object]
