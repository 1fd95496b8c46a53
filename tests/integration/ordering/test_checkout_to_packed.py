"""One order from cart to packed through the real services, with a substitution approved."""

from __future__ import annotations

from datetime import timedelta

import pytest

from newretail.core.geo import Point, offset_km
from newretail.core.runtime import Runtime
from newretail.fulfilment import services as fulfilment
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod, OrderStatus
from newretail.ordering.promise import OutsideDeliveryZone
from newretail.ordering.services import DeliveryOption
from newretail.seed import seed_store_staff


def staff_on_shift(runtime: Runtime, tenant_id: str, store_id: str, pickers: int = 1, couriers: int = 1) -> None:
    """Pickers p0, p1, ... and bikes on shift at the store."""
    seed_store_staff(runtime, tenant_id, store_id, pickers=pickers, couriers=couriers, picker_prefix="p")


def _fill_cart(runtime: Runtime, world, shop, customer_id: str | None = None) -> None:  # type: ignore[no-untyped-def]
    for sku, quantity in [("MILK-1", 2), ("BREAD-1", 1), ("APPLE-1", 500)]:
        ordering.set_cart_line(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=customer_id or world.customer.id,
            product_id=shop.ids[sku],
            quantity=quantity,
        )


def _available(runtime: Runtime, world, shop, sku: str) -> int:  # type: ignore[no-untyped-def]
    product_id = shop.ids[sku]
    return inventory.availability(runtime.uow(), world.tenant_id, world.store.id, [product_id])[product_id].available


HOME = Point(51.5150, -0.1300)  # about 1 km from the store


def quote_delivery(runtime: Runtime, tenant_id: str, customer_id: str, address: Point = HOME) -> ordering.Plan:
    """The customer's cart quoted for delivery to ``address``, the store chosen by the service."""
    return ordering.quote(
        runtime.uow(),
        tenant_id=tenant_id,
        customer_id=customer_id,
        method=FulfilmentMethod.DELIVERY,
        address=address,
        store_id=None,
    )


def test_order_from_cart_to_packed_with_an_approved_substitution(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    _fill_cart(runtime, world, shop)
    plan = quote_delivery(runtime, world.tenant_id, world.customer.id)
    assert plan.store.id == world.store.id
    assert plan.quote.express is not None, "an empty store at 1 km must offer express"
    placed = ordering.checkout(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        method=FulfilmentMethod.DELIVERY,
        option=DeliveryOption.EXPRESS,
        address=HOME,
        idempotency_key="click-1",
    )
    assert placed["status"] == "placed"
    assert placed["estimated_total_minor"] == 2 * 165 + 250 + 150  # 500 g of apples at 3.00/kg
    assert _available(runtime, world, shop, "MILK-1") == 18
    again = ordering.checkout(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        method=FulfilmentMethod.DELIVERY,
        option=DeliveryOption.EXPRESS,
        address=HOME,
        idempotency_key="click-1",
    )
    assert again["id"] == placed["id"]  # a double tap places one order

    batch = fulfilment.start_batch(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p0")
    walk = [(t.location.aisle, t.name) for t in batch.pick_list.tasks]
    assert [name for _, name in walk] == ["Sourdough loaf", "Loose apples", "Whole milk 2L"]
    lines = {t.product_id: t.order_line_id for t in batch.pick_list.tasks}
    order_id = placed["id"]
    runtime.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    fulfilment.scan(
        runtime.uow(),
        tenant_id=world.tenant_id,
        order_id=order_id,
        line_id=lines[shop.ids["BREAD-1"]],
        barcode=shop.gtins["BREAD-1"],
    )
    fulfilment.scan(
        runtime.uow(),
        tenant_id=world.tenant_id,
        order_id=order_id,
        line_id=lines[shop.ids["APPLE-1"]],
        barcode=shop.gtins["APPLE-1"],
        grams=520,
    )
    milk_line = lines[shop.ids["MILK-1"]]
    with pytest.raises(Exception) as wrong:
        fulfilment.scan(
            runtime.uow(), tenant_id=world.tenant_id, order_id=order_id, line_id=milk_line, barcode=shop.gtins["PEAS-1"]
        )
    assert getattr(wrong.value, "code", "") == "wrong_item_scanned"
    # The shelf is empty: the system suggests a substitute, the customer approves it.
    suggestions = fulfilment.suggest_substitutes(
        runtime.uow(), tenant_id=world.tenant_id, order_id=order_id, line_id=milk_line
    )
    assert suggestions[0].product_id == shop.ids["MILK-2"]
    fulfilment.propose_substitute(
        runtime.uow(), tenant_id=world.tenant_id, order_id=order_id, line_id=milk_line, product_id=shop.ids["MILK-2"]
    )
    fulfilment.answer_substitution(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        order_id=order_id,
        line_id=milk_line,
        approve=True,
    )
    fulfilment.scan(
        runtime.uow(),
        tenant_id=world.tenant_id,
        order_id=order_id,
        line_id=milk_line,
        barcode=shop.gtins["MILK-2"],
        units=2,
    )
    order = fulfilment.pack(runtime.uow(), tenant_id=world.tenant_id, order_id=order_id, picker_id="p0")

    assert order.status is OrderStatus.PACKED
    assert order.final_total is not None and order.final_total.amount == 250 + 156 + 2 * 155
    assert order.is_partially_fulfilled  # the milk line was substituted
    assert _available(runtime, world, shop, "MILK-1") == 20  # its hold came back
    assert _available(runtime, world, shop, "MILK-2") == 18  # the substitute left the shelf
    assert _available(runtime, world, shop, "APPLE-1") == 20_000 - 520
    with runtime.uow() as uow:
        from newretail.fulfilment.repository import FulfilmentRepository

        assert FulfilmentRepository(uow.conn).picker_free_times(
            world.tenant_id, world.store.id, runtime.clock.now()
        ) == [runtime.clock.now()]


def test_outside_every_zone_names_the_nearest_store(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    _fill_cart(runtime, world, shop)
    far = offset_km(world.store.location, 10, 0)
    with pytest.raises(OutsideDeliveryZone) as err:
        ordering.checkout(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=world.customer.id,
            method=FulfilmentMethod.DELIVERY,
            option=DeliveryOption.EXPRESS,
            address=far,
        )
    assert err.value.details["nearest_store_id"] == world.store.id
    assert 9_900 < err.value.details["nearest_distance_m"] < 10_100
    assert _available(runtime, world, shop, "MILK-1") == 20


def test_customer_cancel_before_picking_releases_stock(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    _fill_cart(runtime, world, shop)
    placed = ordering.checkout(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        method=FulfilmentMethod.COLLECTION,
        option=DeliveryOption.COLLECTION,
        store_id=world.store.id,
    )
    assert _available(runtime, world, shop, "BREAD-1") == 9
    ordering.cancel_by_customer(
        runtime.uow(), tenant_id=world.tenant_id, customer_id=world.customer.id, order_id=placed["id"]
    )
    assert _available(runtime, world, shop, "BREAD-1") == 10
