"""The webhook's direct body encoder writes exactly the bytes of ``go_json(webhook_message)``
(the dict path the Alertmanager comparisons in test_receivers_peer.py check)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.alerting.model import Alert
from sloguard.alerting.receivers._base import NotifyContext, go_json
from sloguard.alerting.receivers._webhook_body import webhook_body
from sloguard.alerting.receivers.webhook import truncate_alerts, webhook_message
from sloguard.labels import Labels

NOW = 1_700_000_000_123
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # any character but lone surrogates
_NAME = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)


@st.composite
def _alert(draw: st.DrawFn) -> Alert:
    labels = draw(st.dictionaries(_NAME, _TEXT.filter(bool), min_size=1, max_size=4))
    annotations = draw(st.lists(st.tuples(_NAME, _TEXT), max_size=3))  # repeated names: the last value wins
    starts = draw(st.integers(0, NOW))
    ends = draw(st.one_of(st.none(), st.integers(starts, NOW + 10_000)))
    url = draw(st.sampled_from(["", "http://prom/graph?g0.expr=up<1&x=\u2028", "http://p/"]))
    return Alert(Labels.from_dict(labels), tuple(annotations), starts, ends, url)


def _expected(ctx: NotifyContext, alerts: list[Alert], max_alerts: int) -> bytes:
    return go_json(webhook_message(ctx, alerts, max_alerts))


def _body(ctx: NotifyContext, alerts: list[Alert], max_alerts: int) -> bytes:
    kept, truncated = truncate_alerts(max_alerts, alerts)
    return webhook_body(ctx.receiver, ctx.group_key, ctx.group_labels, kept, ctx.now_ms, ctx.external_url, truncated)


@settings(max_examples=300, deadline=None)
@given(alerts=st.lists(_alert(), max_size=5), receiver=_TEXT, external=_TEXT, max_alerts=st.integers(0, 3),
       group=st.dictionaries(_NAME, _TEXT.filter(bool), max_size=2))
def test_body_is_the_dict_paths_bytes(alerts: list[Alert], receiver: str, external: str, max_alerts: int,
                                      group: dict[str, str]) -> None:
    ctx = NotifyContext(f"{{}}:{group}", receiver, Labels.from_dict(group), NOW, external)
    assert _body(ctx, alerts, max_alerts) == _expected(ctx, alerts, max_alerts)


def test_html_characters_and_line_separators_are_escaped_as_go_does() -> None:
    alert = Alert(Labels.of(alertname="A<b>&c"), (("summary", "x\u2028y\u2029z"),), 1_000, None, "http://g?a=1&b=<2>")
    ctx = NotifyContext('{}:{alertname="A<b>&c"}', "r.x+", Labels.of(alertname="A<b>&c"), NOW, "http://am/&")
    body = _body(ctx, [alert], 0)
    assert b"<" not in body and b">" not in body and b"&" not in body
    assert b"\\u003cb\\u003e\\u0026c" in body and b"x\\u2028y\\u2029z" in body
    assert b'"receiver":"r\\\\.x\\\\+"' in body  # the receiver name through regexp.QuoteMeta
    assert body == _expected(ctx, [alert], 0)


def test_truncated_body_counts_what_was_left_out() -> None:
    alerts = [Alert.of({"alertname": "A", "i": str(k)}, {}, 1_000, 2_000 if k else None) for k in range(3)]
    ctx = NotifyContext("{}:{}", "r", Labels(), NOW, "")
    body = _body(ctx, alerts, 2)
    assert body.endswith(b'"truncatedAlerts":1}\n') and body.count(b'"fingerprint"') == 2
    assert body == _expected(ctx, alerts, 2)
