from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from newretail.core.geo import Point, offset_km
from newretail.core.runtime import Runtime
from newretail.inventory import services as inventory
from newretail.inventory.model import OutOfStock
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod
from newretail.ordering.services import DeliveryOption
from newretail.tenancy import services as tenancy

from .test_checkout_to_packed import HOME, quote_delivery, staff_on_shift


def test_the_nearest_store_is_skipped_when_it_lacks_a_line(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    from newretail.catalog import services as catalog

    far_store = tenancy.open_store(
        runtime.uow(),
        tenant_id=world.tenant_id,
        name="Second",
        address="2 Road",
        lat=offset_km(HOME, 0, 1.5).lat,
        lon=offset_km(HOME, 0, 1.5).lon,
        delivery_radius_m=3219,
    )
    near = Point(world.store.location.lat, world.store.location.lon + 0.004)  # ~300 m from the first store
    bread = shop.ids["BREAD-1"]
    catalog.set_store_price(
        runtime.uow(), tenant_id=world.tenant_id, store_id=far_store.id, product_id=bread, price_minor=260
    )
    catalog.set_location(
        runtime.uow(), tenant_id=world.tenant_id, store_id=far_store.id, product_id=bread, aisle=1, bay=1, shelf=1
    )
    inventory.receive(runtime.uow(), tenant_id=world.tenant_id, store_id=far_store.id, product_id=bread, quantity=30)
    for store_id in (world.store.id, far_store.id):
        staff_on_shift(runtime, world.tenant_id, store_id)
    ordering.set_cart_line(
        runtime.uow(), tenant_id=world.tenant_id, customer_id=world.customer.id, product_id=bread, quantity=12
    )  # the first store has 10
    plan = quote_delivery(runtime, world.tenant_id, world.customer.id, near)
    assert plan.store.id == far_store.id
    assert plan.lines[0].unit_price.amount == 260  # priced at the store that will serve it


def test_express_gives_way_to_slots_as_the_pick_queue_grows(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id, pickers=1, couriers=2)
    offers = []
    for i in range(12):
        customer = tenancy.register_user(
            runtime.uow(),
            world.hashing,
            tenant_id=world.tenant_id,
            email=f"c{i}@acme.test",
            name=f"C{i}",
            password="long enough pw",
            role=tenancy.Role.CUSTOMER,
        )
        ordering.set_cart_line(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=customer.id,
            product_id=shop.ids["BREAD-1"] if i < 10 else shop.ids["MILK-1"],
            quantity=1,
        )
        plan = quote_delivery(runtime, world.tenant_id, customer.id)
        offers.append((plan.quote.express is not None, len(plan.quote.slots), plan.quote.pick_complete_at))
        option = DeliveryOption.EXPRESS if plan.quote.express else DeliveryOption.SLOT
        ordering.checkout(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=customer.id,
            method=FulfilmentMethod.DELIVERY,
            option=option,
            address=HOME,
            slot_start=None if plan.quote.express else plan.quote.slots[0].start,
        )
    express = [e for e, _, _ in offers]
    assert express[0] and not express[-1]
    assert express == sorted(express, reverse=True), "once express stops fitting it does not come back"
    assert all(n > 0 for _, n, _ in offers), "slots stay on offer"
    completes = [c for _, _, c in offers]
    assert completes == sorted(completes) and completes[-1] > completes[0]


def test_delivery_is_quoted_only_with_a_courier_who_can_carry_the_basket(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    from newretail.delivery import services as delivery
    from newretail.ordering.promise import OfferNotAvailable

    staff_on_shift(runtime, world.tenant_id, world.store.id, couriers=2)  # bikes: 4 totes, 25 kg
    for sku, quantity in (("MILK-1", 20), ("APPLE-1", 10_000)):  # 20 kg of milk and 10 kg of apples
        ordering.set_cart_line(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=world.customer.id,
            product_id=shop.ids[sku],
            quantity=quantity,
        )

    def quote() -> ordering.Plan:
        return quote_delivery(runtime, world.tenant_id, world.customer.id)

    def checkout_express() -> dict[str, Any]:
        return ordering.checkout(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=world.customer.id,
            method=FulfilmentMethod.DELIVERY,
            option=DeliveryOption.EXPRESS,
            address=HOME,
        )

    heavy = quote().quote
    assert heavy.delivery_eta is None and heavy.express is None and heavy.slots == ()
    assert heavy.delivery_unavailable == "no courier on shift can carry an order this large"
    with pytest.raises(OfferNotAvailable, match="carry an order this large"):
        checkout_express()
    milk = shop.ids["MILK-1"]
    assert inventory.availability(runtime.uow(), world.tenant_id, world.store.id, [milk])[milk].reserved == 0

    car = delivery.add_courier(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, name="Van", vehicle="car"
    )
    delivery.start_shift(runtime.uow(), tenant_id=world.tenant_id, courier_id=car.id)
    with_car = quote().quote
    assert with_car.express is not None and with_car.delivery_unavailable is None
    assert checkout_express()["promise"]["kind"] == "express"


def test_the_app_says_why_a_heavy_basket_gets_no_delivery(client, runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)  # one bike
    shopper = world.login(client, world.customer.email)
    for sku, quantity in (("MILK-1", 20), ("APPLE-1", 10_000)):
        line = {"product_id": shop.ids[sku], "quantity": quantity}
        assert client.put("/me/cart/lines", headers=shopper, json=line).status_code == 200
    where = {"method": "delivery", "lat": HOME.lat, "lon": HOME.lon}
    quoted = client.post("/me/quote", headers=shopper, json=where)
    assert quoted.status_code == 200, quoted.text
    body = quoted.json()
    assert body["express"] is None and body["slots"] == [] and body["delivery_eta"] is None
    assert body["delivery_unavailable"] == "no courier on shift can carry an order this large"
    refused = client.post("/me/checkout", headers=shopper, json={**where, "option": "express"})
    assert refused.status_code == 409
    assert refused.json()["message"] == "express delivery is not offered right now: " + body["delivery_unavailable"]


def test_concurrent_checkouts_for_the_last_units(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    peas = shop.ids["PEAS-1"]
    buyers = []
    for i in range(8):
        buyer = tenancy.register_user(
            runtime.uow(),
            world.hashing,
            tenant_id=world.tenant_id,
            email=f"b{i}@acme.test",
            name=f"B{i}",
            password="long enough pw",
            role=tenancy.Role.CUSTOMER,
        )
        ordering.set_cart_line(
            runtime.uow(), tenant_id=world.tenant_id, customer_id=buyer.id, product_id=peas, quantity=3
        )  # 8 x 3 wanted, 10 in stock: 3 can win
        buyers.append(buyer.id)
    start = threading.Barrier(len(buyers))

    def attempt(customer_id: str) -> str:
        start.wait()
        try:
            ordering.checkout(
                runtime.uow(),
                tenant_id=world.tenant_id,
                customer_id=customer_id,
                method=FulfilmentMethod.COLLECTION,
                option=DeliveryOption.COLLECTION,
                store_id=world.store.id,
            )
            return "won"
        except OutOfStock:
            return "out_of_stock"

    with ThreadPoolExecutor(len(buyers)) as pool:
        outcomes = list(pool.map(attempt, buyers))
    assert outcomes.count("won") == 3 and outcomes.count("out_of_stock") == 5
    level = inventory.availability(runtime.uow(), world.tenant_id, world.store.id, [peas])[peas]
    assert (level.reserved, level.available) == (9, 1)
    with pytest.raises(OutOfStock):
        ordering.checkout(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=buyers[outcomes.index("out_of_stock")],
            method=FulfilmentMethod.COLLECTION,
            option=DeliveryOption.COLLECTION,
            store_id=world.store.id,
        )


def test_no_slot_is_offered_while_the_store_is_closed(runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    """Open 07:00-23:00 (London, on UTC in January), the grid 12 hours ahead: at 20:30 the 21:00
    and 22:00 slots, nothing overnight, then the next morning's."""
    from datetime import UTC, datetime, timedelta

    from newretail.ordering.promise import OfferNotAvailable

    staff_on_shift(runtime, world.tenant_id, world.store.id)
    ordering.set_store_operations(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, settings={"slots_ahead": 12}
    )
    runtime.clock.advance(datetime(2026, 1, 5, 20, 30, tzinfo=UTC) - runtime.clock.now())  # type: ignore[attr-defined]
    ordering.set_cart_line(
        runtime.uow(),
        tenant_id=world.tenant_id,
        customer_id=world.customer.id,
        product_id=shop.ids["MILK-1"],
        quantity=1,
    )

    def slots_offered() -> list[int]:
        return [slot.start.hour for slot in quote_delivery(runtime, world.tenant_id, world.customer.id).quote.slots]

    assert slots_offered() == [21, 22, 7, 8]
    runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    assert slots_offered()[0] == 7  # 22:30: the last slot of the day has started
    with pytest.raises(OfferNotAvailable, match="slot is not offered"):
        ordering.checkout(
            runtime.uow(),
            tenant_id=world.tenant_id,
            customer_id=world.customer.id,
            method=FulfilmentMethod.DELIVERY,
            option=DeliveryOption.SLOT,
            address=HOME,
            slot_start=datetime(2026, 1, 5, 23, 0, tzinfo=UTC),
        )
    milk = shop.ids["MILK-1"]
    assert inventory.availability(runtime.uow(), world.tenant_id, world.store.id, [milk])[milk].reserved == 0
