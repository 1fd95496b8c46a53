"""The roster ahead: rostering shifts, the rules a shift keeps, and what the promise reads from it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from newretail.core.errors import ValidationFailed
from newretail.core.geo import offset_km
from newretail.delivery import roster
from newretail.delivery import services as delivery
from newretail.delivery.repository import CourierNotFound
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod
from newretail.tenancy import services as tenancy

from .conftest import Depot

H = timedelta(hours=1)


def _roster(depot: Depot, courier_id: str, starts: timedelta, ends: timedelta) -> roster.RosteredShift:
    now = depot.runtime.clock.now()
    return delivery.roster_shift(
        depot.runtime.uow(),
        tenant_id=depot.tenant_id,
        store_id=depot.store_id,
        courier_id=courier_id,
        starts_at=now + starts,
        ends_at=now + ends,
    )


def _plan(depot: Depot) -> roster.CourierPlan:
    with depot.runtime.engine.connect() as conn:
        return roster.courier_plan(conn, depot.tenant_id, depot.store_id, depot.runtime.clock.now())


def _quote(depot: Depot, lines: tuple[tuple[str, int], ...]) -> ordering.Plan:
    depot.clear_cart()
    depot.fill_cart(lines)
    return ordering.quote(
        depot.runtime.uow(),
        tenant_id=depot.tenant_id,
        customer_id=depot.world.customer.id,
        method=FulfilmentMethod.DELIVERY,
        address=offset_km(depot.location, 1.0, 0.0),
        store_id=None,
    )


def test_a_shift_is_rostered_once_within_a_day_and_can_be_taken_off(depot: Depot) -> None:
    bo = depot.courier(on_shift=False)
    morning = _roster(depot, bo, H, 5 * H)
    _roster(depot, bo, 5 * H, 9 * H)  # back to back is fine
    with pytest.raises(roster.ShiftOverlaps, match="rostered then already"):
        _roster(depot, bo, 4 * H, 6 * H)
    with pytest.raises(ValidationFailed, match="end after it starts"):
        _roster(depot, bo, 10 * H, 10 * H)
    with pytest.raises(ValidationFailed, match="at most a day"):
        _roster(depot, bo, 10 * H, 35 * H)
    with pytest.raises(ValidationFailed, match="over already"):
        _roster(depot, bo, -3 * H, -H)
    with pytest.raises(ValidationFailed, match="time zone"):
        delivery.roster_shift(
            depot.runtime.uow(),
            tenant_id=depot.tenant_id,
            store_id=depot.store_id,
            courier_id=bo,
            starts_at=datetime(2030, 1, 1, 9),
            ends_at=datetime(2030, 1, 1, 17),
        )
    other = tenancy.open_store(
        depot.runtime.uow(),
        tenant_id=depot.tenant_id,
        name="Other",
        address="2 Low Street",
        lat=51.45,
        lon=-0.1,
        delivery_radius_m=3219,
    )
    with pytest.raises(CourierNotFound):
        delivery.roster_shift(
            depot.runtime.uow(),
            tenant_id=depot.tenant_id,
            store_id=other.id,
            courier_id=bo,
            starts_at=depot.runtime.clock.now() + 20 * H,
            ends_at=depot.runtime.clock.now() + 22 * H,
        )
    now = depot.runtime.clock.now()
    listed = delivery.store_roster(
        depot.runtime.uow(), tenant_id=depot.tenant_id, store_id=depot.store_id, since=now, until=now + 24 * H
    )
    assert [(s.starts_at - now, s.ends_at - now) for s in listed] == [(H, 5 * H), (5 * H, 9 * H)]

    delivery.unroster_shift(
        depot.runtime.uow(), tenant_id=depot.tenant_id, store_id=depot.store_id, shift_id=morning.id
    )
    with pytest.raises(roster.RosteredShiftNotFound):
        delivery.unroster_shift(
            depot.runtime.uow(), tenant_id=depot.tenant_id, store_id=depot.store_id, shift_id=morning.id
        )
    _roster(depot, bo, H, 5 * H)  # the hours are free again


def test_the_promise_counts_couriers_by_the_roster(depot: Depot) -> None:
    now = depot.runtime.clock.now()
    on_till_two = depot.courier("On till two")
    _roster(depot, on_till_two, -H, H)
    _roster(depot, on_till_two, H, 2 * H)  # back to back: one stretch, to +2 h
    _roster(depot, on_till_two, 5 * H, 8 * H)  # and again later
    unrostered = depot.courier("Ad hoc")
    starts_later = depot.courier("Later", on_shift=False)
    _roster(depot, starts_later, 3 * H, 6 * H)
    absent = depot.courier("Absent", on_shift=False)
    _roster(depot, absent, -H, 3 * H)  # rostered now but not here: not counted
    early = depot.courier("Early")
    _roster(depot, early, H, 4 * H)

    plan = _plan(depot)
    assert sorted(zip(plan.free_at, plan.off_at, strict=True), key=str) == sorted(
        [
            (now, now + 2 * H),  # on till two
            (now + 5 * H, now + 8 * H),  # on till two, again
            (now, None),  # ad hoc
            (now + 3 * H, now + 6 * H),  # later
            (now, now + 4 * H),  # early, counted to the end of the shift it came early for
        ],
        key=str,
    )
    assert plan.free_at == sorted(plan.free_at)
    assert unrostered and absent

    # Past its shift's end a courier still on shift (finishing a trip) takes no new ride.
    depot.advance(2 * H + timedelta(minutes=5))
    later = depot.runtime.clock.now()
    plan = _plan(depot)
    assert (later, later) in list(zip(plan.free_at, plan.off_at, strict=True))


def test_a_heavy_basket_gets_no_delivery_when_its_only_carrier_goes_home_first(depot: Depot) -> None:
    depot.courier("Bike")  # 4 totes, 25 kg: not enough for 30 kg
    van = depot.courier("Van", vehicle="car")
    _roster(depot, van, -H, timedelta(minutes=1))  # ends before the basket could be picked
    heavy = (("MILK-1", 20), ("APPLE-1", 10_000))
    plan = _quote(depot, heavy)
    assert plan.quote.delivery_eta is None and plan.quote.express is None and plan.quote.slots == ()
    assert plan.quote.delivery_unavailable == "every courier who can carry it ends their shift before it is ready"

    relief = depot.courier("Relief van", vehicle="car", on_shift=False)
    _roster(depot, relief, timedelta(minutes=10), 8 * H)
    plan = _quote(depot, heavy)
    assert plan.quote.express is not None and plan.quote.delivery_unavailable is None
    assert plan.quote.express.eta > depot.runtime.clock.now() + timedelta(minutes=10)  # with the relief van
    light = _quote(depot, (("MILK-1", 1),))  # the bike can carry a light one, and is free now
    assert light.quote.express is not None and light.quote.express.eta < plan.quote.express.eta
