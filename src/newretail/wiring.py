"""Who reacts to whose events: the in-process subscriptions between bounded contexts.

Handlers take the event as stored in the outbox and call the reacting context's services with
idempotency keys derived from the event, so a redelivery (the relay retrying after a crash) is
harmless.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from newretail.core.messaging import PublishedEvent
from newretail.core.money import Money
from newretail.core.runtime import Runtime
from newretail.payments.providers import PaymentProviders


def register_handlers(runtime: Runtime, providers: Callable[[], PaymentProviders]) -> None:
    from newretail.ordering import payment
    from newretail.ordering.repository import OrderNotFound

    def on_payment_authorised(event: PublishedEvent) -> None:
        # OrderNotFound: a payment for something else (an in-store visit, a marketplace order).
        with contextlib.suppress(OrderNotFound):
            payment.payment_authorised(runtime.uow(), tenant_id=_tenant(event), order_id=event.payload["order_id"])

    def on_payment_abandoned(event: PublishedEvent) -> None:
        with contextlib.suppress(OrderNotFound):
            payment.payment_failed(runtime.uow(), tenant_id=_tenant(event), order_id=event.payload["order_id"])

    def on_order_packed(event: PublishedEvent) -> None:
        payment.capture_packed(runtime.uow(), providers(), tenant_id=_tenant(event), order_id=event.payload["order_id"])

    def on_order_cancelled(event: PublishedEvent) -> None:
        payment.void_if_cancelled(
            runtime.uow(), providers(), tenant_id=_tenant(event), order_id=event.payload["order_id"]
        )

    def on_order_returned(event: PublishedEvent) -> None:
        # Refunds once per order (the key is the order's), so a redelivered event moves no money.
        payment.refund_returned(
            runtime.uow(),
            providers(),
            tenant_id=_tenant(event),
            order_id=event.payload["order_id"],
            amount=Money(int(event.payload["refund_due_minor"]), event.payload["currency"]),
            reason=event.payload["reason"],
        )

    runtime.bus.subscribe("PaymentAuthorised", on_payment_authorised)
    runtime.bus.subscribe("PaymentAbandoned", on_payment_abandoned)
    runtime.bus.subscribe("OrderPacked", on_order_packed)
    runtime.bus.subscribe("OrderCancelled", on_order_cancelled)
    runtime.bus.subscribe("OrderReturned", on_order_returned)


def _tenant(event: PublishedEvent) -> str:
    if event.tenant_id is None:
        raise ValueError(f"event {event.name} #{event.outbox_id} has no tenant")
    return event.tenant_id
