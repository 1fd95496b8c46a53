"""How an order pays: the seam between ordering and payments.

A pay-now order is created ``awaiting_payment`` with its basket reserved. Authorising the promised
total (plus the margin payments adds for weighed goods and substitutions) moves it to ``placed``:
only then does it join the pick queue. A declined payment cancels it and releases the stock. At
hand-off the *packed* total is captured (the rest of the hold is released); if that fails the order
is held — packed, but never handed over unpaid. An order that comes back undelivered is refunded
to the original method (``refund_returned``, on ``OrderReturned``).
"""

from __future__ import annotations

import logging

from newretail.core.errors import Conflict
from newretail.core.money import Money
from newretail.core.uow import UnitOfWork
from newretail.ordering.events import OrderCancelled, OrderStatusChanged
from newretail.ordering.model import Order, OrderStatus, PaymentMode
from newretail.ordering.repository import OrderingRepository
from newretail.ordering.services import get_order, release_order_stock
from newretail.payments import services as payments
from newretail.payments.model import Channel, Method, PaymentFailed, PaymentStatus, PaymentView, RefundView
from newretail.payments.providers import PaymentProviders

log = logging.getLogger(__name__)


def pay(
    uow: UnitOfWork,
    providers: PaymentProviders,
    *,
    tenant_id: str,
    customer_id: str,
    order_id: str,
    method: Method,
    channel: Channel = Channel.DIRECT,
    payment_code: str | None = None,
    idempotency_key: str,
) -> PaymentView:
    """Authorise a pay-now order. Wallet and test payments settle at once; an Alipay QR payment
    stays pending (show ``qr_code``) until Alipay's verified notification authorises it."""
    order = get_order(uow, tenant_id, order_id)
    if order.customer_id != customer_id:
        raise Conflict("this is not your order", order_id=order_id)
    if order.payment_mode is not PaymentMode.PAY_NOW:
        raise Conflict("this order is paid on delivery", order_id=order_id)
    try:
        view = payments.authorise_order(
            uow,
            providers,
            tenant_id=tenant_id,
            order_id=order_id,
            customer_id=customer_id,
            store_id=order.store_id,
            amount=order.estimated_total,
            method=method,
            channel=channel,
            payment_code=payment_code,
            idempotency_key=idempotency_key,
        )
    except PaymentFailed:
        payment_failed(uow, tenant_id=tenant_id, order_id=order_id)
        raise
    if view.status is PaymentStatus.AUTHORISED:
        payment_authorised(uow, tenant_id=tenant_id, order_id=order_id)
    return view


def payment_authorised(uow: UnitOfWork, *, tenant_id: str, order_id: str) -> Order | None:
    """Idempotent: the direct answer and the provider's notification may both arrive.

    The payment must be the order's own: its customer's money, authorised, covering the promised
    total. Anything else (someone paying against another's order id) moves nothing.
    """
    held = payments.order_payment(uow, tenant_id=tenant_id, order_id=order_id)
    with uow:
        repo = OrderingRepository(uow.conn)
        order = repo.order(tenant_id, order_id, for_update=True)
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            return order
        if (
            held is None
            or held.status is not PaymentStatus.AUTHORISED
            or held.customer_id != order.customer_id
            or held.promised < order.estimated_total.amount
            or held.currency != order.currency
        ):
            log.warning("payment for order %s does not cover it or is not the customer's; ignored", order_id)
            return order
        order.authorise_payment(uow.clock.now())
        repo.save_order(order)
        uow.emit(
            OrderStatusChanged(
                tenant_id=tenant_id, order_id=order_id, store_id=order.store_id, status=order.status.value
            )
        )
        uow.commit()
    return order


def payment_failed(uow: UnitOfWork, *, tenant_id: str, order_id: str) -> Order | None:
    """The customer never paid: cancel the order and give its stock back."""
    with uow:
        repo = OrderingRepository(uow.conn)
        order = repo.order(tenant_id, order_id, for_update=True)
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            return order
        order.fail_payment(uow.clock.now())
        release_order_stock(uow, order)
        repo.save_order(order)
        uow.emit(
            OrderCancelled(tenant_id=tenant_id, order_id=order_id, store_id=order.store_id, reason="payment failed")
        )
        uow.commit()
    return order


