"""Validate ``scrape_configs`` with the ingest package's models.

The models (``ScrapeConfig``, ``GlobalConfig``) belong to ``sloguard.ingest.scrape_config``;
this module only places their errors under the right key path
(``scrape_configs[2].relabel_configs[0].regex``) and checks that job names are unique.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sloguard.config._model import Config
from sloguard.ingest.scrape_config import ScrapeConfig


def _describe_errors(index: int, exc: ValidationError) -> list[str]:
    from sloguard.config._load import _describe

    return [_describe({**e, "loc": ("scrape_configs", index, *e["loc"])}) for e in exc.errors()]


def validate_scrape_configs(config: Config) -> tuple[list[str], list[Any]]:
    """Return (problems, validated scrape configs) for ``config.scrape_configs``."""
    problems: list[str] = []
    out: list[Any] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(config.scrape_configs):
        if not isinstance(raw, dict):
            problems.append(f"scrape_configs[{i}]: expected a mapping, got {type(raw).__name__}")
            continue
        job = raw.get("job_name")
        if not isinstance(job, str) or not job:
            problems.append(f"scrape_configs[{i}].job_name: missing required key (a non-empty string)")
            continue
        if job in seen:
            problems.append(
                f'scrape_configs[{i}].job_name: found multiple scrape configs with job name "{job}"'
                f" (also scrape_configs[{seen[job]}])"
            )
        seen[job] = i
        try:
            out.append(ScrapeConfig.model_validate(raw))
        except ValidationError as e:
            problems.extend(_describe_errors(i, e))
    return problems, out
