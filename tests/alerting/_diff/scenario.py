"""Differential scenarios: an Alertmanager config plus a timeline of API actions.

A scenario file (tests/alerting/diff_scenarios/*.yml) holds::

    name: grouping
    duration: 9            # seconds the run lasts after the first action
    config: |              # Alertmanager YAML; '{{capture}}' becomes the capture server's URL
      ...
    timeline:
      - at: 0              # seconds after the start
        post:              # POST /api/v2/alerts
          - labels: {alertname: A}
            annotations: {summary: s}
            starts: 0      # optional: startsAt, seconds after the anchor (see runner)
            ends: 4        # optional: endsAt, likewise
      - at: 2
        silence: {id: s1, matchers: [{name: alertname, value: A}], starts: 0, ends: 600}
      - at: 6
        expire: s1         # DELETE /api/v2/silence/<the id s1 got>
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "diff_scenarios"


@dataclass(frozen=True, slots=True)
class PostedAlert:
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...] = ()
    starts: float | None = None
    ends: float | None = None


@dataclass(frozen=True, slots=True)
class Action:
    at: float
    kind: str  # "post" | "silence" | "expire"
    alerts: tuple[PostedAlert, ...] = ()
    silence_id: str = ""
    matchers: tuple[tuple[str, str, bool, bool], ...] = ()  # name, value, isRegex, isEqual
    starts: float = 0.0
    ends: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    config: str
    duration: float
    actions: tuple[Action, ...]

    def render_config(self, capture_url: str) -> str:
        return self.config.replace("{{capture}}", capture_url)


def load_scenario(path: Path) -> Scenario:
    try:
        doc = yaml.safe_load(path.read_text())
        actions = tuple(sorted((_action(a) for a in doc["timeline"]), key=lambda a: a.at))
        return Scenario(str(doc["name"]), str(doc["config"]), float(doc["duration"]), actions)
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as e:
        raise ValueError(f"scenario {path} is malformed: {e!r}") from None


def all_scenarios(directory: Path = SCENARIO_DIR) -> list[Scenario]:
    return [load_scenario(p) for p in sorted(directory.glob("*.yml"))]


def _action(raw: dict[str, Any]) -> Action:
    at = float(raw["at"])
    if "post" in raw:
        return Action(at, "post", alerts=tuple(_alert(a) for a in raw["post"]))
    if "silence" in raw:
        s = raw["silence"]
        matchers = tuple(
            (str(m["name"]), str(m["value"]), bool(m.get("isRegex", False)), bool(m.get("isEqual", True)))
            for m in s["matchers"]
        )
        return Action(at, "silence", silence_id=str(s["id"]), matchers=matchers,
                      starts=float(s.get("starts", 0)), ends=float(s["ends"]))
    if "expire" in raw:
        return Action(at, "expire", silence_id=str(raw["expire"]))
    raise ValueError(f"timeline action at {at} s has none of post, silence, expire: {raw}")


def _alert(raw: dict[str, Any]) -> PostedAlert:
    def pairs(d: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((str(k), str(v)) for k, v in (d or {}).items()))

    starts, ends = raw.get("starts"), raw.get("ends")
    return PostedAlert(pairs(raw["labels"]), pairs(raw.get("annotations")),
                       None if starts is None else float(starts), None if ends is None else float(ends))
