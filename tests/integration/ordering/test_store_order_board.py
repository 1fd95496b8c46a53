"""The operator's read of a store's orders: live statuses now, finished ones since the day began."""

from __future__ import annotations

from datetime import timedelta

import pytest

from newretail.core.clock import SimulatedClock
from newretail.core.errors import NotFound
from newretail.core.geo import Point
from newretail.core.runtime import Runtime
from newretail.delivery import services as delivery
from newretail.fulfilment import services as fulfilment
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod, OrderStatus
from newretail.ordering.services import DeliveryOption

HOME = Point(51.5150, -0.1300)


def _order(runtime: Runtime, world, shop, key: str) -> str:  # type: ignore[no-untyped-def]
    ordering.set_cart_line(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        product_id=shop.ids["BREAD-1"],
        quantity=1,
    )
    placed = ordering.checkout(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        method=FulfilmentMethod.DELIVERY,
        option=DeliveryOption.EXPRESS,
        address=HOME,
        idempotency_key=key,
    )
    return str(placed["id"])


def _deliver(runtime: Runtime, world, shop, order_id: str) -> None:  # type: ignore[no-untyped-def]
    batch = fulfilment.start_batch(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p0", order_ids=[order_id]
    )
    for task in batch.pick_list.tasks:
        fulfilment.scan(
            runtime.uow(),
            tenant_id=world.tenant_id,
            order_id=order_id,
            line_id=task.order_line_id,
            barcode=task.barcode,
            units=task.quantity,
        )
    fulfilment.pack(runtime.uow(), tenant_id=world.tenant_id, order_id=order_id)
    for step in ("dispatch", "deliver"):
        ordering.advance(runtime.uow(), tenant_id=world.tenant_id, order_id=order_id, step=step)


def test_counts_live_orders_now_and_finished_orders_since_the_given_instant(
    runtime: Runtime, clock: SimulatedClock, world, other_world, shop
) -> None:  # type: ignore[no-untyped-def]
    fulfilment.start_shift(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p0")
    courier = delivery.add_courier(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, name="Bike").id
    delivery.start_shift(runtime.uow(), tenant_id=world.tenant_id, courier_id=courier)

    yesterday = _order(runtime, world, shop, "k1")
    _deliver(runtime, world, shop, yesterday)
    clock.advance(timedelta(hours=24))
    day_start = clock.now() - timedelta(hours=1)
    today = _order(runtime, world, shop, "k2")
    _deliver(runtime, world, shop, today)
    waiting = _order(runtime, world, shop, "k3")
    cancelled = _order(runtime, world, shop, "k4")
    ordering.cancel_by_customer(
        runtime.uow(), tenant_id=world.tenant_id, customer_id=world.customer.id, order_id=cancelled
    )

    board = ordering.store_order_board(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, finished_since=day_start, recent=3
    )
    assert board.counts[OrderStatus.DELIVERED] == 1  # yesterday's delivery is not today's
    assert board.counts[OrderStatus.PLACED] == 1 and board.counts[OrderStatus.CANCELLED] == 1
    assert board.counts[OrderStatus.PICKING] == 0
    assert [o.id for o in board.recent] == [cancelled, waiting, today]

    with pytest.raises(NotFound):
        ordering.store_order_board(
            runtime.uow(), tenant_id=other_world.tenant_id, store_id=world.store.id, finished_since=day_start
        )


def test_pickers_on_shift_and_their_batches(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    for picker in ("p0", "p1"):
        fulfilment.start_shift(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id=picker)
    courier = delivery.add_courier(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, name="Bike").id
    delivery.start_shift(runtime.uow(), tenant_id=world.tenant_id, courier_id=courier)
    order_id = _order(runtime, world, shop, "k1")
    batch = fulfilment.start_batch(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p1")

    shift = fulfilment.pickers_on_shift(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id)
    assert (shift.on_shift, shift.picking) == (2, 1)
    status = fulfilment.picker_status(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p1")
    assert status.on_shift and status.batch_id == batch.batch_id
    idle = fulfilment.picker_status(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p9")
    assert not idle.on_shift and idle.batch_id is None
    progress = fulfilment.picking_progress(runtime.uow(), tenant_id=world.tenant_id, order_ids=[order_id])
    assert progress[order_id].status == "open" and not any(
        lp.is_closed for lp in progress[order_id].picking.lines.values()
    )
