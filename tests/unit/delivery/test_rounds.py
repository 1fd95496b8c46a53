"""The database-free parts of a dispatch round: change detection, the hand-over rule, when a plan
goes stale, load estimates and proof of delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.core.geo import Point
from newretail.delivery.model import (
    TOTE_MAX_ITEMS,
    TOTE_MAX_WEIGHT_G,
    CourierState,
    DeliveryProof,
    InvalidProof,
    Load,
    ParcelLine,
    PostponeReason,
    estimate_load,
)
from newretail.delivery.planning import FifoNearestPolicy, OptimisedPolicy, PlanningSettings
from newretail.delivery.rounds import (
    CourierInput,
    OrderInput,
    decide,
    expected_changes_only,
    inputs_changed,
    replan_at,
    round_inputs,
)

HORIZON = timedelta(seconds=60)


def inputs(free_at: int | None = None, state: str = "riding", ready: str = "packed:t0") -> dict[str, object]:
    return round_inputs(
        {"o1": OrderInput(ready, "2026-01-05T12:30:00+00:00")},
        {"c1": CourierInput(state, ("o1",) if state == "riding" else (), free_at, (15.0, 4, 25_000))},
    )


def test_nothing_moved_is_no_change_and_anything_that_matters_is() -> None:
    base = inputs(free_at=1_000)
    assert not inputs_changed(base, inputs(free_at=1_000))
    assert inputs_changed(None, base)
    assert inputs_changed(base, inputs(free_at=1_000, ready="picking:t1"))  # re-estimated or packed
    assert inputs_changed(base, inputs(free_at=None, state="idle"))  # came back
    # A riding courier's return drifting a little (position updates) is not worth a re-plan.
    assert not inputs_changed(base, inputs(free_at=1_090))
    assert inputs_changed(base, inputs(free_at=1_200))


PROMISE = "2026-01-05T12:30:00+00:00"
BIKE = (15.0, 4, 25_000)


def loaded(back_if_leaving: int | None = 1_000) -> dict[str, object]:
    """c1 holds o1 (its whole next trip, due back at ``back_if_leaving``); o2 is being picked."""
    return round_inputs(
        {"o1": OrderInput("packed:t0", PROMISE), "o2": OrderInput("picking:t1", PROMISE)},
        {"c1": CourierInput("waiting", ("o1",), None, BIKE, back_if_leaving)},
    )


def later(state: str = "away", free_at: int | None = 1_060, o2: str = "picking:t1") -> dict[str, object]:
    """c1 left with o1 (and is ``state`` now); o2 is still in the queue."""
    return round_inputs({"o2": OrderInput(o2, PROMISE)}, {"c1": CourierInput(state, (), free_at, BIKE)})


def test_leaving_with_the_whole_planned_trip_is_no_change_and_coming_back_is_expected() -> None:
    assert not inputs_changed(loaded(), later())  # left as planned, due back about then
    assert inputs_changed(loaded(), later(free_at=1_300))  # due back well after the plan said
    assert inputs_changed(loaded(back_if_leaving=None), later())  # left without the whole trip
    older = loaded()
    older["couriers"]["c1"] = older["couriers"]["c1"][:4]  # type: ignore[index]  # stored before the field
    assert inputs_changed(older, later())
    back = later(state="idle", free_at=None)
    assert inputs_changed(loaded(), back) and expected_changes_only(loaded(), back)
    assert expected_changes_only(loaded(), loaded())  # nothing new at all: a trip fell due
    assert not expected_changes_only(loaded(), later(state="idle", free_at=None, o2="packed:t2"))  # news
    assert not expected_changes_only(None, back)
    riding = round_inputs({}, {"c1": CourierInput("away", (), 1_000, BIKE)})
    assert expected_changes_only(riding, round_inputs({}, {"c1": CourierInput("idle", (), None, BIKE)}))
    assert not expected_changes_only(riding, round_inputs({}, {}))  # went off shift


@given(
    st.dictionaries(st.sampled_from(["o1", "o2", "o3"]), st.sampled_from(["packed:t0", "picking:t1"])),
    st.dictionaries(
        st.sampled_from(["c1", "c2"]),
        st.tuples(st.sampled_from(["idle", "waiting", "away"]), st.none() | st.integers(0, 5_000)),
    ),
)
def test_the_same_inputs_are_never_a_change(
    orders: dict[str, str], couriers: dict[str, tuple[str, int | None]]
) -> None:
    inputs = round_inputs(
        {oid: OrderInput(ready, PROMISE) for oid, ready in orders.items()},
        {
            cid: CourierInput(state, ("o1",) if state == "waiting" else (), at if state == "away" else None, BIKE, at)
            for cid, (state, at) in couriers.items()
        },
    )
    assert not inputs_changed(inputs, inputs) and expected_changes_only(inputs, inputs)


def test_inputs_survive_a_json_round_trip() -> None:
    import json

    base = inputs(free_at=5)
    assert not inputs_changed(json.loads(json.dumps(base)), base)


def test_due_trips_of_at_store_couriers_hand_over_their_packed_orders_only(town) -> None:
    town.courier("c1")
    town.order("packed", at_km=(1.0, 0.0))
    town.order("nearly", at_km=(1.0, 0.05), ready_in=timedelta(seconds=30))
    snapshot = town.snapshot()
    plan = OptimisedPolicy(seed=1).plan(snapshot, timedelta(milliseconds=200))
    (trip,) = plan.trips
    assert set(trip.order_ids) == {"packed", "nearly"}  # worth waiting 30 s for a bag next door
    (decision,) = decide(plan, snapshot, frozenset({"packed"}), HORIZON)
    assert decision.loading and decision.newly_handed == ("packed",)
    assert decision.handed_over == frozenset({"packed"})
    # Not due before the next round: nothing is handed over yet.
    (later,) = decide(plan, snapshot, frozenset({"packed"}), timedelta(seconds=1))
    assert not later.loading


def test_a_trip_due_exactly_at_the_next_round_is_loaded_now_or_never_goes_stale(town) -> None:
    # The slot-order case that stranded orders in the twin: the plan's trip starts exactly one
    # horizon from now. Either this round loads it, or replan_at names a later round: never neither.
    town.courier("c1")
    town.order("slot", at_km=(1.0, 0.0), ready_in=HORIZON, due_in=timedelta(hours=1))
    snapshot = town.snapshot()
    plan = OptimisedPolicy(seed=1).plan(snapshot, timedelta(milliseconds=200))
    (trip,) = plan.trips
    assert trip.starts_at == snapshot.now + HORIZON  # released then (a slot order's lead time)
    (decision,) = decide(plan, snapshot, frozenset({"slot"}), HORIZON)
    assert decision.loading or replan_at(plan, snapshot, PlanningSettings(), HORIZON) is not None


def test_a_riding_courier_next_trip_is_only_planned(town) -> None:
    town.order("bag", at_km=(2.0, 0.0))
    town.order("new")
    town.courier("rider", state=CourierState.RIDING, at_km=(1.0, 0.0), back_in=timedelta(seconds=20), carrying=("bag",))
    snapshot = town.snapshot()
    plan = FifoNearestPolicy().plan(snapshot)
    for decision in decide(plan, snapshot, frozenset({"bag", "new"}), HORIZON):
        assert decision.handed_over == frozenset()  # its bags belong to the pinned trip


def test_a_plan_goes_stale_when_an_order_comes_into_the_lookahead(town) -> None:
    settings = PlanningSettings()
    town.courier("c1")
    town.order("much_later", ready_in=timedelta(minutes=40))
    snapshot = town.snapshot()
    plan = OptimisedPolicy(settings).plan(snapshot, timedelta(milliseconds=100))
    assert plan.postponed[0].reason is PostponeReason.NOT_READY_SOON
    assert replan_at(plan, snapshot, settings, HORIZON) == town.now + timedelta(minutes=40) - settings.lookahead
    # An order still picking past its estimate is waited for by event, not by the clock.
    assert replan_at(plan, snapshot, settings, HORIZON, overdue=frozenset({"much_later"})) is None


def test_a_planned_trip_of_an_idle_courier_goes_stale_one_round_before_it_starts(town) -> None:
    settings = PlanningSettings()
    town.courier("c1")
    town.order("soon", ready_in=timedelta(minutes=5))
    snapshot = town.snapshot()
    plan = OptimisedPolicy(settings).plan(snapshot, timedelta(milliseconds=100))
    (trip,) = plan.trips
    assert trip.starts_at is not None
    assert replan_at(plan, snapshot, settings, HORIZON) == trip.starts_at - HORIZON


def test_fifo_waits_for_the_order_to_be_packed(town) -> None:
    settings = PlanningSettings()
    town.courier("c1")
    town.order("soon", ready_in=timedelta(minutes=3))
    snapshot = town.snapshot()
    plan = FifoNearestPolicy(settings).plan(snapshot)
    assert replan_at(plan, snapshot, settings, HORIZON) == town.now + timedelta(minutes=3)


def test_load_is_weight_and_totes_by_weight_or_items() -> None:
    assert estimate_load([]) == Load(1, 0)
    assert estimate_load([ParcelLine(False, 2, 1000), ParcelLine(True, 500, 0)]) == Load(1, 2500)
    assert estimate_load([ParcelLine(False, TOTE_MAX_ITEMS + 1, 10)]).totes == 2
    assert estimate_load([ParcelLine(True, TOTE_MAX_WEIGHT_G + 1, 0)]).totes == 2


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30_000), st.integers(1, 5_000)), max_size=20))
def test_every_tote_is_within_its_limits(lines: list[tuple[bool, int, int]]) -> None:
    parcel = [
        ParcelLine(by_weight, quantity if by_weight else quantity % 40, unit) for by_weight, quantity, unit in lines
    ]
    load = estimate_load(parcel)
    items = sum(1 if p.by_weight else p.quantity for p in parcel if p.quantity > 0)
    assert load.totes >= 1
    assert load.weight_g <= load.totes * TOTE_MAX_WEIGHT_G
    assert items <= load.totes * TOTE_MAX_ITEMS


def test_proof_needs_a_code_or_a_photo() -> None:
    here = Point(51.5, -0.12)
    with pytest.raises(InvalidProof):
        DeliveryProof(position=here)
    with pytest.raises(InvalidProof):
        DeliveryProof(position=here, code="  ")
    with pytest.raises(InvalidProof):
        DeliveryProof(position=here, code="123456789")
    assert DeliveryProof(position=here, photo_ref="s3://p/1.jpg").code is None
