"""Live traffic on the seeded demo city, paced fast (a simulated minute in a fifth of a second):
the driver's shoppers order and pay, its pickers pick and pack, its couriers deliver — through the
services — while orders a person placed in the same window stay exactly as that person left them.
A restart picks up what the last run left half done."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import pytest

from newretail.catalog import services as catalog
from newretail.core.runtime import Runtime
from newretail.delivery import services as delivery
from newretail.delivery.model import TripStatus
from newretail.fulfilment import services as fulfilment
from newretail.fulfilment.repository import PickingNotFound
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod, Order, OrderStatus
from newretail.ordering.promise import OfferNotAvailable
from newretail.ordering.services import DeliveryOption
from newretail.payments import services as payments
from newretail.seed import DEMO_STAFFED_STORE, DemoCity, seed_demo
from newretail.sim import events
from newretail.sim.live import LiveCity, LiveSettings, LiveTraffic, home_address
from newretail.tenancy.model import Store
from newretail.tenancy.repository import TenancyRepository

pytestmark = pytest.mark.slow
PACE = 300.0  # simulated seconds per wall second
WAIT_S = 120.0  # wall seconds before a condition counts as never reached
OFFER_ATTEMPTS = 5


@pytest.fixture
def city(runtime: Runtime) -> DemoCity:
    return seed_demo(runtime)


@pytest.fixture
def traffic_made(runtime: Runtime) -> Iterator[list[LiveTraffic]]:
    made: list[LiveTraffic] = []
    yield made
    for traffic in made:
        traffic.stop()


def start(runtime: Runtime, made: list[LiveTraffic], orders_per_hour: float, seed: int) -> tuple[LiveTraffic, LiveCity]:
    traffic = LiveTraffic(runtime, LiveSettings(orders_per_hour=orders_per_hour, pace=PACE, seed=seed))
    made.append(traffic)
    return traffic, traffic.start()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"live traffic never got there: {what}")
        time.sleep(0.1)


def store_named(city: DemoCity, name: str) -> Store:
    return next(s for s in city.stores if s.name.endswith(name))


def shopper_id(runtime: Runtime, city: DemoCity) -> str:
    with runtime.uow() as uow:
        user = TenancyRepository(uow.conn).user_by_email(city.tenant_id, city.logins["customer"])
    return str(user.id)


def human_order(runtime: Runtime, city: DemoCity, store: Store) -> str:
    """The demo's shopper orders a loaf for delivery to a home only ``store`` serves."""
    customer = shopper_id(runtime, city)
    stocked = inventory_available(runtime, city, store)
    loaf = next(
        item.product.id
        for item in catalog.price_list(runtime.uow(), city.tenant_id, store.id, category="Bakery", limit=50)
        if item.product.sold_by.value == "each" and stocked.get(item.product.id, 0) >= 3
    )
    ordering.set_cart_line(runtime.uow(), tenant_id=city.tenant_id, customer_id=customer, product_id=loaf, quantity=1)
    home = home_address(store, [s for s in city.stores if s.id != store.id], random.Random(store.name))
    # On the driver's clock minutes pass between the quote and the checkout (it runs 300 times
    # faster): express may be gone by then, and the person, told so, looks again and takes what is
    # offered now, as on the web.
    for _ in range(OFFER_ATTEMPTS):
        plan = ordering.quote(
            runtime.uow(),
            tenant_id=city.tenant_id,
            customer_id=customer,
            method=FulfilmentMethod.DELIVERY,
            address=home,
            store_id=None,
        )
        assert plan.store.id == store.id
        express = plan.quote.express is not None
        try:
            placed = ordering.checkout(
                runtime.uow(),
                tenant_id=city.tenant_id,
                customer_id=customer,
                method=FulfilmentMethod.DELIVERY,
                option=DeliveryOption.EXPRESS if express else DeliveryOption.SLOT,
                address=home,
                slot_start=None if express else plan.quote.slots[0].start,
            )
            break
        except OfferNotAvailable:
            continue
    else:
        pytest.fail(f"no offer held from quote to checkout in {OFFER_ATTEMPTS} attempts")
    return str(placed["id"])


