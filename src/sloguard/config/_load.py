"""Load and validate the server config file, with errors that name file, key path and expectation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sloguard.config._model import Config
from sloguard.nesting import yaml_load

_SECRET_KEY = re.compile(r"password|secret|token|credentials", re.I)


class ConfigError(Exception):
    """The config file cannot be used; the message names the file, the key and the fix."""


def key_path(loc: Sequence[int | str]) -> str:
    """``("scrape_configs", 0, "scrape_interval")`` -> ``scrape_configs[0].scrape_interval``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(err: Any) -> str:
    """One pydantic error as ``key.path: what was expected, got X``."""
    loc = err["loc"]
    msg: str = err["msg"]
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "missing required key"
    else:
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        msg = msg.replace("Input should be ", "expected ")
        msg = msg[0].lower() + msg[1:] if msg else msg
        value = err.get("input")
        if _SECRET_KEY.search(key_path(loc)):
            value = "<secret>"  # never echo what was typed under a secret key
        if "got" not in msg and str(value) not in msg and isinstance(value, str | int | float | bool | type(None)):
            msg += f", got {value!r}"
    return f"{key_path(loc)}: {msg}"


def format_validation_error(source: str, exc: ValidationError, prefix: Sequence[int | str] = ()) -> str:
    lines = [_describe({**e, "loc": (*prefix, *e["loc"])}) for e in exc.errors()]
    return _headline(source, lines)


def _headline(source: str, problems: list[str]) -> str:
    head = f'error loading config file "{source}"'
    if len(problems) == 1:
        return f"{head}: {problems[0]}"
    return f"{head}: {len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems)


def _parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = e.problem or e.context or "invalid YAML"
        raise ConfigError(f"error loading config file: {where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f'error loading config file "{source}": YAML syntax error: {e}') from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(_headline(source, [f"(top level): expected a mapping of keys, got {type(data).__name__}"]))
    return data


def parse_config(text: str, source: str = "<config>") -> Config:
    """Validate config ``text``; ``source`` names it in errors."""
    from sloguard.config._scrape import validate_scrape_configs

    data = _parse_yaml(text, source)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(source, e)) from None
    problems, scrape_configs = validate_scrape_configs(config)
    if problems:
        raise ConfigError(_headline(source, problems))
    return config.model_copy(update={"scrape_configs": scrape_configs})


def load_config(path: str | Path) -> Config:
    """Read and validate the config file at ``path``; raises :class:`ConfigError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f'error loading config file "{p}": cannot read it: {e.strerror or e}') from None
    except UnicodeDecodeError as e:
        raise ConfigError(f'error loading config file "{p}": not valid UTF-8 at byte {e.start}') from None
    return parse_config(text, str(p))
