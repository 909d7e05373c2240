"""The webhook body as bytes, written directly: the same bytes as
``go_json(webhook_message(...))`` without the dicts in between.

Every notification of a busy server goes through here once, so the body is joined from
string fragments: each string is encoded by the JSON module's own C string encoder (what
``json.dumps`` calls for each string), label sets and annotations are encoded once per
distinct set (remembered: a group's labels, group labels and common labels come back at
every flush), and Go's HTML escapes are applied to the whole body at the end, as
:func:`~sloguard.alerting.receivers._base.go_json` does. ``tests/alerting`` checks the
bytes against the dict path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring  # the C encoder when built

from sloguard.alerting.model import Alert, go_time_rfc3339
from sloguard.alerting.template_data import quote_meta
from sloguard.labels import Labels

__all__ = ["go_escape", "webhook_body"]

_ZERO_TIME = '"0001-01-01T00:00:00Z"'
_GO_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def go_escape(s: str) -> str:
    """Go's ``encoding/json`` HTML-safe escapes over JSON text (``json.dumps`` does not make them)."""
    for ch, esc in _GO_ESCAPES:
        if ch in s:
            s = s.replace(ch, esc)
    return s


@functools.lru_cache(maxsize=65536)
def _pairs_json(pairs: tuple[tuple[str, str], ...]) -> str:
    """A string map's JSON object, keys sorted (Go's map encoding); a repeated key keeps
    its last value, as ``dict(pairs)`` does. A label set's pairs are already sorted by name
    and unique, so they go as they are (half the cost of a label set seen first)."""
    items = pairs if type(pairs) is Labels else sorted(dict(pairs).items())
    return "{" + ",".join([f"{encode_basestring(k)}:{encode_basestring(v)}" for k, v in items]) + "}"


def _pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``pairs`` as a tuple (a label set as it is)."""
    return pairs if isinstance(pairs, tuple) else tuple(pairs)


@functools.lru_cache(maxsize=4096)
def _time_json(ms: int) -> str:
    return f'"{go_time_rfc3339(ms)}"'


def _alert_json(a: Alert, now_ms: int) -> tuple[str, bool]:
    """One alert of ``alerts[]`` and whether it is firing at ``now_ms``."""
    ends = a.ends_at
    resolved = ends is not None and ends <= now_ms
    return (
        f'{{"status":"{"resolved" if resolved else "firing"}","labels":{_pairs_json(a.labels)},'
        f'"annotations":{_pairs_json(a.annotations)},"startsAt":{_time_json(a.starts_at)},'
        f'"endsAt":{_time_json(ends) if resolved else _ZERO_TIME},'
        f'"generatorURL":{encode_basestring(a.generator_url)},"fingerprint":"{a.fingerprint:016x}"}}'
    ), not resolved


def _common_json(sets: list[tuple[tuple[str, str], ...]]) -> str:
    """The pairs every set shares with the same value (``template_data``'s common labels)."""
    if len(sets) == 1:
        return _pairs_json(sets[0])
    common = dict(sets[0])
    for s in sets[1:]:
        other = dict(s)
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return _pairs_json(tuple(common.items()))


def webhook_body(receiver: str, group_key: str, group_labels: Iterable[tuple[str, str]], alerts: Sequence[Alert],
                 now_ms: int, external_url: str, truncated: int) -> bytes:
    """``go_json(webhook_message(...))`` for ``alerts`` (already truncated; ``truncated``
    is how many were left out)."""
    parts = []
    firing = False
    for a in alerts:
        text, fires = _alert_json(a, now_ms)
        parts.append(text)
        firing = firing or fires
    common_labels = _common_json([a.labels for a in alerts]) if alerts else "{}"
    common_annotations = _common_json([a.annotations for a in alerts]) if alerts else "{}"
    body = (
        f'{{"receiver":{encode_basestring(quote_meta(receiver))},"status":"{"firing" if firing else "resolved"}",'
        f'"alerts":[{",".join(parts)}],"groupLabels":{_pairs_json(_pairs(group_labels))},'
        f'"commonLabels":{common_labels},"commonAnnotations":{common_annotations},'
        f'"externalURL":{encode_basestring(external_url)},"version":"4","groupKey":{encode_basestring(group_key)},'
        f'"truncatedAlerts":{truncated}}}\n'
    )
    return go_escape(body).encode()
