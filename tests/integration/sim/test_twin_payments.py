"""The twin pays the real way: wallets topped up through the payments services, orders authorised
at checkout and captured at packing by the platform's own bus handlers. After a run the books
prove out: every entry balances, no wallet is negative, and no money was made or lost."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine, select

from newretail.core.clock import SimulatedClock
from newretail.core.runtime import Runtime
from newretail.core.settings import Settings
from newretail.ordering import services as ordering
from newretail.ordering.tables import orders
from newretail.payments import services as payments
from newretail.payments.ledger import AccountKind
from newretail.payments.model import Method, PaymentFailed, PaymentStatus
from newretail.payments.providers import PaymentProviders, WalletProvider
from newretail.payments.repository import LedgerRepository
from newretail.sim import events
from newretail.sim.engine import SimResult, Simulation
from newretail.sim.kpis import compute_kpis
from newretail.sim.scenario import Scenario, ScenarioInvalid, parse_scenario


def simulation(engine: Engine, scenario: Scenario) -> Simulation:
    runtime = Runtime(
        engine=engine, settings=Settings(database_url="sqlite:///unused.db"), clock=SimulatedClock(scenario.start)
    )
    return Simulation(runtime, scenario)


def balances(engine: Engine, tenant_id: str) -> dict[AccountKind, list[int]]:
    with engine.connect() as conn:
        rows = LedgerRepository(conn).accounts(tenant_id)
    found: dict[AccountKind, list[int]] = {kind: [] for kind in AccountKind}
    for row in rows:
        found[AccountKind(row.kind)].append(int(row.balance_minor))
    return found


def customers(scenario: Scenario) -> int:
    return len(scenario.stores) * scenario.demand.customers_per_store


def assert_the_books_prove_out(
    result: SimResult, engine: Engine, top_up_each: int, reloads: int = 0
) -> dict[AccountKind, list[int]]:
    """verify_ledger finds nothing; wallets and holds are never negative; money is conserved:
    top-ups (at the start and ``reloads`` more) = wallets + holds + captured sales - refunds back
    to wallets."""
    verification = payments.verify_ledger(Runtime(engine=engine, settings=Settings()).uow())
    assert verification.ok, verification
    books = balances(engine, result.world.tenant_id)
    assert all(b >= 0 for b in books[AccountKind.WALLET]) and all(b >= 0 for b in books[AccountKind.HOLDS])
    # what the scenario says, not what the ledger says
    topped_up = (customers(result.scenario) + reloads) * top_up_each
    assert sum(books[AccountKind.PROVIDER_CLEARING]) == topped_up  # the test provider took exactly that
    assert topped_up == (
        sum(books[AccountKind.WALLET])
        + sum(books[AccountKind.HOLDS])
        + sum(books[AccountKind.STORE_SALES])
        - sum(books[AccountKind.REFUNDS])
    )
    kpis = compute_kpis(result.log)
    assert kpis["payments_captured_minor"] == sum(books[AccountKind.STORE_SALES])
    assert kpis["payments_refunded_minor"] == sum(books[AccountKind.REFUNDS])
    return books


def test_the_twin_pays_from_wallets_and_the_books_prove_out(twin_engine: Engine, tiny: dict[str, Any]) -> None:
    scenario = parse_scenario(tiny)
    assert scenario.payment.method == "wallet"  # the default
    result = simulation(twin_engine, scenario).run()
    kpis = compute_kpis(result.log)
    assert kpis["orders"] >= 12 and kpis["payments_declined"] == 0 and kpis["orders_held_for_payment"] == 0
    assert result.unfinished_orders == 0

    books = assert_the_books_prove_out(result, twin_engine, scenario.payment.wallet_top_up_minor)
    assert sum(books[AccountKind.STORE_SALES]) > 0
    assert sum(books[AccountKind.HOLDS]) == 0  # every hold was captured (and the rest released) or voided

    # Each order paid now, and what was captured is exactly what was packed.
    runtime = Runtime(engine=twin_engine, settings=Settings())
    tenant = result.world.tenant_id
    placed = [e.order for e in result.log if e.kind == events.ORDER_PLACED]
    packed = {e.order for e in result.log if e.kind == events.ORDER_PACKED}
    by_id = ordering.orders_by_ids(runtime.uow(), tenant_id=tenant, order_ids=[str(o) for o in placed])
    captured_entries = {e.order: e.data["captured"] for e in result.log if e.kind == events.PAYMENT_CAPTURED}
    for order_id, order in by_id.items():
        assert order.payment_mode.value == "pay_now"
        paid = payments.order_payment(runtime.uow(), tenant_id=tenant, order_id=order_id)
        assert paid is not None
        if order_id in packed:
            assert order.final_total is not None
            assert paid.status is PaymentStatus.CAPTURED
            assert paid.captured == order.final_total.amount == captured_entries[order_id]
        else:  # nothing could be picked: cancelled at packing, the hold voided
            assert order.status.value == "cancelled" and paid.status is PaymentStatus.VOIDED


def test_empty_wallets_decline_and_those_customers_are_lost(twin_engine: Engine, tiny: dict[str, Any]) -> None:
    tiny["payment"] = {"wallet_top_up_minor": 2_500, "authorisation_margin_bps": 0}
    scenario = parse_scenario(tiny)
    result = simulation(twin_engine, scenario).run()
    kpis = compute_kpis(result.log)
    lost = [e for e in result.log if e.kind == events.ORDER_LOST]
    assert kpis["payments_declined"] > 0 and kpis["orders"] > 0
    assert kpis["lost_reasons"]["payment_failed:insufficient_funds"] == kpis["payments_declined"] == len(lost)
    # Checkout made an order for each, which ordering cancelled when the payment was declined.
    with twin_engine.connect() as conn:
        rows = conn.execute(select(orders).where(orders.c.tenant_id == result.world.tenant_id)).all()
    placed = {e.order for e in result.log if e.kind == events.ORDER_PLACED}
    unplaced = [r for r in rows if r.id not in placed]
    assert len(unplaced) == len(lost) and {r.status for r in unplaced} == {"cancelled"}
    assert_the_books_prove_out(result, twin_engine, 2_500)


def test_customers_reload_a_low_wallet_before_paying(twin_engine: Engine, tiny: dict[str, Any]) -> None:
    # GBP 100 each, reloaded by as much below GBP 90: every customer pays from at least GBP 90, and
    # a customer's second order already finds the wallet below the line.
    tiny["payment"] = {"wallet_top_up_minor": 10_000, "reload_below_minor": 9_000, "authorisation_margin_bps": 0}
    scenario = parse_scenario(tiny)
    result = simulation(twin_engine, scenario).run()
    kpis = compute_kpis(result.log)
    assert kpis["orders"] > customers(scenario) and kpis["payments_declined"] == 0
    assert kpis["wallet_reloads"] > 0
    assert result.unfinished_orders == 0
    assert_the_books_prove_out(result, twin_engine, 10_000, reloads=kpis["wallet_reloads"])


def test_a_reload_must_add_money(tiny: dict[str, Any]) -> None:
    tiny["payment"] = {"wallet_top_up_minor": 0, "reload_below_minor": 1_000}
    with pytest.raises(ScenarioInvalid, match="reload_below_minor"):
        parse_scenario(tiny)


class CaptureRefusingWallet(WalletProvider):
    """The wallet, except that every other capture is refused (as a provider outage would be)."""

    def __init__(self) -> None:
        self.captures = 0

    def capture(self, trade: str, *, authorised: int, amount: int, currency: str, release_request: str) -> None:
        self.captures += 1
        if self.captures % 2 == 0:
            raise PaymentFailed("the capture was refused", trade=trade)


def test_an_order_whose_capture_fails_is_held_at_the_store_and_keeps_its_hold(
    twin_engine: Engine, tiny: dict[str, Any]
) -> None:
    tiny["demand"] = {**tiny["demand"], "collection_share": 0.5}
    scenario = parse_scenario(tiny)
    sim = simulation(twin_engine, scenario)
    wallet = CaptureRefusingWallet()
    real = sim.payments.providers
    sim.payments.providers = PaymentProviders(
        real.settings, {Method.WALLET: wallet, Method.TEST: real.get(Method.TEST)}
    )
    result = sim.run()
    kpis = compute_kpis(result.log)
    held = {e.order for e in result.log if e.kind == events.ORDER_HELD}
    assert len(held) == kpis["orders_held_for_payment"] > 0
    assert result.unfinished_orders == 0  # held orders leave the twin: nobody sorts the money out here
    moved_on = {e.order for e in result.log if e.kind in (events.ORDER_DISPATCHED, events.ORDER_COLLECTED)}
    assert not held & moved_on  # never handed over unpaid
    kinds = Counter(e.kind for e in result.log if e.order in held)
    assert kinds[events.ORDER_PACKED] == len(held) and kinds[events.PAYMENT_CAPTURED] == 0

    books = assert_the_books_prove_out(result, twin_engine, scenario.payment.wallet_top_up_minor)
    runtime = Runtime(engine=twin_engine, settings=Settings())
    still_held = 0
    for order_id in held:
        order = ordering.get_order(runtime.uow(), result.world.tenant_id, str(order_id))
        assert order.status.value in ("packed", "ready_for_collection") and order.is_held_for_payment
        paid = payments.order_payment(runtime.uow(), tenant_id=result.world.tenant_id, order_id=str(order_id))
        assert paid is not None and paid.status is PaymentStatus.AUTHORISED and paid.capture_failure
        still_held += paid.authorised
    assert sum(books[AccountKind.HOLDS]) == still_held


def test_paying_on_delivery_moves_no_money(twin_engine: Engine, tiny: dict[str, Any]) -> None:
    tiny["payment"] = {"method": "on_delivery"}
    result = simulation(twin_engine, parse_scenario(tiny)).run()
    kpis = compute_kpis(result.log)
    assert kpis["orders"] > 0 and kpis["payments_captured_minor"] == 0
    assert not any(balances(twin_engine, result.world.tenant_id).values())  # not one ledger account
    placed = [str(e.order) for e in result.log if e.kind == events.ORDER_PLACED]
    runtime = Runtime(engine=twin_engine, settings=Settings())
    by_id = ordering.orders_by_ids(runtime.uow(), tenant_id=result.world.tenant_id, order_ids=placed)
    assert {o.payment_mode.value for o in by_id.values()} == {"pay_on_delivery"}
