"""Orders pay through the real services: authorise, capture, release, void, refund, idempotency."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from newretail.core.errors import Conflict, IdempotencyKeyReused, ValidationFailed
from newretail.core.messaging import outbox
from newretail.payments import services
from newretail.payments.model import Method, PaymentFailed, PaymentStatus, RefundExceedsCapture
from newretail.payments.tables import journal_entries, payments

Shop = Any


def _count(shop: Shop, table: Any) -> int:
    with shop.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _events(shop: Shop, name: str) -> list[dict[str, Any]]:
    with shop.runtime.engine.connect() as conn:
        return [r.payload for r in conn.execute(select(outbox.c.payload).where(outbox.c.name == name))]


def test_wallet_order_holds_promised_plus_margin_captures_packed_total_and_releases_the_rest(shop: Shop) -> None:
    shop.top_up(10_000, "top-1")
    payment = shop.authorise("order-1", 2_000, variable_amount=shop.money(1_000))
    # margin is 10% of the variable part (weighed items, substitutions)
    assert (payment.status, payment.margin, payment.authorised) == (PaymentStatus.AUTHORISED, 100, 2_100)
    assert shop.wallet() == 10_000 - 2_100

    captured = shop.capture("order-1", 1_950)
    assert (captured.status, captured.captured, captured.released) == (PaymentStatus.CAPTURED, 1_950, 150)
    assert captured.is_paid
    assert shop.wallet() == 10_000 - 1_950
    assert _events(shop, "PaymentCaptured")[0]["captured"] == 1_950
    shop.verify()


def test_wallet_pays_a_packed_total_above_the_hold_from_its_balance(shop: Shop) -> None:
    shop.top_up(3_000, "top-1")
    shop.authorise("order-1", 1_000, variable_amount=shop.money(0))
    captured = shop.capture("order-1", 1_400)
    assert (captured.captured, captured.released) == (1_400, 0)
    assert shop.wallet() == 1_600
    shop.verify()


def test_an_overdraft_is_refused_and_writes_nothing(shop: Shop) -> None:
    shop.top_up(500, "top-1")
    entries_before = _count(shop, journal_entries)
    with pytest.raises(PaymentFailed) as failure:
        shop.authorise("order-1", 2_000)
    assert failure.value.details["reason"] == "insufficient_funds"
    assert shop.wallet() == 500
    assert _count(shop, journal_entries) == entries_before
    assert _count(shop, payments) == 0
    # the same key may be retried once the customer has topped up
    shop.top_up(5_000, "top-2")
    assert shop.authorise("order-1", 2_000).status is PaymentStatus.AUTHORISED
    shop.verify()


def test_same_idempotency_key_moves_money_once_and_a_different_request_under_it_is_refused(shop: Shop) -> None:
    shop.top_up(10_000, "top-1")
    shop.top_up(10_000, "top-1")  # a retry
    assert shop.wallet() == 10_000
    first = shop.authorise("order-1", 1_000, key="k1")
    again = shop.authorise("order-1", 1_000, key="k1")
    assert first == again
    assert shop.wallet() == 10_000 - first.authorised
    with pytest.raises(IdempotencyKeyReused):
        shop.authorise("order-1", 999, key="k1")
    with pytest.raises(Conflict):  # another key, same order: one live payment per order
        shop.authorise("order-1", 1_000, key="k2")
    shop.capture("order-1", 900, key="c1")
    shop.capture("order-1", 900, key="c1")
    shop.capture("order-1", 900, key="c2")  # same capture under another key: recognised, nothing moves
    with pytest.raises(Conflict):
        shop.capture("order-1", 800, key="c3")
    assert shop.wallet() == 10_000 - 900
    shop.refund("order-1", "r1", amount=100)
    shop.refund("order-1", "r1", amount=100)
    assert shop.wallet() == 10_000 - 800
    shop.verify()


def test_void_gives_the_whole_hold_back_and_the_order_can_pay_again(shop: Shop) -> None:
    shop.top_up(5_000, "top-1")
    shop.authorise("order-1", 1_000)
    voided = shop.void("order-1")
    assert (voided.status, voided.released) == (PaymentStatus.VOIDED, 1_100)
    assert shop.void("order-1", key="void-again").status is PaymentStatus.VOIDED
    assert shop.wallet() == 5_000
    assert shop.authorise("order-1", 1_000, key="second-try").status is PaymentStatus.AUTHORISED
    with pytest.raises(PaymentFailed):  # the voided payment can no longer be captured...
        services.capture_order(
            shop.runtime.uow(),
            shop.providers,
            tenant_id=shop.tenant_id,
            order_id="order-404",
            amount=shop.money(1),
            idempotency_key="c",
        )
    shop.verify()


def test_refunds_whole_and_per_line_never_exceed_the_capture(shop: Shop) -> None:
    shop.top_up(10_000, "top-1")
    shop.authorise("order-1", 3_000)
    shop.capture("order-1", 3_000, lines={"milk": 1_000, "salmon": 2_000})
    line_refund = shop.refund("order-1", "r-line", lines={"salmon": 500})
    assert (line_refund.amount, line_refund.lines) == (500, {"salmon": 500})
    with pytest.raises(RefundExceedsCapture):
        shop.refund("order-1", "r-too-much-line", lines={"milk": 1_001})
    with pytest.raises(RefundExceedsCapture):
        shop.refund("order-1", "r-too-much", amount=2_501)
    with pytest.raises(ValidationFailed):
        shop.refund("order-1", "r-unknown", lines={"bread": 1})
    rest = shop.refund("order-1", "r-rest")  # whole: everything that is left
    assert rest.amount == 2_500
    with pytest.raises(RefundExceedsCapture):
        shop.refund("order-1", "r-nothing-left")
    assert shop.wallet() == 10_000
    payment = services.order_payment(shop.runtime.uow(), tenant_id=shop.tenant_id, order_id="order-1")
    assert payment is not None and payment.refunded == payment.captured == 3_000
    assert payment.lines == {"milk": (1_000, 0), "salmon": (2_000, 500)}
    shop.verify()


def test_a_failed_capture_holds_the_order_and_says_so(shop: Shop) -> None:
    shop.authorise("order-1", 1_000, method=Method.TEST, payment_code="tok_capture_fails")
    with pytest.raises(PaymentFailed):
        shop.capture("order-1", 1_000)
    payment = services.order_payment(shop.runtime.uow(), tenant_id=shop.tenant_id, order_id="order-1")
    assert payment is not None
    assert payment.status is PaymentStatus.AUTHORISED and not payment.is_paid
    assert payment.capture_failure == "the test provider refused the capture"
    failed = _events(shop, "PaymentCaptureFailed")
    assert [(e["order_id"], e["payment_id"]) for e in failed] == [("order-1", payment.id)]
    shop.verify()


def test_a_capture_above_what_a_provider_holds_fails_and_a_missing_payment_too(shop: Shop) -> None:
    shop.authorise("order-1", 1_000, method=Method.TEST, variable_amount=shop.money(0))
    with pytest.raises(PaymentFailed):
        shop.capture("order-1", 1_001)
    with pytest.raises(PaymentFailed):
        shop.capture("no-such-order", 10)
    assert {e["order_id"] for e in _events(shop, "PaymentCaptureFailed")} == {"order-1", "no-such-order"}
    # a capture within the hold still works afterwards, and clears the failure
    captured = shop.capture("order-1", 1_000, key="second")
    assert captured.is_paid and captured.capture_failure is None
    shop.verify()


def test_declined_test_payment_writes_nothing(shop: Shop) -> None:
    with pytest.raises(PaymentFailed):
        shop.authorise("order-1", 1_000, method=Method.TEST, payment_code="tok_decline")
    assert _count(shop, payments) == 0
    assert services.order_payment(shop.runtime.uow(), tenant_id=shop.tenant_id, order_id="order-1") is None


def test_test_provider_money_flows_through_clearing(shop: Shop) -> None:
    shop.authorise("order-1", 2_000, method=Method.TEST, payment_code="tok_ok")
    shop.capture("order-1", 1_500)
    shop.refund("order-1", "r1", amount=500)
    provider = shop.providers.get(Method.TEST)
    state = provider.query(services.order_payment(shop.runtime.uow(), tenant_id=shop.tenant_id, order_id="order-1").id)
    assert (state.amount, state.refunded) == (2_200, 700 + 500)
    with shop.runtime.uow() as uow:
        from newretail.payments import ledger
        from newretail.payments.repository import LedgerRepository

        book = LedgerRepository(uow.conn)
        assert book.balance(shop.tenant_id, ledger.provider_clearing("test", "GBP")) == 1_000
        assert book.balance(shop.tenant_id, ledger.store_sales(shop.store_id, "GBP")) == 1_500
        assert book.balance(shop.tenant_id, ledger.refunds(shop.store_id, "GBP")) == 500
        assert book.balance(shop.tenant_id, ledger.holds(shop.customer_id, "GBP")) == 0
    shop.verify()


def test_settlement_moves_clearing_to_bank_less_fees(shop: Shop) -> None:
    shop.authorise("order-1", 2_000, method=Method.TEST)
    shop.capture("order-1", 2_000)
    for _ in range(2):
        services.record_settlement(
            shop.runtime.uow(),
            tenant_id=shop.tenant_id,
            method=Method.TEST,
            gross=shop.money(2_000),
            fee=shop.money(12),
            reference="payout-1",
            idempotency_key="settle-1",
        )
    with shop.runtime.uow() as uow:
        from newretail.payments import ledger
        from newretail.payments.repository import LedgerRepository

        book = LedgerRepository(uow.conn)
        assert book.balance(shop.tenant_id, ledger.provider_clearing("test", "GBP")) == 0
        assert book.balance(shop.tenant_id, ledger.bank("GBP")) == 1_988
        assert book.balance(shop.tenant_id, ledger.fees("test", "GBP")) == 12
    shop.verify()


def test_wrong_currency_and_unknown_store_or_customer_are_refused(shop: Shop, other_world: Any) -> None:
    from newretail.core.errors import NotFound
    from newretail.core.money import Money

    shop.top_up(5_000, "top-1")
    with pytest.raises(ValidationFailed):
        services.authorise_order(
            shop.runtime.uow(),
            shop.providers,
            tenant_id=shop.tenant_id,
            order_id="o",
            customer_id=shop.customer_id,
            store_id=shop.store_id,
            amount=Money(100, "EUR"),
            method=Method.WALLET,
            idempotency_key="k",
        )
    with pytest.raises(NotFound):  # another tenant's store
        services.authorise_order(
            shop.runtime.uow(),
            shop.providers,
            tenant_id=shop.tenant_id,
            order_id="o",
            customer_id=shop.customer_id,
            store_id=other_world.store.id,
            amount=shop.money(100),
            method=Method.WALLET,
            idempotency_key="k2",
        )
    with pytest.raises(NotFound):  # another tenant's customer
        shop.top_up(100, "top-x", customer_id=other_world.customer.id)
    assert _count(shop, payments) == 0