def inventory_available(runtime: Runtime, city: DemoCity, store: Store) -> dict[str, int]:
    from newretail.inventory import services as inventory

    return {pid: a.available for pid, a in inventory.availability(runtime.uow(), city.tenant_id, store.id).items()}


def live_orders(runtime: Runtime, live: LiveCity) -> list[Order]:
    tenant = live.world.tenant_id
    return [
        order
        for store in live.world.stores
        for customer in store.customers
        for order in ordering.customer_orders(runtime.uow(), tenant, customer.id)
    ]


def count(traffic: LiveTraffic, kind: str) -> int:
    return traffic.sim.log.counts[kind]


def assert_untouched(runtime: Runtime, city: DemoCity, order_id: str) -> None:
    """Placed, and nothing since: no picking document, on no trip."""
    order = ordering.get_order(runtime.uow(), city.tenant_id, order_id)
    assert order.status is OrderStatus.PLACED
    assert [change.to_status for change in order.history] == [OrderStatus.PLACED]
    with pytest.raises(PickingNotFound):
        fulfilment.picking_progress(runtime.uow(), tenant_id=city.tenant_id, order_ids=[order_id])
    for store in city.stores:
        for trip in delivery.store_trips(
            runtime.uow(), tenant_id=city.tenant_id, store_id=store.id, statuses=list(TripStatus)
        ):
            assert order_id not in trip.order_ids


def test_live_shoppers_order_and_live_staff_deliver_through_the_services_leaving_peoples_orders_alone(
    runtime: Runtime, city: DemoCity, traffic_made: list[LiveTraffic]
) -> None:
    islington, soho = store_named(city, "Islington"), store_named(city, "Soho")
    before = human_order(runtime, city, islington)  # a person's order waiting when the driver starts

    traffic, live = start(runtime, traffic_made, orders_per_hour=120.0, seed=7)
    assert sorted(s.name for s in live.world.stores) == ["FreshMart Brixton", "FreshMart Islington"]
    assert [s.name for s in live.others] == [DEMO_STAFFED_STORE]  # where the demo's people work
    wait_for(lambda: count(traffic, events.ORDER_PLACED) >= 3, "three live orders")
    # People order in the same window, on the driver's clock (it runs 300 times faster than theirs).
    people = Runtime(engine=runtime.engine, settings=runtime.settings, clock=traffic.sim.clock)
    during = [human_order(people, city, islington), human_order(people, city, soho)]
    wait_for(
        lambda: count(traffic, events.ORDER_DELIVERED) >= 4 and count(traffic, events.COURIER_BACK) >= 1,
        "four live deliveries and a courier back",
    )
    assert traffic.stop()
    assert traffic.sim.problems["unexpected"] == 0, traffic.sim.problems

    orders = live_orders(runtime, live)
    live_ids = {o.id for o in orders}
    live_stores = {s.id for s in live.world.stores}
    assert orders and all(o.store_id in live_stores for o in orders)  # never at the people's store
    delivered = [o for o in orders if o.status is OrderStatus.DELIVERED]
    assert len(delivered) >= 4
    for order in delivered:  # every step through the services, in order, paid from the wallet
        steps = [change.to_status for change in order.history]
        assert steps == [
            OrderStatus.AWAITING_PAYMENT,
            OrderStatus.PLACED,
            OrderStatus.PICKING,
            OrderStatus.PACKED,
            OrderStatus.OUT_FOR_DELIVERY,
            OrderStatus.DELIVERED,
        ]
        progress = fulfilment.picking_progress(runtime.uow(), tenant_id=city.tenant_id, order_ids=[order.id])
        assert progress[order.id].status == "packed"
        paid = payments.order_payment(runtime.uow(), tenant_id=city.tenant_id, order_id=order.id)
        assert paid is not None and paid.status.value == "captured"
    # The driver's pickers are the demo's floor staff; its couriers are the fleet without a login.
    pickers = {e.data["picker"] for e in traffic.sim.log.of_kind(events.BATCH_STARTED)}
    assert pickers and all(p.startswith("demo-picker-") for p in pickers)
    done = 0
    for store_id in live_stores:
        for trip in delivery.store_trips(
            runtime.uow(), tenant_id=city.tenant_id, store_id=store_id, statuses=list(TripStatus)
        ):
            assert set(trip.order_ids) <= live_ids
            courier = delivery.get_courier(runtime.uow(), tenant_id=city.tenant_id, courier_id=trip.courier_id)
            assert courier.user_id is None
            done += trip.status is TripStatus.DONE
    assert done >= 1
    # The people's store saw no live traffic: its pickers never took a batch.
    for n in range(3):
        status = fulfilment.picker_status(
            runtime.uow(), tenant_id=city.tenant_id, store_id=soho.id, picker_id=f"demo-picker-{n}"
        )
        assert status.batch_id is None
    for order_id in [before, *during]:
        assert_untouched(runtime, city, order_id)
    assert payments.verify_ledger(runtime.uow()).ok


