"""One dispatch round, the parts that need no database: what a plan depended on (so an unchanged
store skips the solver), when a plan goes stale on its own, and which planned trips to act on now.
Pure, no I/O.

Acting on a plan (the hand-over rule): a courier's next trip is *loaded* when the courier is at
the store and the trip starts before the next round (``starts_at <= now + horizon``): each of its
orders that is packed is handed to the courier (the order stays ``packed`` until the courier
leaves). Orders on it not packed yet stay planned stops of that trip; they are handed over in a
later round once packed, or dropped back into the pool if the courier leaves without them. Every
other next trip is only planned: re-planned next round, nothing promised to anyone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from newretail.delivery.model import CourierState, DispatchPlan, DispatchSnapshot, PostponeReason
from newretail.delivery.timeline import PlanningSettings

# A courier's expected return may drift by this much before the store is re-planned for it.
FREE_AT_TOLERANCE = timedelta(seconds=120)


@dataclass(frozen=True, slots=True)
class OrderInput:
    """What a plan depends on about one order; ``ready`` is the packed time, or the estimate while
    it is still being picked (not the clock-dependent release time derived from it). Its load and
    drop-off are fixed per order and status, so they need no place here."""

    ready: str
    promised_by: str

    def to_json(self) -> list[Any]:
        return [self.ready, self.promised_by]


@dataclass(frozen=True, slots=True)
class CourierInput:
    """What a plan depends on about one courier. Away from the store a courier is only "away until
    ``free_at``": each drop on the way is what the plan expected, so it is no reason to re-plan;
    only coming back (or running late) is. Leaving is expected too when the plan loaded the
    courier's whole next trip: ``back_if_leaving`` is then that trip's planned return."""

    state: str  # idle | waiting | away
    carrying: tuple[str, ...]  # bags in hand at the store
    free_at: int | None  # epoch seconds, only for couriers away from the store
    vehicle: tuple[float, int, int]  # speed, totes, grams
    back_if_leaving: int | None = None  # epoch seconds, only for a courier holding its whole next trip

    def to_json(self) -> list[Any]:
        return [self.state, list(self.carrying), self.free_at, list(self.vehicle), self.back_if_leaving]


def round_inputs(orders: Mapping[str, OrderInput], couriers: Mapping[str, CourierInput]) -> dict[str, Any]:
    """The JSON form stored with a plan."""
    return {
        "orders": {oid: o.to_json() for oid, o in sorted(orders.items())},
        "couriers": {cid: c.to_json() for cid, c in sorted(couriers.items())},
    }


def inputs_changed(
    before: Mapping[str, Any] | None, now: Mapping[str, Any], tolerance: timedelta = FREE_AT_TOLERANCE
) -> bool:
    """Whether anything a planner looks at moved: an order came, went, was packed or re-estimated; a
    courier came, went, came back, changed bags at the store, left other than as planned, or its
    expected return moved by more than ``tolerance``."""
    return changes(before, now, tolerance) > 0


def changes(before: Mapping[str, Any] | None, now: Mapping[str, Any], tolerance: timedelta = FREE_AT_TOLERANCE) -> int:
    """How many orders and couriers changed (see :func:`inputs_changed`); a warm-started solver
    only has to repair that much of the standing plan.

    A courier that left with the whole trip the plan loaded, due back about when the plan said, is
    no change, and neither are its orders leaving the queue: the plan's other trips stand as they
    were planned around that departure (a re-plan would only repeat them)."""
    if before is None:
        return len(now["orders"]) + len(now["couriers"])
    return sum(1 for _ in _changes(before, now, tolerance))


def expected_changes_only(
    before: Mapping[str, Any] | None, now: Mapping[str, Any], tolerance: timedelta = FREE_AT_TOLERANCE
) -> bool:
    """Whether the only news since ``before`` is what the plan expected: couriers came back to the
    store empty-handed (nothing at all counts too: a planned trip fell due). Such a round may carry
    the standing plan over instead of searching again. An order packed is news: its real ready
    time lets a search batch and time trips better than the estimate did (measured: carrying the
    plan over on packing too cost 0.4-1.0 points of on-time at city-small's minimal fleet)."""
    return before is not None and all(kind == _COURIER_BACK for kind in _changes(before, now, tolerance))


_COURIER_BACK = "courier back"


def _changes(before: Mapping[str, Any], now: Mapping[str, Any], tolerance: timedelta) -> Iterator[str]:
    """One word per changed courier or order."""
    old_couriers, new_couriers = before.get("couriers", {}), now["couriers"]
    old_orders, new_orders = before.get("orders", {}), now["orders"]
    limit = tolerance.total_seconds()
    gone_with_courier: set[str] = set()
    for courier_id in old_couriers.keys() | new_couriers.keys():
        old, new = old_couriers.get(courier_id), new_couriers.get(courier_id)
        if old is None or new is None:
            yield "courier on or off shift"
        elif _left_with_whole_trip(old, new, old_orders, new_orders):
            gone_with_courier.update(old[1])
            if new[0] != "away":  # out and back since
                yield _COURIER_BACK if not new[1] else "courier"
            elif new[2] is None or abs(new[2] - old[4]) > limit:
                yield "courier"  # away, but not due back when the plan said
        elif old[0] == "away" and new[0] != "away" and not new[1] and old[3] == new[3]:
            yield _COURIER_BACK
        elif (
            (old[0], old[1], old[3]) != (new[0], new[1], new[3])
            or (old[2] is None) != (new[2] is None)
            or (new[2] is not None and abs(new[2] - old[2]) > limit)
        ):
            yield "courier"
    for order_id in old_orders.keys() | new_orders.keys():
        old_order, new_order = old_orders.get(order_id), new_orders.get(order_id)
        if old_order != new_order and not (order_id in gone_with_courier and new_order is None):
            yield "order"


def _left_with_whole_trip(
    old: Sequence[Any], new: Sequence[Any], old_orders: Mapping[str, Any], new_orders: Mapping[str, Any]
) -> bool:
    """``old`` held the whole of its planned next trip, and those bags have left the queue since."""
    back_if_leaving = old[4] if len(old) > 4 else None  # inputs stored before this field had four
    return (
        back_if_leaving is not None
        and old[0] == CourierState.WAITING.value
        and bool(old[1])
        and old[3] == new[3]
        and all(order_id in old_orders and order_id not in new_orders for order_id in old[1])
    )


@dataclass(frozen=True, slots=True)
class TripDecision:
    """What to do with one courier's next trip this round."""

    courier_id: str
    order_ids: tuple[str, ...]  # drop-off sequence
    handed_over: frozenset[str]  # already in the courier's bag, plus those handed over now
    newly_handed: tuple[str, ...]
    starts_at: datetime
    arrivals: tuple[datetime, ...]
    back_at: datetime

    @property
    def loading(self) -> bool:
        return bool(self.handed_over)


def decide(
    plan: DispatchPlan, snapshot: DispatchSnapshot, packed: frozenset[str], horizon: timedelta
) -> tuple[TripDecision, ...]:
    """Each courier's next trip, with the orders to hand over now (see the module docstring).
    Pinned trips are not decisions: they are left exactly as they are."""
    couriers = {c.id: c for c in snapshot.couriers}
    due_before = snapshot.now + horizon
    decisions: list[TripDecision] = []
    for trip in plan.trips:
        if trip.pinned or not trip.order_ids:
            continue
        courier = couriers[trip.courier_id]
        assert trip.starts_at is not None  # only pinned trips have none
        # A riding courier's bags belong to its pinned trip, not to the next one.
        carried = frozenset(courier.carrying) if courier.state.at_store else frozenset()
        newly: tuple[str, ...] = ()
        # Inclusive, like replan_at: a trip due exactly at the next round is loaded now, else no
        # round would ever find it due.
        if courier.state.at_store and trip.starts_at <= due_before:
            newly = tuple(oid for oid in trip.order_ids if oid in packed and oid not in carried)
        decisions.append(
            TripDecision(
                courier_id=trip.courier_id,
                order_ids=trip.order_ids,
                handed_over=carried | frozenset(newly),
                newly_handed=newly,
                starts_at=trip.starts_at,
                arrivals=trip.arrivals,
                back_at=trip.back_at,
            )
        )
    return tuple(decisions)


def replan_at(
    plan: DispatchPlan,
    snapshot: DispatchSnapshot,
    settings: PlanningSettings,
    horizon: timedelta,
    overdue: frozenset[str] = frozenset(),
) -> datetime | None:
    """The earliest instant this plan goes stale with nothing else changing: an order becomes
    plannable, a planned trip becomes due, or an order the solver could not place is retried.

    ``overdue`` orders are still being picked past their estimate: their release time is a guess
    that slides with the clock, and what the plan waits for is their packing (an input change)."""
    ready = {o.id: o.ready_at for o in snapshot.orders}
    instants: list[datetime] = []
    for postponed in plan.postponed:
        if postponed.order_id in overdue:
            continue
        if postponed.reason is PostponeReason.NOT_READY:
            instants.append(ready[postponed.order_id])
        elif postponed.reason is PostponeReason.NOT_READY_SOON:
            instants.append(ready[postponed.order_id] - settings.lookahead)
        elif postponed.reason in (PostponeReason.UNPLACED, PostponeReason.OVER_CAPACITY):
            instants.append(snapshot.now + horizon)
    couriers = {c.id: c for c in snapshot.couriers}
    for trip in plan.trips:
        courier = couriers[trip.courier_id]
        # Only an at-store courier's trip can become due by the clock alone; one out on the road
        # is re-planned when it comes back (a state change).
        if trip.pinned or trip.starts_at is None or not courier.state.at_store:
            continue
        if any(oid not in courier.carrying for oid in trip.order_ids):  # something still to hand over
            instants.append(trip.starts_at - horizon)
    # Instants already past were known when planning: what the plan waits on then is an event
    # (an order packed, a courier back), which changes the inputs.
    future = [instant for instant in instants if instant > snapshot.now]
    return min(future) if future else None
