"""The rollout spec's typed model: frozen dataclasses, built only by ``delivery.spec``'s readers."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sloguard.delivery.judges import InputKind
from sloguard.delivery.routers import HeaderRoute, MirrorRoute, TrafficRouter, router_from_mapping


class SpecOrigin(enum.Enum):
    """Which format a rollout was read from."""

    NATIVE = "sloguard/v1"
    ARGO = "argoproj.io/v1alpha1"


@dataclass(frozen=True, slots=True)
class KubernetesTarget:
    """A Kubernetes Service (and port) a version runs behind, for the manifest routers."""

    service: str
    port: int | None = None
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class VersionTarget:
    """A version of the service: its name (the ``version`` label) and where it runs, as
    ``host:port`` upstreams for the built-in proxy and nginx, or a Kubernetes target."""

    name: str
    upstreams: tuple[str, ...] = ()
    kubernetes: KubernetesTarget | None = None


@dataclass(frozen=True, slots=True)
class RouterSpec:
    """A traffic router: its registered type and its config mapping (camelCase keys, with
    the service and versions filled in). ``build()`` makes the router; validation already
    built one, so it does not fail on the config (only on the world, e.g. a busy port)."""

    type: str
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    path: str = "spec.router"

    def build(self) -> TrafficRouter:
        return router_from_mapping(self.type, _thaw(self.config), self.path)


def _thaw(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _thaw(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_thaw(x) for x in v]
    return v


def freeze(v: Any) -> Any:
    """A read-only copy of YAML data: mappings become ``MappingProxyType``, lists tuples."""
    if isinstance(v, Mapping):
        return MappingProxyType({k: freeze(x) for k, x in v.items()})
    if isinstance(v, list | tuple):
        return tuple(freeze(x) for x in v)
    return v


@dataclass(frozen=True, slots=True)
class AnalysisRef:
    """An analysis: the templates run together (by name) with the arguments given to them.
    ``starting_step`` (background analysis only) is the step index it starts at."""

    templates: tuple[str, ...]
    args: tuple[tuple[str, str], ...] = ()
    starting_step: int = 0

    @property
    def arg_map(self) -> dict[str, str]:
        return dict(self.args)


@dataclass(frozen=True, slots=True)
class SetWeight:
    """Send ``weight`` percent (0..100) of the traffic to the canary."""

    weight: int


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``duration_s`` seconds, or (None) until a person promotes the rollout."""

    duration_s: int | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """Run an analysis and go on only when it is Successful."""

    ref: AnalysisRef


@dataclass(frozen=True, slots=True)
class SetHeaderRoute:
    """Send requests matching the route to the canary (no matches: remove the route)."""

    route: HeaderRoute


@dataclass(frozen=True, slots=True)
class SetMirrorRoute:
    """Copy a share of the matching requests to the canary (percentage 0: remove the route)."""

    route: MirrorRoute


Step = SetWeight | Pause | Analysis | SetHeaderRoute | SetMirrorRoute


@dataclass(frozen=True, slots=True)
class JudgeQueries:
    """The PromQL of one side (baseline or canary) of a judged metric: ``errors`` and
    ``total`` counts for a counts judge, ``buckets`` (a ``_bucket`` series by ``le``) for a
    histogram judge, ``samples`` for a samples judge. ``{{.window}}`` is the look's window."""

    errors: str | None = None
    total: str | None = None
    buckets: str | None = None
    samples: str | None = None


@dataclass(frozen=True, slots=True)
class JudgeMetric:
    """A canary-versus-baseline comparison: the registered judge's name, what it takes, its
    settings object (the judge's own settings type) and the queries of both sides."""

    name: str
    judge: str
    kind: InputKind
    settings: Any
    baseline: JudgeQueries
    canary: JudgeQueries


@dataclass(frozen=True, slots=True)
class CanaryStrategy:
    """Steps in order, a background analysis across them (from ``starting_step``), and the
    statistical judges that compare the canary with its baseline at every look, every
    ``judge_interval_s`` seconds (None: the server's default)."""

    steps: tuple[Step, ...]
    analysis: AnalysisRef | None = None
    judges: tuple[JudgeMetric, ...] = ()
    judge_interval_s: int | None = None


@dataclass(frozen=True, slots=True)
class BlueGreenStrategy:
    """``active`` serves users; ``preview`` gets the new version first. Analyses run before
    and after the switch (a failed post-promotion analysis switches back). Promotion is
    automatic unless ``auto_promotion_enabled`` is false, after ``auto_promotion_seconds``
    when set; the old version is scaled down ``scale_down_delay_seconds`` after it."""

    active: str
    preview: str | None
    pre_promotion: AnalysisRef | None = None
    post_promotion: AnalysisRef | None = None
    auto_promotion_enabled: bool = True
    auto_promotion_seconds: int | None = None
    scale_down_delay_seconds: int = 30


@dataclass(frozen=True, slots=True)
class ErrorBudgetPolicy:
    """Do not start while the service's SLO budget is exhausted (unless forced); abort when a
    page-severity SLO alert of the service fires."""

    block_when_exhausted: bool = True
    abort_on_page: bool = True


@dataclass(frozen=True, slots=True)
class RolloutSpec:
    """A valid rollout: ``service`` names the service whose SLOs gate it (matched by the
    SLOs' ``service``); ``stable``/``canary`` are None when the format does not name them
    (an Argo Rollout without services); ``router`` is None when none is given."""

    name: str
    service: str
    strategy: CanaryStrategy | BlueGreenStrategy
    stable: VersionTarget | None = None
    canary: VersionTarget | None = None
    router: RouterSpec | None = None
    error_budget_policy: ErrorBudgetPolicy = ErrorBudgetPolicy()
    origin: SpecOrigin = SpecOrigin.NATIVE
    source: str = "<text>"

    @property
    def analyses(self) -> tuple[AnalysisRef, ...]:
        """Every analysis the rollout runs (steps, background, blue-green pre/post)."""
        s = self.strategy
        if isinstance(s, CanaryStrategy):
            refs = [st.ref for st in s.steps if isinstance(st, Analysis)]
            return tuple(refs + ([s.analysis] if s.analysis else []))
        return tuple(r for r in (s.pre_promotion, s.post_promotion) if r is not None)
