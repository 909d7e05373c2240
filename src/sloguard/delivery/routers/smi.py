"""A traffic router that writes an SMI ``TrafficSplit`` (split.smi-spec.io/v1alpha4) as a
file for the user's GitOps: the apex service split by weight between the stable and
canary services (and extra destinations such as a baseline).

A TrafficSplit has weights only: header routes, cookie routes, mirroring and sticky
sessions are not supported (``supports`` says so, so a rollout asking for them is refused
at validation); asking anyway raises ``RouterError``. ``remove_managed_routes`` is an
explicit no-op. Whether the mesh applied the file cannot be told: ``verify_weight`` is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from sloguard.delivery.routers._files import write_atomic
from sloguard.delivery.routers._types import (
    Desired,
    Feature,
    HeaderRoute,
    MirrorRoute,
    RouterError,
    WeightDestination,
)

API_VERSION = "split.smi-spec.io/v1alpha4"
_SUPPORTED = frozenset({Feature.WEIGHT, Feature.ADDITIONAL_DESTINATIONS})


@dataclass(frozen=True, slots=True)
class SMIConfig:
    """Writes TrafficSplit ``name`` in ``namespace`` to ``path``: clients call the apex
    ``root_service``; ``stable_service`` and ``canary_service`` run the versions; ``extra``
    maps additional destinations' version names to services."""

    path: Path
    name: str
    namespace: str
    root_service: str
    stable_service: str
    canary_service: str
    extra: tuple[tuple[str, str], ...] = ()


def render_trafficsplit(c: SMIConfig, d: Desired) -> dict[str, Any]:
    """The TrafficSplit for config ``c`` and the weights in ``d`` (pure)."""
    extra = dict(c.extra)
    backends = [{"service": c.stable_service, "weight": d.stable_weight},
                {"service": c.canary_service, "weight": d.canary_weight}]
    backends += [{"service": extra[x.version], "weight": x.weight} for x in d.additional]
    meta = {"name": c.name, "namespace": c.namespace, "labels": {"app.kubernetes.io/managed-by": "sloguard"}}
    return {"apiVersion": API_VERSION, "kind": "TrafficSplit", "metadata": meta,
            "spec": {"service": c.root_service, "backends": backends}}


class SMIRouter:
    """``TrafficRouter`` writing a TrafficSplit file; each weight change rewrites it atomically."""

    TYPE: ClassVar[str] = "smi"

    def __init__(self, config: SMIConfig) -> None:
        self.config = config
        self._desired = Desired()
        self._where = f"smi router for TrafficSplit {config.namespace}/{config.name}"

    def supports(self, feature: Feature) -> bool:
        return feature in _SUPPORTED

    def set_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> None:
        for x in additional:
            if x.version not in dict(self.config.extra):
                raise RouterError(f"{self._where}: additional destination {x.version!r} has no service in the config's extra.")
        d = self._desired.with_weight(canary_weight, additional, self._where)
        write_atomic(self.config.path, yaml.safe_dump(render_trafficsplit(self.config, d), sort_keys=False), self._where)
        self._desired = d

    def set_header_route(self, route: HeaderRoute) -> None:
        raise RouterError(f"{self._where}: SMI TrafficSplit cannot route by header (route {route.name!r}).")

    def set_mirror_route(self, route: MirrorRoute) -> None:
        raise RouterError(f"{self._where}: SMI TrafficSplit cannot mirror traffic (route {route.name!r}).")

    def remove_managed_routes(self) -> None:
        """Nothing to remove: a TrafficSplit holds no header or mirror routes."""

    def verify_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> bool | None:
        return None  # the file is written; whether the mesh applied it is not visible here
