"""Checkout's promise plans the pick queue in batches, as the pickers will take them."""

from __future__ import annotations

from datetime import timedelta

from newretail.core.runtime import Runtime
from newretail.fulfilment import services as fulfilment
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod
from newretail.ordering.services import DeliveryOption

from .test_checkout_to_packed import staff_on_shift


def _order(runtime: Runtime, world, shop, lines: dict[str, int]) -> str:  # type: ignore[no-untyped-def]
    for sku, quantity in lines.items():
        ordering.set_cart_line(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=world.customer.id,
            product_id=shop.ids[sku],
            quantity=quantity,
        )
    placed = ordering.checkout(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        method=FulfilmentMethod.COLLECTION,
        option=DeliveryOption.COLLECTION,
        store_id=world.store.id,
    )
    return str(placed["id"])


def test_waiting_orders_and_the_new_one_are_promised_as_one_batch(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id, pickers=2)
    t0 = runtime.clock.now()
    # Store defaults: 120 s per order + 15 s per item, batches of up to 4 orders / 40 items.
    _order(runtime, world, shop, {"BREAD-1": 1})
    fulfilment.start_batch(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p0")
    runtime.clock.advance(timedelta(seconds=5))  # type: ignore[attr-defined]
    _order(runtime, world, shop, {"BREAD-1": 1})
    fulfilment.start_batch(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p1")
    for _ in range(2):  # two orders of 2 items wait: both pickers are busy
        runtime.clock.advance(timedelta(seconds=5))  # type: ignore[attr-defined]
        _order(runtime, world, shop, {"MILK-1": 2})
    runtime.clock.advance(timedelta(seconds=5))  # type: ignore[attr-defined]
    for sku in ("MILK-2", "PEAS-1"):
        ordering.set_cart_line(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=world.customer.id,
            product_id=shop.ids[sku],
            quantity=1,
        )
    plan = ordering.quote(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        method=FulfilmentMethod.COLLECTION,
        address=None,
        store_id=world.store.id,
    )
    # p0 is free at t0 + 135 s and takes the two waiting orders and this one in one walk of
    # 3 x (120 + 2 x 15) s; one order at a time would have finished this one at t0 + 435 s. Four
    # orders in the last half hour make ~0.2 newcomers before then: nobody joins.
    assert plan.quote.pick_starts_at == t0 + timedelta(seconds=135)
    assert plan.quote.pick_complete_at == t0 + timedelta(seconds=135 + 3 * 150)
