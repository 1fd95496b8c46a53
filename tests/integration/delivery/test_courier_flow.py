"""A packed order through a dispatch round, loading, departure and delivery with proof; failed
deliveries coming back to the store; shifts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from newretail.core.geo import Point, offset_km
from newretail.delivery import roster
from newretail.delivery import services as delivery
from newretail.delivery.model import DeliveryProof, FailureReason, StopStatus, TripStatus, WrongDeliveryCode
from newretail.delivery.tables import trip_stops, trips
from newretail.inventory.tables import stock_movements
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod, OrderStatus, PaymentMode
from newretail.ordering.services import DeliveryOption


def test_packed_order_is_loaded_departs_and_is_delivered_with_proof(depot) -> None:  # type: ignore[no-untyped-def]
    courier_id = depot.courier()
    (order_id,) = depot.packed_orders(1)

    summary = depot.tick()
    assert summary.solved
    assert summary.assigned == (order_id,)
    (trip,) = summary.loading
    assert trip.courier_id == courier_id and trip.order_ids == (order_id,)
    assert trip.stops[0].status is StopStatus.LOADED
    # Loading is explicit: the order is in the courier's bag, but still packed until they leave.
    assert depot.status(order_id) is OrderStatus.PACKED
    assert (
        delivery.get_courier(depot.runtime.uow(), tenant_id=depot.tenant_id, courier_id=courier_id).state == "waiting"
    )
    # The promise sees the loaded trip: its order needs no courier of its own, the courier is
    # free once the trip is back.
    with depot.runtime.engine.connect() as conn:
        plan = roster.courier_plan(conn, depot.tenant_id, depot.store_id, depot.runtime.clock.now())
    assert plan.planned_orders == {order_id} and plan.free_at == [trip.planned_back]

    depot.advance(timedelta(minutes=1))
    riding = delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    assert riding.status is TripStatus.RIDING
    assert depot.status(order_id) is OrderStatus.OUT_FOR_DELIVERY
    courier = delivery.get_courier(depot.runtime.uow(), tenant_id=depot.tenant_id, courier_id=courier_id)
    assert courier.state == "riding"
    assert courier.free_at == riding.planned_back > depot.runtime.clock.now()
    # The promise model sees the courier busy until the expected return.
    with depot.runtime.engine.connect() as conn:
        plan = roster.courier_plan(conn, depot.tenant_id, depot.store_id, depot.runtime.clock.now())
    assert plan.free_at == [riding.planned_back] and plan.planned_orders == frozenset()

    stop = riding.stops[0]
    assert stop.eta is not None and stop.eta > depot.runtime.clock.now()
    depot.advance(stop.eta - depot.runtime.clock.now())
    code = delivery.delivery_code(depot.runtime.uow(), tenant_id=depot.tenant_id, order_id=order_id)
    assert code is not None and len(code) == 4
    at_door = offset_km(stop.drop_off, 0.02, 0.0)
    done = delivery.deliver(
        depot.runtime.uow(),
        tenant_id=depot.tenant_id,
        stop_id=stop.id,
        proof=DeliveryProof(position=at_door, code=code, photo_ref="s3://proofs/1.jpg"),
    )
    assert depot.status(order_id) is OrderStatus.DELIVERED
    assert done.status is TripStatus.RETURNING
    assert done.stops[0].status is StopStatus.DELIVERED and done.stops[0].delivered_at == depot.runtime.clock.now()
    with depot.runtime.engine.connect() as conn:
        row = conn.execute(select(trip_stops).where(trip_stops.c.id == stop.id)).one()
    assert row.proof_code_ok is True and row.proof_photo_ref == "s3://proofs/1.jpg"
    assert 15 <= row.proof_distance_m <= 25
    courier = delivery.get_courier(depot.runtime.uow(), tenant_id=depot.tenant_id, courier_id=courier_id)
    assert courier.state == "returning" and courier.free_at is not None
    assert courier.free_at > depot.runtime.clock.now()

    depot.advance(courier.free_at - depot.runtime.clock.now())
    back = delivery.arrive_back(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    assert back.status is TripStatus.DONE
    courier = delivery.get_courier(depot.runtime.uow(), tenant_id=depot.tenant_id, courier_id=courier_id)
    assert courier.state == "idle" and courier.free_at == depot.runtime.clock.now()
    assert courier.position == depot.location

    delivered = depot.events("OrderDelivered")
    assert [e["order_id"] for e in delivered] == [order_id]
    assert delivered[0]["proof_by_code"] is True and delivered[0]["late_seconds"] >= 0
    assert [e["order_ids"] for e in depot.events("OrdersHandedOver")] == [[order_id]]
    assert [e["trip_id"] for e in depot.events("TripDeparted")] == [trip.id]
    assert [e["trip_id"] for e in depot.events("CourierBack")] == [trip.id]


def test_the_promise_sees_a_planned_trip_as_a_ride_not_a_hold_on_its_courier(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier()
    (first,) = depot.packed_orders(1)
    (trip,) = depot.tick().loading
    depot.advance(timedelta(minutes=1))
    riding = delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    depot.clear_cart()
    (second,) = depot.packed_orders(1)
    summary = depot.tick()
    assert summary.planned == (second,) and summary.loading == ()
    with depot.runtime.engine.connect() as conn:
        plan = roster.courier_plan(conn, depot.tenant_id, depot.store_id, depot.runtime.clock.now())
        (row,) = conn.execute(
            select(trips.c.planned_start, trips.c.planned_back).where(trips.c.status == "planned")
        ).all()
    # The courier is back when its ride is; the next trip takes a courier from its start.
    assert plan.free_at == [riding.planned_back]
    assert plan.planned_rides == [(row.planned_start, row.planned_back - row.planned_start)]
    assert row.planned_start >= riding.planned_back
    assert plan.planned_orders == {second} and first not in plan.planned_orders


def test_a_wrong_code_is_refused_and_changes_nothing(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier()
    (order_id,) = depot.packed_orders(1)
    (trip,) = depot.tick().loading
    riding = delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    stop = riding.stops[0]
    code = delivery.delivery_code(depot.runtime.uow(), tenant_id=depot.tenant_id, order_id=order_id)
    wrong = "9999" if code != "9999" else "0000"
    with pytest.raises(WrongDeliveryCode):
        delivery.deliver(
            depot.runtime.uow(),
            tenant_id=depot.tenant_id,
            stop_id=stop.id,
            proof=DeliveryProof(position=stop.drop_off, code=wrong),
        )
    assert depot.status(order_id) is OrderStatus.OUT_FOR_DELIVERY
    # A photo alone is proof enough; far from the door it is kept, with the distance, for review.
    far = offset_km(stop.drop_off, 0.5, 0.0)
    done = delivery.deliver(
        depot.runtime.uow(),
        tenant_id=depot.tenant_id,
        stop_id=stop.id,
        proof=DeliveryProof(position=far, photo_ref="s3://proofs/2.jpg", captured_at=depot.runtime.clock.now()),
    )
    assert done.stops[0].status is StopStatus.DELIVERED
    assert depot.events("OrderDelivered")[0]["proof_distance_m"] >= 490


def test_failed_delivery_rides_back_restocks_and_raises_the_refund(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier()
    (order_id,) = depot.packed_orders(1, lines=(("MILK-1", 2), ("APPLE-1", 400)))
    milk_after_packing, apples_after_packing = depot.available("MILK-1"), depot.available("APPLE-1")
    (trip,) = depot.tick().loading
    riding = delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    depot.advance(timedelta(minutes=8))
    failed = delivery.fail_delivery(
        depot.runtime.uow(),
        tenant_id=depot.tenant_id,
        stop_id=riding.stops[0].id,
        reason=FailureReason.CUSTOMER_ABSENT,
        note="rang twice",
    )
    assert failed.status is TripStatus.RETURNING
    assert depot.status(order_id) is OrderStatus.DELIVERY_FAILED
    assert depot.available("MILK-1") == milk_after_packing  # still on the bike
    assert [e["reason"] for e in depot.events("DeliveryFailed")] == ["customer_absent"]
    with pytest.raises(delivery.TripStateConflict):  # the stop is settled
        delivery.deliver(
            depot.runtime.uow(),
            tenant_id=depot.tenant_id,
            stop_id=riding.stops[0].id,
            proof=DeliveryProof(position=riding.stops[0].drop_off, photo_ref="x"),
        )

    depot.advance(timedelta(minutes=8))
    back = delivery.arrive_back(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    assert back.stops[0].status is StopStatus.RETURNED
    assert depot.status(order_id) is OrderStatus.RETURNED
    assert depot.available("MILK-1") == milk_after_packing + 2
    assert depot.available("APPLE-1") == apples_after_packing + 400
    with depot.runtime.engine.connect() as conn:
        reasons = conn.execute(
            select(stock_movements.c.reason, stock_movements.c.delta).where(stock_movements.c.reference == order_id)
        ).all()
    assert sorted(r for r in reasons if r.reason == "return") == sorted([("return", 2), ("return", 400)])
    (refund,) = depot.events("OrderReturned")
    assert refund["order_id"] == order_id and refund["reason"] == "customer_absent"
    assert refund["payment_mode"] == "pay_on_delivery" and refund["refund_due_minor"] == 0  # nothing was charged
    # A returned order is out of dispatch for good.
    assert order_id not in depot.tick(force=True).planned


def test_courier_starting_away_from_the_store_is_free_on_arrival(depot) -> None:  # type: ignore[no-untyped-def]
    courier_id = depot.courier(on_shift=False)
    uow = depot.runtime.uow
    away = offset_km(depot.location, 2.0, 0.0)
    view = delivery.start_shift(uow(), tenant_id=depot.tenant_id, courier_id=courier_id, position=away)
    assert view.state == "to_store" and view.free_at is not None
    assert view.free_at - depot.runtime.clock.now() > timedelta(minutes=8)  # 2.6 km of streets by bike
    again = delivery.start_shift(uow(), tenant_id=depot.tenant_id, courier_id=courier_id, position=away)
    assert again.shift_id == view.shift_id  # already on shift: nothing changes
    depot.advance(timedelta(minutes=5))
    halfway = delivery.update_position(
        uow(), tenant_id=depot.tenant_id, courier_id=courier_id, position=offset_km(depot.location, 1.0, 0.0)
    )
    assert halfway.state == "to_store" and halfway.free_at is not None and halfway.free_at < view.free_at
    there = delivery.update_position(uow(), tenant_id=depot.tenant_id, courier_id=courier_id, position=depot.location)
    assert there.state == "idle" and there.free_at == depot.runtime.clock.now()
    off = delivery.end_shift(uow(), tenant_id=depot.tenant_id, courier_id=courier_id)
    assert off.state == "off" and not off.on_shift and off.free_at is None
    with pytest.raises(delivery.CourierNotOnShift):
        delivery.end_shift(uow(), tenant_id=depot.tenant_id, courier_id=courier_id)


def test_ending_a_shift_hands_bags_back_but_not_while_riding(depot) -> None:  # type: ignore[no-untyped-def]
    first = depot.courier("Ann")
    order_ids = depot.packed_orders(2)
    summary = depot.tick()
    loading = {t.courier_id: t for t in summary.loading}
    assert first in loading
    delivery.end_shift(depot.runtime.uow(), tenant_id=depot.tenant_id, courier_id=first)
    assert all(depot.status(o) is OrderStatus.PACKED for o in order_ids)
    second = depot.courier("Cy")
    again = depot.tick()
    assert {t.courier_id for t in again.loading} == {second}
    assert set(again.assigned) | set(again.planned) | {p.order_id for p in again.postponed} == set(order_ids)
    trip = again.loading[0]
    delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    with pytest.raises(delivery.CourierBusy):
        delivery.end_shift(depot.runtime.uow(), tenant_id=depot.tenant_id, courier_id=second)
    with pytest.raises(delivery.TripStateConflict):  # already left
        delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)


def test_tracking_shows_eta_courier_and_code_once_on_the_way(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier("Dee")
    (order_id,) = depot.packed_orders(1)
    from newretail.ordering import services as ordering

    order = ordering.get_order(depot.runtime.uow(), depot.tenant_id, order_id)
    before = delivery.order_tracking(depot.runtime.uow(), tenant_id=depot.tenant_id, order=order)
    assert before.stop_status is None and before.delivery_code is None
    (trip,) = depot.tick().loading
    riding = delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    order = ordering.get_order(depot.runtime.uow(), depot.tenant_id, order_id)
    view = delivery.order_tracking(depot.runtime.uow(), tenant_id=depot.tenant_id, order=order)
    assert view.stop_status == "out" and view.courier_name == "Dee" and view.stops_before == 0
    assert view.delivery_code == delivery.delivery_code(
        depot.runtime.uow(), tenant_id=depot.tenant_id, order_id=order_id
    )
    assert view.eta == riding.stops[0].eta
    # Half-way there, the ETA is re-estimated from where the courier is.
    depot.advance(timedelta(minutes=2))
    halfway = Point(
        (depot.location.lat + riding.stops[0].drop_off.lat) / 2, (depot.location.lon + riding.stops[0].drop_off.lon) / 2
    )
    delivery.update_position(
        depot.runtime.uow(), tenant_id=depot.tenant_id, courier_id=trip.courier_id, position=halfway
    )
    later = delivery.order_tracking(depot.runtime.uow(), tenant_id=depot.tenant_id, order=order)
    assert later.eta is not None and abs((later.eta - riding.stops[0].eta).total_seconds()) < 120


def test_a_slot_order_takes_a_courier_in_the_promise_only_near_its_slot(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier()
    customer = depot.world.customer.id

    def quote_express_nearby() -> Any:
        depot.clear_cart()
        ordering.set_cart_line(
            depot.runtime.uow(),
            tenant_id=depot.tenant_id,
            customer_id=customer,
            product_id=depot.shop.ids["MILK-1"],
            quantity=1,
        )
        address = offset_km(depot.location, 1.0, 0.0)
        return ordering.quote(
            depot.runtime.uow(),
            tenant_id=depot.tenant_id,
            customer_id=customer,
            method=FulfilmentMethod.DELIVERY,
            address=address,
            store_id=None,
        ).quote

    alone = quote_express_nearby()
    # A slot order 3 km out, booked for the last slot offered (hours ahead): the one courier can
    # carry the next express order first; only its pick waits behind the slot order's.
    ordering.checkout(
        depot.runtime.uow(),
        tenant_id=depot.tenant_id,
        customer_id=customer,
        method=FulfilmentMethod.DELIVERY,
        option=DeliveryOption.SLOT,
        address=offset_km(depot.location, 3.0, 0.0),
        slot_start=alone.slots[-1].start,
        payment_mode=PaymentMode.PAY_ON_DELIVERY,
    )
    behind_slot = quote_express_nearby()
    assert behind_slot.delivery_eta - alone.delivery_eta < timedelta(minutes=5)
    # An express order 3 km out needs that courier now: the next one waits for its round trip.
    depot.place(at_km=(3.0, 0.0))
    behind_express = quote_express_nearby()
    assert behind_express.delivery_eta - behind_slot.delivery_eta > timedelta(minutes=25)
