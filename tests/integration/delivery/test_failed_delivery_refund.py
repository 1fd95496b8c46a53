"""A paid order that could not be delivered rides back, and the bus handler refunds it to the
original payment method: once, however often ``OrderReturned`` is delivered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from newretail.core.messaging import PublishedEvent, outbox
from newretail.core.money import Money
from newretail.delivery import services as delivery
from newretail.delivery.model import FailureReason
from newretail.ordering import payment
from newretail.ordering import services as ordering
from newretail.ordering.model import OrderStatus, PaymentMode
from newretail.payments import ledger
from newretail.payments import services as payments
from newretail.payments.config import PaymentSettings
from newretail.payments.model import Method, PaymentStatus, RefundExceedsCapture
from newretail.payments.providers import PaymentProviders, TestProvider, WalletProvider
from newretail.payments.repository import LedgerRepository
from newretail.payments.tables import refunds
from newretail.wiring import register_handlers

TOP_UP = 5_000


@pytest.fixture
def providers(depot: Any) -> PaymentProviders:
    providers = PaymentProviders(
        PaymentSettings(authorisation_margin_bps=1000),
        {Method.WALLET: WalletProvider(), Method.TEST: TestProvider(depot.runtime.clock)},
    )
    register_handlers(depot.runtime, lambda: providers)
    return providers


def place_paid(depot: Any, providers: PaymentProviders, *, method: Method = Method.WALLET, token: str = "") -> str:
    order_id = depot.place(at_km=(1.0, 0.3), lines=(("MILK-1", 2), ("APPLE-1", 400)), payment_mode=PaymentMode.PAY_NOW)
    view = payment.pay(
        depot.runtime.uow(),
        providers,
        tenant_id=depot.tenant_id,
        customer_id=depot.world.customer.id,
        order_id=order_id,
        method=method,
        payment_code=token or None,
        idempotency_key=f"checkout:{order_id}",
    )
    assert view.status is PaymentStatus.AUTHORISED
    return order_id


def top_up(depot: Any, providers: PaymentProviders, amount: int) -> None:
    payments.top_up_wallet(
        depot.runtime.uow(),
        providers,
        tenant_id=depot.tenant_id,
        customer_id=depot.world.customer.id,
        amount=Money(amount, "GBP"),
        method=Method.TEST,
        payment_code="tok_ok",
        idempotency_key=f"top-up-{amount}",
    )


def wallet(depot: Any) -> int:
    return payments.wallet_balance(
        depot.runtime.uow(), tenant_id=depot.tenant_id, customer_id=depot.world.customer.id, currency="GBP"
    ).amount


def pack(depot: Any, order_id: str) -> None:
    batch = depot.start_picking([order_id])
    depot.advance(timedelta(minutes=2))
    depot.pack([order_id], batch)


def ride_out_fail_and_come_back(depot: Any, order_id: str) -> None:
    """dispatch_tick -> depart -> fail_delivery -> arrive_back, as a courier would."""
    (trip,) = depot.tick().loading
    assert trip.order_ids == (order_id,)
    riding = delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    depot.advance(timedelta(minutes=8))
    delivery.fail_delivery(
        depot.runtime.uow(),
        tenant_id=depot.tenant_id,
        stop_id=riding.stops[0].id,
        reason=FailureReason.CUSTOMER_ABSENT,
    )
    depot.advance(timedelta(minutes=8))
    delivery.arrive_back(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    assert depot.status(order_id) is OrderStatus.RETURNED


def stored_events(depot: Any, name: str) -> list[PublishedEvent]:
    with depot.runtime.engine.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.name == name).order_by(outbox.c.id)).all()
    return [PublishedEvent(r.id, r.name, r.tenant_id, dict(r.payload), r.occurred_at) for r in rows]


def refund_rows(depot: Any) -> int:
    with depot.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(refunds)).scalar_one())


def test_a_paid_order_returned_undelivered_is_refunded_to_the_wallet_once(
    depot: Any, providers: PaymentProviders
) -> None:
    depot.courier()
    top_up(depot, providers, TOP_UP)
    order_id = place_paid(depot, providers)
    pack(depot, order_id)  # OrderPacked -> the handler captures the packed total
    captured = payments.order_payment(depot.runtime.uow(), tenant_id=depot.tenant_id, order_id=order_id)
    assert captured is not None and captured.status is PaymentStatus.CAPTURED and captured.captured > 0
    assert wallet(depot) == TOP_UP - captured.captured

    ride_out_fail_and_come_back(depot, order_id)

    (returned,) = stored_events(depot, "OrderReturned")
    assert returned.payload["refund_due_minor"] == captured.captured
    assert returned.payload["payment_mode"] == "pay_now"
    assert wallet(depot) == TOP_UP  # every penny captured is back in the wallet
    after = payments.order_payment(depot.runtime.uow(), tenant_id=depot.tenant_id, order_id=order_id)
    assert after is not None and after.refunded == after.captured == captured.captured
    (refunded,) = [e.payload for e in stored_events(depot, "PaymentRefunded")]
    assert refunded["order_id"] == order_id and refunded["amount"] == captured.captured
    assert refund_rows(depot) == 1
    assert payments.verify_ledger(depot.runtime.uow()).ok
    with depot.runtime.engine.connect() as conn:
        book = LedgerRepository(conn)
        assert book.balance(depot.tenant_id, ledger.refunds(depot.store_id, "GBP")) == captured.captured
        assert book.balance(depot.tenant_id, ledger.holds(depot.world.customer.id, "GBP")) == 0

    # The relay redelivers the event (a crash before it was marked published): nothing moves again.
    assert depot.runtime.bus.deliver(depot.runtime.engine, [returned, returned], depot.runtime.clock.now()) == 2
    assert wallet(depot) == TOP_UP
    assert refund_rows(depot) == 1
    assert len(stored_events(depot, "PaymentRefunded")) == 1
    assert payments.verify_ledger(depot.runtime.uow()).ok


def test_a_pay_on_delivery_order_returned_refunds_nothing(depot: Any, providers: PaymentProviders) -> None:
    depot.courier()
    top_up(depot, providers, TOP_UP)
    (order_id,) = depot.packed_orders(1)  # placed pay on delivery
    ride_out_fail_and_come_back(depot, order_id)
    (returned,) = stored_events(depot, "OrderReturned")
    assert returned.payload["refund_due_minor"] == 0
    assert refund_rows(depot) == 0 and wallet(depot) == TOP_UP
    with depot.runtime.engine.connect() as conn:  # the handler ran and succeeded: the event is done
        row = conn.execute(select(outbox).where(outbox.c.id == returned.outbox_id)).one()
    assert row.published_at is not None and row.attempts == 0


def test_an_order_sent_out_unpaid_by_a_managers_override_gets_its_hold_back(
    depot: Any, providers: PaymentProviders
) -> None:
    depot.courier()
    order_id = place_paid(depot, providers, method=Method.TEST, token="tok_capture_fails")
    pack(depot, order_id)
    order = ordering.get_order(depot.runtime.uow(), depot.tenant_id, order_id)
    assert order.is_held_for_payment
    assert not depot.tick().loading  # held orders wait at the store
    payment.release_hold(depot.runtime.uow(), tenant_id=depot.tenant_id, order_id=order_id)

    ride_out_fail_and_come_back(depot, order_id)

    view = payments.order_payment(depot.runtime.uow(), tenant_id=depot.tenant_id, order_id=order_id)
    assert view is not None and view.status is PaymentStatus.VOIDED and view.captured == 0
    assert view.released == view.authorised
    assert refund_rows(depot) == 0
    with depot.runtime.engine.connect() as conn:
        assert LedgerRepository(conn).balance(depot.tenant_id, ledger.holds(depot.world.customer.id, "GBP")) == 0
    assert payments.verify_ledger(depot.runtime.uow()).ok


def test_a_refund_above_the_capture_is_refused_and_moves_nothing(depot: Any, providers: PaymentProviders) -> None:
    depot.courier()  # express is offered only with a courier on shift
    top_up(depot, providers, TOP_UP)
    order_id = place_paid(depot, providers)
    pack(depot, order_id)
    captured = payments.order_payment(depot.runtime.uow(), tenant_id=depot.tenant_id, order_id=order_id)
    assert captured is not None
    before = wallet(depot)
    with pytest.raises(RefundExceedsCapture):
        payment.refund_returned(
            depot.runtime.uow(),
            providers,
            tenant_id=depot.tenant_id,
            order_id=order_id,
            amount=Money(captured.captured + 1, "GBP"),
            reason="customer_absent",
        )
    assert wallet(depot) == before and refund_rows(depot) == 0
    assert payments.verify_ledger(depot.runtime.uow()).ok