def test_a_restart_carries_on_with_what_the_last_run_left_half_done(
    runtime: Runtime, city: DemoCity, traffic_made: list[LiveTraffic]
) -> None:
    first, live = start(runtime, traffic_made, orders_per_hour=240.0, seed=11)
    # Two of each, so that the one action still under way when it stops cannot finish them all.
    wait_for(
        lambda: first.sim.pickers_picking() >= 2 and first.sim.live_couriers.out_on_trips() >= 2,
        "two pickers picking and two couriers out at once",
    )
    assert first.stop()
    left = {o.id: o for o in live_orders(runtime, live)}
    picking = [o.id for o in left.values() if o.status is OrderStatus.PICKING]
    riding = [o.id for o in left.values() if o.status is OrderStatus.OUT_FOR_DELIVERY]
    waiting = [o.id for o in left.values() if o.status is OrderStatus.PLACED]
    couriers_out = sum(
        trip is not None and trip.status in (TripStatus.RIDING, TripStatus.RETURNING)
        for store in live.world.stores
        for ids in store.courier_ids
        for trip in (delivery.courier_trip(runtime.uow(), tenant_id=city.tenant_id, courier_id=c) for c in ids)
    )
    assert picking and couriers_out >= 1

    second, _ = start(runtime, traffic_made, orders_per_hour=1.0, seed=12)  # hardly anyone new
    finished = {OrderStatus.DELIVERED, OrderStatus.COLLECTED, OrderStatus.RETURNED, OrderStatus.CANCELLED}
    moved_on = {
        OrderStatus.PLACED: {OrderStatus.PICKING, OrderStatus.PACKED, OrderStatus.READY_FOR_COLLECTION},
        OrderStatus.PICKING: {OrderStatus.PACKED, OrderStatus.READY_FOR_COLLECTION, OrderStatus.OUT_FOR_DELIVERY},
        OrderStatus.OUT_FOR_DELIVERY: {OrderStatus.DELIVERY_FAILED},
    }

    def all_moved_on() -> bool:
        now = ordering.orders_by_ids(runtime.uow(), tenant_id=city.tenant_id, order_ids=[*picking, *riding, *waiting])
        return all(now[oid].status in finished | moved_on[left[oid].status] for oid in now)

    wait_for(all_moved_on, "every order the first run left open moving on")
    assert second.stop()
    adopted = second.sim._adopted
    assert adopted["batches"] >= 1 and adopted[OrderStatus.PICKING.value] == len(picking)
    assert adopted["riding_couriers"] == couriers_out
    assert adopted[OrderStatus.PLACED.value] == len(waiting)
    for sim in (first.sim, second.sim):
        assert sim.problems["unexpected"] == 0, sim.problems
    assert payments.verify_ledger(runtime.uow()).ok
