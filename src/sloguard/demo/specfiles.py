"""The demo's spec files (package data in ``specs/``), filled in for one run.

The rollout files name fixed addresses (the proxy on ``127.0.0.1:18080``, version ``vN`` on
``127.0.0.1:1808N``) so that they validate as they are (``sloguard rollout validate``);
:func:`rollout_text` puts in the addresses the demo actually listens on and, for the fast
mode, scales the pauses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sloguard.demo.service import DemoError

__all__ = ["CONFIG", "ROLLOUTS", "SERVICE", "Addresses", "rollout_text", "spec_dir", "spec_text"]

SERVICE = "checkout"
"""The demo service's name (its SLOs' ``service``, the proxy's ``service`` label)."""
CONFIG = "sloguard.yml"
ROLLOUTS = {"v2": "rollout-v2.yml", "v3": "rollout-v3.yml"}
"""The demo's rollouts in order, by canary version: v2 (to be aborted), v3 (to be promoted)."""

_PROXY = "port: 18080"
_PAUSE = re.compile(r"(pause: \{duration: )(\d+)s\}")


def spec_dir() -> Path:
    """The folder holding the demo's spec files."""
    return Path(str(resources.files("sloguard.demo").joinpath("specs")))


def spec_text(name: str) -> str:
    path = spec_dir() / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise DemoError(f"The demo spec file {path} cannot be read ({e}); is the package installed completely?") from e


def rollout_name(version: str) -> str:
    return f"{SERVICE}-{version}"


@dataclass(frozen=True, slots=True)
class Addresses:
    """Where the demo listens: the proxy's port and each version's ``host:port``."""

    proxy_port: int
    versions: dict[str, str]


def rollout_text(version: str, addresses: Addresses, pause_scale: float = 1.0) -> str:
    """The rollout of ``version`` (``v2`` or ``v3``) with the real addresses; every pause
    multiplied by ``pause_scale`` (at least 1 s)."""
    if version not in ROLLOUTS:
        raise DemoError(f"The demo has no rollout of version {version!r}; it has {sorted(ROLLOUTS)}.")
    if not 0 < pause_scale <= 10:
        raise DemoError(f"The demo's pause scale must be in (0, 10], got {pause_scale!r}.")
    text = spec_text(ROLLOUTS[version]).replace(_PROXY, f"port: {addresses.proxy_port}")
    for v in ("v1", version):
        if v not in addresses.versions:
            raise DemoError(f"The demo has no address for version {v!r} (it has {sorted(addresses.versions)}).")
        text = text.replace(f"127.0.0.1:1808{v[1:]}", addresses.versions[v])
    return _PAUSE.sub(lambda m: f"{m[1]}{max(1, round(int(m[2]) * pause_scale))}s}}", text)
