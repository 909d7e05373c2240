"""The SLO-based error-budget source: budgets of real SLO specs over real data in an embedded
TSDB, the same numbers as ``sloguard slo``, and the start policy they drive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sloguard.alerting.core import AlertingCore, CoreOptions
from sloguard.alerting.defaults import default_config
from sloguard.alerting.model import Alert
from sloguard.clock import ManualClock
from sloguard.delivery.budget import SLOBudgetSource, slo_budget_source
from sloguard.delivery.policy import POLICY, Force, PolicyError, enforce_start
from sloguard.slo import budget
from sloguard.state import SqlStateStore, open_store
from tests.delivery._slo_data import H, M, Traffic, slos

NOW = 1_700_000_000_000 // H * H


@pytest.fixture
def traffic(tmp_path: Path) -> Iterator[Traffic]:
    t = Traffic(tmp_path)
    yield t
    t.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStateStore]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


def _source(traffic: Traffic, alerting: AlertingCore | None = None) -> SLOBudgetSource:
    loaded = slos()
    return SLOBudgetSource(lambda: loaded, traffic.engine, ManualClock(NOW), lambda: alerting)


def test_the_remaining_budget_is_the_one_sloguard_slo_reports(traffic: Traffic) -> None:
    traffic.write("checkout", NOW - 2 * H, NOW, rps=10, error_ratio=0.004)  # 40% of a 1% budget spent
    source = _source(traffic)
    (avail,) = [s for s in slos() if s.name == "checkout-availability"]
    (reported,) = budget.compute(traffic.engine, avail, NOW)
    assert source.remaining_budget("checkout") == reported.budget_remaining_ratio
    assert source.remaining_budget("checkout") == pytest.approx(0.6, rel=1e-3)


def test_a_service_with_budget_left_may_start(traffic: Traffic, store: SqlStateStore) -> None:
    traffic.write("checkout", NOW - 2 * H, NOW, rps=10, error_ratio=0.002)
    check = enforce_start(store.rollouts, _source(traffic), "checkout-v2", "checkout", NOW)
    assert check.allowed and "80.0% of its error budget left" in check.reason
    assert store.rollouts.events("checkout-v2") == []


def test_the_smallest_budget_of_the_services_slos_decides(traffic: Traffic, store: SqlStateStore) -> None:
    traffic.write("checkout", NOW - 2 * H, NOW, rps=100, error_ratio=0.001, route="/")
    traffic.write("checkout", NOW - 2 * H, NOW, rps=1, error_ratio=0.3, route="/search")  # 3x a 10% budget
    source = _source(traffic)
    assert source.remaining_budget("checkout") == pytest.approx(-2.0, rel=1e-3)
    by_slo = {b.slo: b.budget_remaining_ratio for b in source.budgets("checkout")}
    assert by_slo["checkout-availability"] is not None and by_slo["checkout-availability"] > 0
    with pytest.raises(PolicyError) as refused:
        enforce_start(store.rollouts, source, "checkout-v2", "checkout", NOW)
    assert str(refused.value) == ("The error budget of the service 'checkout' is exhausted (-200.0% left); the rollout "
                                  "'checkout-v2' does not start unless forced with who and why.")
    (event,) = store.rollouts.events("checkout-v2")
    assert (event.type, event.reason) == ("RolloutRefused", "ErrorBudgetExhausted")


def test_a_forced_start_is_allowed_and_the_override_recorded(traffic: Traffic, store: SqlStateStore) -> None:
    traffic.write("checkout", NOW - 2 * H, NOW, rps=10, error_ratio=0.05)
    check = enforce_start(store.rollouts, _source(traffic), "checkout-v2", "checkout", NOW,
                          Force("alice", "hotfix for the outage"))
    assert check.allowed and "started anyway by alice: hotfix for the outage" in check.reason
    (override,) = store.rollouts.overrides("checkout-v2")
    assert (override.policy, override.actor, override.reason, override.time) == (
        POLICY, "alice", "hotfix for the outage", NOW)


def test_no_slo_or_no_data_means_no_budget_to_check(traffic: Traffic) -> None:
    traffic.write("checkout", NOW - H, NOW, rps=10, error_ratio=0.5)
    source = _source(traffic)
    assert source.remaining_budget("payments") is None, "a service without SLOs"
    assert source.remaining_budget("cart") is None, "an SLO whose SLI has no data yet"
    assert slo_budget_source(slos, None, ManualClock(NOW)).remaining_budget("checkout") is None, "no engine"


def test_only_data_in_the_slo_period_counts(traffic: Traffic) -> None:
    traffic.write("checkout", NOW - 3 * 24 * H, NOW - 2 * 24 * H, rps=10, error_ratio=0.5)  # before the 1d period
    traffic.write("checkout", NOW - 2 * H, NOW, rps=10, error_ratio=0.0, step_ms=M)
    assert _source(traffic).remaining_budget("checkout") == pytest.approx(1.0)


def test_page_alerts_come_from_the_pipeline_by_service_label(traffic: Traffic, store: SqlStateStore) -> None:
    clock = ManualClock(NOW)
    core = AlertingCore(default_config(), "", store, clock, CoreOptions("r1"))

    def alert(name: str, severity: str, **labels: str) -> Alert:
        return Alert.of({"alertname": name, "severity": severity, **labels}, starts_at=NOW - M)

    source = SLOBudgetSource(slos, traffic.engine, clock, lambda: core)
    core.receive([alert("CheckoutTicket", "ticket", service="checkout"),
                  alert("CartBurn", "page", sloth_service="cart")])
    assert source.firing_page_alert("checkout") is None, "a ticket does not abort"
    assert source.firing_page_alert("cart") == "CartBurn", "Sloth-form rules name the service sloth_service"
    core.receive([alert("CheckoutAvailabilityBurn", "page", service="checkout", slo="checkout-availability")])
    assert source.firing_page_alert("checkout") == "CheckoutAvailabilityBurn"
    assert SLOBudgetSource(slos, traffic.engine, clock).firing_page_alert("checkout") is None, "no pipeline"


def test_an_slo_with_its_own_query_backend_is_judged_on_that_backends_engine(tmp_path: Path) -> None:
    """The server's store has no checkout traffic; the engine of the SLOs' backend has it."""
    server, backend = Traffic(tmp_path / "server"), Traffic(tmp_path / "backend")
    try:
        backend.write("checkout", NOW - 2 * H, NOW, rps=10, error_ratio=0.004)
        loaded = slos()
        asked: list[str] = []

        def engine_for(slo: object) -> object:
            asked.append(slo.name)  # type: ignore[attr-defined]
            return backend.engine

        source = slo_budget_source(lambda: loaded, server.engine, ManualClock(NOW), engine_for=engine_for)  # type: ignore[arg-type]
        assert source.remaining_budget("checkout") == pytest.approx(0.6, rel=1e-3)
        assert asked and set(asked) <= {s.name for s in loaded if s.service == "checkout"}
        plain = slo_budget_source(lambda: loaded, server.engine, ManualClock(NOW))
        assert plain.remaining_budget("checkout") is None  # the server's store alone: no data
    finally:
        server.close()
        backend.close()