def capture_packed(uow: UnitOfWork, providers: PaymentProviders, *, tenant_id: str, order_id: str) -> Order:
    """Collect what was actually packed; on failure hold the order (the payments seam)."""
    order = get_order(uow, tenant_id, order_id)
    if order.payment_mode is not PaymentMode.PAY_NOW or order.final_total is None:
        return order
    per_line: dict[str, int] = {}
    for line in order.final_lines or ():
        per_line[line.order_line_id] = per_line.get(line.order_line_id, 0) + line.total.amount
    try:
        payments.capture_order(
            uow,
            providers,
            tenant_id=tenant_id,
            order_id=order_id,
            amount=order.final_total,
            lines={k: Money(v, order.currency) for k, v in per_line.items() if v},
            idempotency_key=f"capture:{order_id}",
        )
    except PaymentFailed as failure:
        return hold_for_payment(uow, tenant_id=tenant_id, order_id=order_id, reason=failure.message)
    return order


def hold_for_payment(uow: UnitOfWork, *, tenant_id: str, order_id: str, reason: str) -> Order:
    with uow:
        repo = OrderingRepository(uow.conn)
        order = repo.order(tenant_id, order_id, for_update=True)
        order.hold_for_payment(reason)
        repo.save_order(order)
        uow.commit()
    return order


def release_hold(uow: UnitOfWork, *, tenant_id: str, order_id: str) -> Order:
    """A manager's explicit override once the money is sorted (collected another way)."""
    with uow:
        repo = OrderingRepository(uow.conn)
        order = repo.order(tenant_id, order_id, for_update=True)
        order.release_payment_hold()
        repo.save_order(order)
        uow.commit()
    return order


def void_if_cancelled(uow: UnitOfWork, providers: PaymentProviders, *, tenant_id: str, order_id: str) -> None:
    order = get_order(uow, tenant_id, order_id)
    if order.payment_mode is not PaymentMode.PAY_NOW or order.status is not OrderStatus.CANCELLED:
        return
    if payments.order_payment(uow, tenant_id=tenant_id, order_id=order_id) is None:
        return  # it never got as far as a payment
    payments.void_authorisation(
        uow, providers, tenant_id=tenant_id, order_id=order_id, idempotency_key=f"void:{order_id}"
    )


MAX_REFUND_REASON = 300


def refund_returned(
    uow: UnitOfWork,
    providers: PaymentProviders,
    *,
    tenant_id: str,
    order_id: str,
    amount: Money,
    reason: str,
) -> RefundView | PaymentView | None:
    """An undelivered order is back in the store: give the customer's money back to where it came from.

    ``amount`` is what ordering says is due (``OrderReturned.refund_due_minor``). Once per order,
    whatever the redeliveries: the idempotency key is the order's. A captured payment is refunded that
    amount (payments refuses more than was captured and not yet refunded); an order that left unpaid
    under a manager's override still holds its authorisation, which is voided instead. Nothing was
    charged for a pay-on-delivery order (``amount`` zero): nothing moves.
    """
    if amount.amount <= 0:
        return None
    held = payments.order_payment(uow, tenant_id=tenant_id, order_id=order_id)
    if held is None or held.status in (PaymentStatus.VOIDED, PaymentStatus.FAILED):
        # A returned pay-now order always had a payment; say so loudly, but a retry cannot fix it.
        log.error("order %s came back with %s due but has no live payment; nothing refunded", order_id, amount)
        return None
    if held.status is PaymentStatus.CAPTURED:
        return payments.refund(
            uow,
            providers,
            tenant_id=tenant_id,
            order_id=order_id,
            amount=amount,
            reason=f"order returned undelivered: {reason}"[:MAX_REFUND_REASON],
            actor=None,
            idempotency_key=f"return:{order_id}",
        )
    # Authorised (or pending) but never captured: the goods are back, so the hold goes back whole.
    return payments.void_authorisation(
        uow, providers, tenant_id=tenant_id, order_id=order_id, idempotency_key=f"void:{order_id}"
    )
