"""The baseline: oldest packed order to the nearest idle courier of its store, one order per trip."""

from __future__ import annotations

from datetime import timedelta

import pytest

from newretail.delivery.model import CourierState, PostponeReason, VehicleKind
from newretail.delivery.planning import FifoNearestPolicy, plan_violations

POLICY = FifoNearestPolicy()


def reasons(plan) -> dict[str, PostponeReason]:
    return {p.order_id: p.reason for p in plan.postponed}


def test_oldest_ready_order_goes_to_the_nearest_idle_courier(town) -> None:
    town.courier("far", at_km=(0.8, 0.0))
    town.courier("near", at_km=(0.1, 0.0))
    town.courier("mid", at_km=(0.4, 0.0))
    town.order("newest", ready_in=-timedelta(minutes=1))
    town.order("oldest", ready_in=-timedelta(minutes=9))
    town.order("middle", ready_in=-timedelta(minutes=5))
    snapshot = town.snapshot()

    plan = POLICY.plan(snapshot)

    assert plan_violations(snapshot, plan) == []
    taken = {t.courier_id: t.order_ids for t in plan.trips}
    assert taken == {"near": ("oldest",), "mid": ("middle",), "far": ("newest",)}
    # the far courier first rides to the store, then leaves
    far = plan.next_trip("far")
    assert far is not None and far.starts_at is not None and far.starts_at > town.now


def test_one_order_per_trip_and_the_rest_wait(town) -> None:
    town.courier("c1")
    for n in range(3):
        town.order(f"o{n}", ready_in=-timedelta(minutes=3 - n), at_km=(1.0, 0.01 * n))
    plan = POLICY.plan(town.snapshot())
    assert [t.order_ids for t in plan.trips] == [("o0",)]  # even though all three would fit
    assert reasons(plan) == {"o1": PostponeReason.NO_FREE_COURIER, "o2": PostponeReason.NO_FREE_COURIER}


def test_orders_not_yet_packed_are_not_dispatched(town) -> None:
    town.courier("c1")
    town.order("later", ready_in=timedelta(minutes=2))
    plan = POLICY.plan(town.snapshot())
    assert plan.trips == ()
    assert reasons(plan) == {"later": PostponeReason.NOT_READY}


def test_busy_couriers_are_not_used_and_riders_keep_their_trip(town) -> None:
    town.order("bag", at_km=(2.0, 0.0))
    town.order("new")
    town.courier("rider", state=CourierState.RIDING, at_km=(1.0, 0.0), back_in=timedelta(minutes=8), carrying=("bag",))
    town.courier("returning", state=CourierState.RETURNING, at_km=(0.5, 0.0))
    snapshot = town.snapshot()

    plan = POLICY.plan(snapshot)

    assert plan_violations(snapshot, plan) == []
    current = plan.current_trip("rider")
    assert current is not None and current.pinned and current.order_ids == ("bag",)
    assert current.back_at == town.now + timedelta(minutes=8)
    assert plan.next_trip("rider") is None and plan.next_trip("returning") is None
    assert reasons(plan) == {"new": PostponeReason.NO_FREE_COURIER}


def test_a_courier_holding_bags_leaves_with_exactly_those(town) -> None:
    town.order("held")
    town.order("other", ready_in=-timedelta(minutes=10))
    town.courier("c1", state=CourierState.WAITING, carrying=("held",))
    plan = POLICY.plan(town.snapshot())
    trip = plan.next_trip("c1")
    assert trip is not None and trip.order_ids == ("held",)
    assert reasons(plan) == {"other": PostponeReason.NO_FREE_COURIER}


def test_capacity_decides_who_can_take_an_order(town) -> None:
    town.courier("bike", at_km=(0.0, 0.0))
    town.courier("car", kind=VehicleKind.CAR, at_km=(0.5, 0.0))
    town.order("crates", totes=6, ready_in=-timedelta(minutes=5))
    town.order("piano", totes=40)
    snapshot = town.snapshot()
    plan = POLICY.plan(snapshot)
    assert plan_violations(snapshot, plan) == []
    assert plan.next_trip("car") is not None and plan.next_trip("car").order_ids == ("crates",)  # type: ignore[union-attr]
    assert plan.next_trip("bike") is None
    assert reasons(plan) == {"piano": PostponeReason.TOO_LARGE}


def test_orders_of_a_store_without_couriers_wait(town) -> None:
    from newretail.delivery.model import Depot

    town.depots.append(Depot("s2", town.depots[0].location))
    town.courier("c1")
    town.order("o1", store_id="s2")
    plan = POLICY.plan(town.snapshot())
    assert plan.trips == ()
    assert reasons(plan) == {"o1": PostponeReason.NO_COURIER}


def test_budget_must_be_positive(town) -> None:
    with pytest.raises(Exception, match="budget"):
        POLICY.plan(town.snapshot(), timedelta(0))
