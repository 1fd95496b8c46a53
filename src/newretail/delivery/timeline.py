"""Trip timelines and zone views shared by every dispatch policy. Pure, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from newretail.core.errors import ValidationFailed
from newretail.core.geo import Point
from newretail.delivery.model import (
    Courier,
    CourierState,
    Depot,
    DispatchOrder,
    DispatchSnapshot,
    Load,
    PlannedTrip,
    PostponeReason,
)
from newretail.delivery.travel import TravelModel


@dataclass(frozen=True, slots=True)
class PlanningSettings:
    travel: TravelModel = field(default_factory=TravelModel)
    pickup: timedelta = timedelta(seconds=60)  # collect the bags at the dispatch point
    handover: timedelta = timedelta(seconds=120)  # park, hand over, get going again
    lookahead: timedelta = timedelta(minutes=15)  # orders ready later than this are not planned yet

    def __post_init__(self) -> None:
        for name in ("pickup", "handover", "lookahead"):
            value: timedelta = getattr(self, name)
            if value < timedelta(0) or value.total_seconds() != int(value.total_seconds()):
                raise ValidationFailed(f"{name} must be a non-negative whole number of seconds", field=name)


def seconds_after(origin: datetime, instant: datetime) -> int:
    """Whole seconds from ``origin`` to ``instant``, rounded up, never negative: the solver's clock."""
    return max(0, math.ceil((instant - origin).total_seconds()))


def schedule_trip(
    *,
    courier: Courier,
    depot: Depot,
    orders: Sequence[DispatchOrder],
    free_at: datetime,
    settings: PlanningSettings,
) -> PlannedTrip:
    """The timeline of a trip from the store: start when the courier is there and every bag is
    packed, collect the bags, ride drop to drop, ride back. The same integer-second arithmetic
    the optimiser uses, so its ETAs and these agree."""
    travel, speed = settings.travel, courier.vehicle.speed_kmh
    starts_at = max([free_at, *(o.ready_at for o in orders)])
    clock = starts_at + settings.pickup
    here = depot.location
    arrivals: list[datetime] = []
    for order in orders:
        clock += timedelta(seconds=travel.duration_s(here, order.drop_off, speed))
        arrivals.append(clock)
        clock += settings.handover
        here = order.drop_off
    back_at = clock + timedelta(seconds=travel.duration_s(here, depot.location, speed))
    return PlannedTrip(
        courier_id=courier.id,
        store_id=depot.store_id,
        order_ids=tuple(o.id for o in orders),
        starts_at=starts_at,
        arrivals=tuple(arrivals),
        back_at=back_at,
    )


def ride_timeline(
    *,
    start_at: datetime,
    origin: Point,
    drops: Sequence[Point],
    depot: Point,
    speed_kmh: float,
    settings: PlanningSettings,
) -> tuple[tuple[datetime, ...], datetime]:
    """ETAs at each drop and the return to the store for a courier setting off from ``origin`` at
    ``start_at`` (already loaded: no pickup time), with the planner's arithmetic."""
    travel = settings.travel
    clock, here = start_at, origin
    arrivals: list[datetime] = []
    for drop in drops:
        clock += timedelta(seconds=travel.duration_s(here, drop, speed_kmh))
        arrivals.append(clock)
        clock += settings.handover
        here = drop
    return tuple(arrivals), clock + timedelta(seconds=travel.duration_s(here, depot, speed_kmh))


def _pinned_trip(
    courier: Courier, depot: Depot, orders: dict[str, DispatchOrder], now: datetime, settings: PlanningSettings
) -> PlannedTrip:
    """A riding courier's current trip, with ETAs estimated from where it is now."""
    travel, speed = settings.travel, courier.vehicle.speed_kmh
    clock, here = now, courier.position
    arrivals: list[datetime] = []
    for order_id in courier.carrying:
        drop = orders[order_id].drop_off
        clock += timedelta(seconds=travel.duration_s(here, drop, speed))
        arrivals.append(clock)
        clock += settings.handover
        here = drop
    estimated_back = clock + timedelta(seconds=travel.duration_s(here, depot.location, speed))
    return PlannedTrip(
        courier_id=courier.id,
        store_id=depot.store_id,
        order_ids=courier.carrying,
        starts_at=None,
        arrivals=tuple(arrivals),
        back_at=max(now, courier.back_at) if courier.back_at is not None else estimated_back,
        pinned=True,
    )


@dataclass(frozen=True, slots=True)
class CourierOutlook:
    """When a courier can start its next trip at the store, and the trip it is pinned to, if any."""

    courier: Courier
    free_at: datetime
    pinned: PlannedTrip | None
    carried: tuple[DispatchOrder, ...]  # handed over but not yet left with (courier at the store)

    @property
    def at_store(self) -> bool:
        return self.courier.state.at_store


def courier_outlook(
    courier: Courier, depot: Depot, orders: dict[str, DispatchOrder], now: datetime, settings: PlanningSettings
) -> CourierOutlook:
    travel, speed = settings.travel, courier.vehicle.speed_kmh
    to_store = timedelta(seconds=travel.duration_s(courier.position, depot.location, speed))
    if courier.state is CourierState.RIDING:
        pinned = _pinned_trip(courier, depot, orders, now, settings)
        return CourierOutlook(courier, pinned.back_at, pinned, ())
    if courier.state.at_store:
        carried = tuple(orders[order_id] for order_id in courier.carrying)
        return CourierOutlook(courier, now + to_store, None, carried)
    back_at = courier.back_at if courier.back_at is not None else now + to_store
    return CourierOutlook(courier, max(now, back_at), None, ())


@dataclass(slots=True)
class ZoneView:
    """One store zone of a snapshot, split the way every policy needs it."""

    depot: Depot
    outlooks: list[CourierOutlook]
    open_orders: list[DispatchOrder]  # not handed to anyone yet, sorted by id
    orders: dict[str, DispatchOrder]

    @property
    def pinned_trips(self) -> list[PlannedTrip]:
        return [o.pinned for o in self.outlooks if o.pinned is not None]

    def capacity_fits_someone(self, order: DispatchOrder) -> bool:
        return any(order.load.fits(o.courier.vehicle.capacity) for o in self.outlooks)

    def unplannable(self, order: DispatchOrder) -> PostponeReason | None:
        """Why no policy could put ``order`` on any trip this round, if that is so."""
        if not self.outlooks:
            return PostponeReason.NO_COURIER
        if not self.capacity_fits_someone(order):
            return PostponeReason.TOO_LARGE
        return None


def zone_views(snapshot: DispatchSnapshot, settings: PlanningSettings) -> list[ZoneView]:
    orders = {o.id: o for o in snapshot.orders}
    carried = snapshot.carrier_of()
    views: list[ZoneView] = []
    for store_id in snapshot.store_ids:
        depot = snapshot.depot(store_id)
        outlooks = [courier_outlook(c, depot, orders, snapshot.now, settings) for c in snapshot.couriers_of(store_id)]
        open_orders = [o for o in snapshot.orders_of(store_id) if o.id not in carried]
        views.append(ZoneView(depot, outlooks, open_orders, orders))
    return views


def trip_load(trip: PlannedTrip, orders: dict[str, DispatchOrder]) -> Load:
    total = Load()
    for order_id in trip.order_ids:
        total += orders[order_id].load
    return total
