"""Invariants over random small snapshots, for both policies, and proof that the checker bites."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newretail.core.geo import Point, offset_km
from newretail.delivery.model import (
    STANDARD_VEHICLES,
    Courier,
    CourierState,
    Depot,
    DispatchOrder,
    DispatchPlan,
    DispatchSnapshot,
    Load,
    Postponed,
    PostponeReason,
    VehicleKind,
)
from newretail.delivery.planning import FifoNearestPolicy, OptimisedPolicy, plan_violations

NOW = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
STORES = {"s1": Point(31.2304, 121.4737), "s2": offset_km(Point(31.2304, 121.4737), 0.0, 10.0)}
KM = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)


@st.composite
def snapshots(draw: st.DrawFn) -> DispatchSnapshot:
    store_ids = draw(st.sampled_from([("s1",), ("s1", "s2")]))
    orders: list[DispatchOrder] = []
    for number in range(draw(st.integers(0, 7))):
        store_id = draw(st.sampled_from(store_ids))
        ready_at = NOW + timedelta(seconds=draw(st.integers(-900, 1500)))
        orders.append(
            DispatchOrder(
                id=f"o{number}",
                store_id=store_id,
                drop_off=offset_km(STORES[store_id], draw(KM), draw(KM)),
                ready_at=ready_at,
                promised_by=ready_at + timedelta(seconds=draw(st.integers(-600, 2400))),
                totes=draw(st.integers(1, 5)),
                weight_g=draw(st.integers(0, 30_000)),
            )
        )
    held: set[str] = set()
    couriers: list[Courier] = []
    for number in range(draw(st.integers(0, 4))):
        store_id = draw(st.sampled_from(store_ids))
        vehicle = STANDARD_VEHICLES[draw(st.sampled_from(list(VehicleKind)))]
        state = draw(st.sampled_from(list(CourierState)))
        carrying: list[str] = []
        if state in (CourierState.IDLE, CourierState.WAITING, CourierState.RIDING):
            load = Load()
            for order in orders:
                mine = order.store_id == store_id and order.id not in held
                if mine and draw(st.booleans()) and (load + order.load).fits(vehicle.capacity):
                    carrying.append(order.id)
                    held.add(order.id)
                    load += order.load
        back_in = None if state.at_store else draw(st.none() | st.integers(-60, 1800))
        couriers.append(
            Courier(
                id=f"c{number}",
                store_id=store_id,
                vehicle=vehicle,
                state=state,
                position=offset_km(STORES[store_id], draw(KM), draw(KM)),
                back_at=None if back_in is None else NOW + timedelta(seconds=back_in),
                carrying=tuple(carrying),
            )
        )
    depots = tuple(Depot(s, STORES[s]) for s in store_ids)
    return DispatchSnapshot(NOW, depots, tuple(couriers), tuple(orders))


FIFO = FifoNearestPolicy()
OPTIMISED = OptimisedPolicy(seed=3, max_seconds_per_zone=0.1)
SINGLE_TRIP = OptimisedPolicy(seed=3, max_seconds_per_zone=0.1, multi_trip=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_every_plan_keeps_the_dispatch_rules(snapshot: DispatchSnapshot) -> None:
    for policy in (FIFO, OPTIMISED, SINGLE_TRIP):
        plan = policy.plan(snapshot, timedelta(seconds=1))
        assert plan_violations(snapshot, plan) == [], policy.name
        if policy is OPTIMISED:  # re-planning from its own plan (the warm start) keeps the rules too
            warm = replace(snapshot, previous=plan)
            assert plan_violations(warm, policy.plan(warm, timedelta(seconds=1))) == []
        # pinned trips are exactly what each riding courier carries, in its order
        for courier in snapshot.couriers:
            current = plan.current_trip(courier.id)
            if courier.state is CourierState.RIDING:
                assert current is not None and current.order_ids == courier.carrying
            else:
                assert current is None
        if policy is FIFO:  # the baseline never batches what it assigns itself
            held = {o for c in snapshot.couriers for o in c.carrying}
            assert all(len(t.order_ids) == 1 for t in plan.trips if not t.pinned and not set(t.order_ids) & held)


def _valid(town) -> tuple[DispatchSnapshot, DispatchPlan]:
    town.order("bag", at_km=(2.0, 0.0))
    town.order("a", at_km=(1.0, 0.0))
    town.order("b", at_km=(-1.0, 0.0), totes=3)
    town.order("held", at_km=(0.5, 0.5))
    town.courier("rider", state=CourierState.RIDING, at_km=(1.0, 0.0), back_in=timedelta(minutes=5), carrying=("bag",))
    town.courier("waiting", state=CourierState.WAITING, carrying=("held",))
    town.courier("idle")
    snapshot = town.snapshot()
    plan = OPTIMISED.plan(snapshot, timedelta(seconds=1))
    assert plan_violations(snapshot, plan) == []
    return snapshot, plan


def test_the_checker_catches_lost_and_duplicated_orders(town) -> None:
    snapshot, plan = _valid(town)
    lost = replace(plan, postponed=tuple(p for p in plan.postponed if p.order_id != "b"), trips=_without(plan, "b"))
    assert any("appears 0 times" in p for p in plan_violations(snapshot, lost))
    doubled = replace(plan, postponed=(*plan.postponed, Postponed("a", PostponeReason.UNPLACED)))
    assert any("appears 2 times" in p for p in plan_violations(snapshot, doubled))


def test_the_checker_catches_reshuffled_pins_and_stolen_bags(town) -> None:
    snapshot, plan = _valid(town)
    reshuffled = replace(plan, trips=tuple(replace(t, pinned=False) if t.pinned else t for t in plan.trips))
    assert plan_violations(snapshot, reshuffled) != []
    waiting = plan.next_trip("waiting")
    assert waiting is not None
    stolen = replace(
        plan,
        trips=(*(t for t in plan.trips if t.courier_id != "waiting"), replace(waiting, courier_id="idle")),
    )
    assert plan_violations(snapshot, stolen) != []


def test_the_checker_catches_overloads_and_early_departures(town) -> None:
    snapshot, plan = _valid(town)
    trip = plan.next_trip("idle") or plan.next_trip("waiting")
    assert trip is not None
    heavy = replace(
        snapshot, orders=tuple(replace(o, totes=9) if o.id in trip.order_ids else o for o in snapshot.orders)
    )
    assert any("over capacity" in p for p in plan_violations(heavy, plan))
    early = replace(snapshot, orders=tuple(replace(o, ready_at=NOW + timedelta(hours=9)) for o in snapshot.orders))
    assert any("before its bags are packed" in p for p in plan_violations(early, plan))


def _without(plan: DispatchPlan, order_id: str):
    trips = []
    for t in plan.trips:
        if order_id in t.order_ids:
            keep = [i for i, o in enumerate(t.order_ids) if o != order_id]
            t = replace(t, order_ids=tuple(t.order_ids[i] for i in keep), arrivals=tuple(t.arrivals[i] for i in keep))
        trips.append(t)
    return tuple(trips)
