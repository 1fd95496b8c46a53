from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from newretail.core.geo import Point, haversine_km, offset_km
from newretail.delivery.model import (
    STANDARD_VEHICLES,
    Courier,
    CourierState,
    DispatchSnapshot,
    InvalidDispatchSnapshot,
    Load,
    PlannedTrip,
    VehicleKind,
    VehicleType,
    lateness,
)
from newretail.delivery.timeline import PlanningSettings, schedule_trip, seconds_after
from newretail.delivery.travel import TravelModel

HERE = Point(31.2304, 121.4737)
BIKE = STANDARD_VEHICLES[VehicleKind.BIKE]


def test_distance_is_great_circle_times_detour_in_whole_metres() -> None:
    there = offset_km(HERE, 3.0, 4.0)
    crow_m = haversine_km(HERE, there) * 1000
    assert 4990 < crow_m < 5010
    assert TravelModel(detour_factor=1.0).distance_m(HERE, there) == round(crow_m)
    assert TravelModel(detour_factor=1.3).distance_m(HERE, there) == round(crow_m * 1.3)


def test_duration_is_distance_over_speed_rounded_up() -> None:
    assert TravelModel.seconds_for(1000, 18.0) == 200  # 1 km at 18 km/h is 200 s
    assert TravelModel.seconds_for(1001, 18.0) == 201
    assert TravelModel.seconds_for(0, 15.0) == 0
    there = offset_km(HERE, 1.0, 0.0)
    assert TravelModel().duration_s(HERE, there, 15.0) == pytest.approx(
        2 * TravelModel().duration_s(HERE, there, 30.0), abs=1
    )


@pytest.mark.parametrize("factor", [0.9, 3.5])
def test_detour_factor_must_be_plausible(factor: float) -> None:
    with pytest.raises(Exception, match="detour factor"):
        TravelModel(detour_factor=factor)


def test_load_fits_in_both_dimensions() -> None:
    assert Load(4, 25_000).fits(BIKE.capacity)
    assert not Load(5, 1_000).fits(BIKE.capacity)
    assert not Load(1, 25_001).fits(BIKE.capacity)
    assert Load(1, 2) + Load(3, 4) == Load(4, 6)


def test_vehicle_types_reject_nonsense() -> None:
    with pytest.raises(InvalidDispatchSnapshot):
        VehicleType(VehicleKind.BIKE, speed_kmh=0, capacity_totes=4, capacity_weight_g=1)
    with pytest.raises(InvalidDispatchSnapshot):
        VehicleType(VehicleKind.CAR, speed_kmh=30, capacity_totes=0, capacity_weight_g=1)


def test_snapshot_rejects_inconsistent_input(town) -> None:
    order = town.order("o1")
    town.courier("c1")
    good = town.snapshot()
    with pytest.raises(InvalidDispatchSnapshot, match="duplicate order"):
        DispatchSnapshot(good.now, good.depots, good.couriers, (order, order))
    with pytest.raises(InvalidDispatchSnapshot, match="unknown store"):
        DispatchSnapshot(good.now, good.depots, good.couriers, (replace(order, store_id="nowhere"),))
    with pytest.raises(InvalidDispatchSnapshot, match="unknown store"):
        DispatchSnapshot(good.now, good.depots, (replace(good.couriers[0], store_id="nowhere"),), ())
    with pytest.raises(InvalidDispatchSnapshot, match="timezone-aware"):
        DispatchSnapshot(datetime(2026, 1, 5, 12), good.depots, good.couriers, good.orders)
    with pytest.raises(InvalidDispatchSnapshot, match="at least one tote"):
        replace(order, totes=0)


def test_carried_orders_must_exist_be_held_once_and_fit(town) -> None:
    town.order("o1", totes=3)
    town.order("o2", totes=3)
    town.courier("c1", carrying=("o1",))
    town.snapshot()

    town.courier("c2", state=CourierState.WAITING, carrying=("o1",))
    with pytest.raises(InvalidDispatchSnapshot, match="carried by two"):
        town.snapshot()
    town.couriers.pop()

    town.couriers[0] = replace(town.couriers[0], carrying=("o1", "o2"))  # 6 totes on a 4-tote bike
    with pytest.raises(InvalidDispatchSnapshot, match="more than its vehicle holds"):
        town.snapshot()

    town.couriers[0] = replace(town.couriers[0], carrying=("o9",))
    with pytest.raises(InvalidDispatchSnapshot, match="must be in the snapshot"):
        town.snapshot()


def test_a_courier_heading_to_the_store_cannot_hold_bags() -> None:
    for state in (CourierState.RETURNING, CourierState.TO_STORE):
        with pytest.raises(InvalidDispatchSnapshot):
            Courier("c1", "s1", BIKE, state, HERE, carrying=("o1",))


def test_schedule_trip_is_plain_arithmetic(town) -> None:
    travel = TravelModel(detour_factor=1.0)
    settings = PlanningSettings(travel=travel)
    store = town.depots[0].location
    a = town.order("a", at_km=(1.5, 0.0), ready_in=timedelta(minutes=4))
    b = town.order("b", at_km=(1.5, 1.5))
    courier = town.courier("c1", vehicle=VehicleType(VehicleKind.E_BIKE, 18.0, 6, 40_000))
    trip = schedule_trip(courier=courier, depot=town.depots[0], orders=[a, b], free_at=town.now, settings=settings)

    to_a = travel.duration_s(store, a.drop_off, 18.0)
    assert 295 <= to_a <= 305  # 1.5 km at 18 km/h is 300 s
    assert trip.starts_at == town.now + timedelta(minutes=4)  # waits for a to be packed
    assert trip.arrivals[0] == trip.starts_at + timedelta(seconds=60 + to_a)  # pickup, ride
    assert trip.arrivals[1] == trip.arrivals[0] + timedelta(
        seconds=120 + travel.duration_s(a.drop_off, b.drop_off, 18.0)
    )
    assert trip.back_at == trip.arrivals[1] + timedelta(seconds=120 + travel.duration_s(b.drop_off, store, 18.0))


def test_lateness_and_the_solver_clock(town) -> None:
    order = town.order("o1", due_in=timedelta(minutes=10))
    late = town.now + timedelta(minutes=13)
    on_time = town.now + timedelta(minutes=9)
    assert lateness(PlannedTrip("c1", "s1", ("o1",), town.now, (late,), late), {"o1": order}) == (timedelta(minutes=3),)
    assert lateness(PlannedTrip("c1", "s1", ("o1",), town.now, (on_time,), on_time), {"o1": order}) == (timedelta(0),)
    assert seconds_after(town.now, town.now - timedelta(seconds=5)) == 0
    assert seconds_after(town.now, town.now + timedelta(seconds=1.2)) == 2


def test_planning_settings_are_whole_seconds() -> None:
    with pytest.raises(Exception, match="whole number of seconds"):
        PlanningSettings(handover=timedelta(milliseconds=1500))
