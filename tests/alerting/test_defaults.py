"""SLO-aware defaults: the built-in route and the inhibit rule by which an SLO's firing page
mutes its ticket, checked on the label sets sloguard's SLO rules really give their alerts."""

from __future__ import annotations

from typing import Any

from sloguard.alerting import build_route, parse_config
from sloguard.alerting.defaults import DEFAULT_RECEIVER, default_config, with_slo_inhibit
from sloguard.alerting.inhibit import Inhibitor
from sloguard.slo import rulegen
from sloguard.slo.loader import load_text

_SPEC = """
apiVersion: sloguard/v1
service: {service}
slos:
  - name: {name}
    objective: 99.9
    sli: {{ratio: {{bad: 'errors_total{{job="x"}}', total: 'requests_total{{job="x"}}'}}}}
{extra}
"""


def _alerts(service: str, name: str, extra: str = "", **series: str) -> dict[str, dict[str, str]]:
    """The label set of each generated alert by tier, as an alert from a series with ``series`` labels."""
    slos, problems = load_text(_SPEC.format(service=service, name=name, extra=extra), "t.yml")
    assert problems == []
    rules: list[dict[str, Any]] = [r for g in rulegen.generate(slos)["groups"] for r in g["rules"]]
    out = {}
    for r in rules:
        labels = r.get("labels", {})
        if "alert" in r and "sloguard_tier" in labels:
            out[labels["sloguard_tier"]] = {"alertname": r["alert"], **series, **labels}
    assert set(out) == {"page", "ticket", "no-data"}
    return out


def _inhibitor(grouping: tuple[str, ...] = ()) -> Inhibitor:
    return Inhibitor.from_config(with_slo_inhibit(default_config(), grouping))


def test_a_firing_page_mutes_the_same_slos_ticket() -> None:
    a = _alerts("api", "availability")
    inhibition = _inhibitor().inhibited_by(a["ticket"], [a["page"]])
    assert inhibition is not None and inhibition.source == a["page"]


def test_a_page_never_mutes_another_slos_or_services_ticket() -> None:
    page = _alerts("api", "availability")["page"]
    for other in (_alerts("api", "latency")["ticket"], _alerts("web", "availability")["ticket"]):
        assert _inhibitor().inhibited_by(other, [page]) is None


def test_a_page_mutes_neither_a_page_nor_itself_nor_the_no_data_alert() -> None:
    a = _alerts("api", "availability")
    assert _inhibitor().inhibited_by(a["page"], [a["page"]]) is None
    assert _inhibitor().inhibited_by(a["no-data"], [a["page"]]) is None


def test_grouped_slos_compare_their_grouping_labels() -> None:
    extra = "    grouping: [route]"
    page = _alerts("api", "availability", extra, route="/a")["page"]
    same, other = (_alerts("api", "availability", extra, route=r)["ticket"] for r in ("/a", "/b"))
    inhibitor = _inhibitor(("route",))
    assert inhibitor.inhibited_by(same, [page]) is not None
    assert inhibitor.inhibited_by(other, [page]) is None  # another route's budget is its own


def test_the_users_own_rules_come_first_and_are_kept() -> None:
    user = parse_config("route: {receiver: r}\nreceivers: [{name: r}]\n"
                        "inhibit_rules: [{source_matchers: ['a=\"1\"'], target_matchers: ['b=\"1\"']}]\n")
    rules = with_slo_inhibit(user).inhibit_rules
    assert len(rules) == 2 and rules[0] == user.inhibit_rules[0]
    assert Inhibitor(rules).inhibited_by({"b": "1"}, [{"a": "1"}]) is not None


def test_the_default_route_sends_everything_to_the_log_receiver() -> None:
    cfg = default_config()
    route = build_route(cfg.route)
    for labels in ({"alertname": "x"}, {"severity": "page", "slo": "s", "service": "api"}):
        assert [r.opts.receiver for r in route.match(labels)] == [DEFAULT_RECEIVER]
    assert [r.name for r in cfg.receivers] == [DEFAULT_RECEIVER]
