"""``sloguard serve``'s ``--query.*`` flags: Prometheus' names, overriding the config's
``query:`` section key by key, and shown in ``/api/v1/status/flags``."""

from __future__ import annotations

from pydantic import ValidationError

from sloguard.config import QuerySettings, format_duration

#: Flag name -> ``query:`` key. A flag left out keeps the config file's value.
QUERY_FLAGS: dict[str, str] = {
    "query.timeout": "timeout",
    "query.max-samples": "max_samples",
    "query.max-concurrency": "max_concurrency",
    "query.lookback-delta": "lookback_delta",
    "query.max-body-bytes": "max_body_bytes",
    "query.memory-limit": "memory_limit",
    "query.max-parse-depth": "max_parse_depth",
    "query.max-parse-chain": "max_parse_chain",
}
_DURATIONS = frozenset({"timeout", "lookback_delta"})


def apply_query_flags(base: QuerySettings, given: dict[str, str | None]) -> QuerySettings:
    """``base`` with every flag of ``given`` (flag name -> text, ``None`` if not given)
    applied; ``ValueError`` naming the flag and its value when one is invalid."""
    fields = base.model_dump()
    for flag, text in given.items():
        if text is None:
            continue
        key = QUERY_FLAGS[flag]
        raw: str | int = text
        if key not in _DURATIONS and text.strip().lstrip("-").isdigit():
            raw = int(text)
        try:
            QuerySettings.model_validate({key: raw})
        except ValidationError as e:
            reason = e.errors()[0]["msg"].removeprefix("Value error, ")
            raise ValueError(f"invalid --{flag} {text!r}: {reason}") from None
        fields[key] = raw
    return QuerySettings.model_validate(fields)


def query_flag_values(settings: QuerySettings) -> dict[str, str]:
    """The effective ``--query.*`` values as ``/api/v1/status/flags`` shows them."""
    out: dict[str, str] = {}
    for flag, key in QUERY_FLAGS.items():
        value = getattr(settings, key)
        out[flag] = format_duration(value) if key in _DURATIONS else str(value)
    return out
