"""Delivery model for dispatch planning: couriers, vehicles, orders to dispatch, snapshots, plans.

Pure Python, no I/O. A :class:`DispatchSnapshot` is everything a dispatch policy may look at; a
:class:`DispatchPlan` is everything it decides. Times are timezone-aware datetimes; weights are
integer grams; volumes are integer totes (the crates the store packs orders into).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from newretail.core.errors import ValidationFailed
from newretail.core.geo import Point


class InvalidDispatchSnapshot(ValidationFailed):
    code = "invalid_dispatch_snapshot"


def _require_aware(instant: datetime, field_name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidDispatchSnapshot(f"{field_name} must be timezone-aware", field=field_name)


class VehicleKind(StrEnum):
    BIKE = "bike"
    E_BIKE = "e-bike"
    CAR = "car"


@dataclass(frozen=True, slots=True, order=True)
class Load:
    """What a trip carries, in both dimensions a courier is limited by."""

    totes: int = 0
    weight_g: int = 0

    def __add__(self, other: Load) -> Load:
        return Load(self.totes + other.totes, self.weight_g + other.weight_g)

    def fits(self, capacity: Load) -> bool:
        return self.totes <= capacity.totes and self.weight_g <= capacity.weight_g


@dataclass(frozen=True, slots=True)
class VehicleType:
    kind: VehicleKind
    speed_kmh: float
    capacity_totes: int
    capacity_weight_g: int

    def __post_init__(self) -> None:
        if not 0 < self.speed_kmh <= 120:
            raise InvalidDispatchSnapshot("vehicle speed must be in (0, 120] km/h", field="speed_kmh")
        if self.capacity_totes < 1:
            raise InvalidDispatchSnapshot("a vehicle must carry at least one tote", field="capacity_totes")
        if self.capacity_weight_g < 1:
            raise InvalidDispatchSnapshot("a vehicle must carry some weight", field="capacity_weight_g")

    @property
    def capacity(self) -> Load:
        return Load(self.capacity_totes, self.capacity_weight_g)


# Sensible defaults for a city store; a retailer overrides them per courier.
STANDARD_VEHICLES: Mapping[VehicleKind, VehicleType] = MappingProxyType(
    {
        VehicleKind.BIKE: VehicleType(VehicleKind.BIKE, speed_kmh=15.0, capacity_totes=4, capacity_weight_g=25_000),
        VehicleKind.E_BIKE: VehicleType(VehicleKind.E_BIKE, speed_kmh=20.0, capacity_totes=6, capacity_weight_g=40_000),
        VehicleKind.CAR: VehicleType(VehicleKind.CAR, speed_kmh=25.0, capacity_totes=12, capacity_weight_g=150_000),
    }
)


class CourierState(StrEnum):
    IDLE = "idle"  # at (or next to) its store, free
    TO_STORE = "to_store"  # heading to its store (shift start, repositioning); free once there
    WAITING = "waiting"  # at its store waiting for bags to be packed
    RIDING = "riding"  # out delivering: its current trip is pinned
    RETURNING = "returning"  # all bags delivered, riding back to the store

    @property
    def at_store(self) -> bool:
        return self in (CourierState.IDLE, CourierState.WAITING)


@dataclass(frozen=True, slots=True)
class Depot:
    """A store seen as the depot couriers start and end their trips at."""

    store_id: str
    location: Point


@dataclass(frozen=True, slots=True)
class DispatchOrder:
    """An order the store has (or will soon have) packed and that still has to reach its customer.

    ``ready_at`` is the estimated pick-and-pack completion (the release time: no trip with this
    order can leave before it); ``promised_by`` is the deadline promised to the customer.
    """

    id: str
    store_id: str
    drop_off: Point
    ready_at: datetime
    promised_by: datetime
    totes: int
    weight_g: int
    # Express: every minute counts, not only the deadline (the planner weighs the customer's wait
    # against riding distance). Slot orders only need to be inside their slot.
    prompt: bool = False

    def __post_init__(self) -> None:
        _require_aware(self.ready_at, "ready_at")
        _require_aware(self.promised_by, "promised_by")
        if self.totes < 1:
            raise InvalidDispatchSnapshot("an order fills at least one tote", field="totes", order_id=self.id)
        if self.weight_g < 0:
            raise InvalidDispatchSnapshot("weight cannot be negative", field="weight_g", order_id=self.id)

    @property
    def load(self) -> Load:
        return Load(self.totes, self.weight_g)


@dataclass(frozen=True, slots=True)
class Courier:
    """A courier as the planner sees it.

    ``carrying`` lists the orders already handed over to this courier, in drop-off sequence; they
    are never reassigned. ``back_at`` is when the courier will be back at its store; when absent it
    is estimated from ``position`` (and, while riding, the drops still to make).
    """

    id: str
    store_id: str
    vehicle: VehicleType
    state: CourierState
    position: Point
    back_at: datetime | None = None
    carrying: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "carrying", tuple(self.carrying))
        if self.back_at is not None:
            _require_aware(self.back_at, "back_at")
        if len(set(self.carrying)) != len(self.carrying):
            raise InvalidDispatchSnapshot("a courier carries each order once", courier_id=self.id)
        if self.carrying and self.state in (CourierState.TO_STORE, CourierState.RETURNING):
            raise InvalidDispatchSnapshot(
                f"a courier that is {self.state} cannot carry orders", courier_id=self.id, state=str(self.state)
            )

    @property
    def pinned(self) -> bool:
        """Out on a trip: that trip is not the planner's to change."""
        return self.state is CourierState.RIDING


@dataclass(frozen=True, slots=True)
class DispatchSnapshot:
    """Everything a policy may know when it plans: one instant, one or more store zones."""

    now: datetime
    depots: tuple[Depot, ...]
    couriers: tuple[Courier, ...]
    orders: tuple[DispatchOrder, ...]
    previous: DispatchPlan | None = None  # the last plan, to warm-start from

    def __post_init__(self) -> None:
        _require_aware(self.now, "now")
        object.__setattr__(self, "depots", tuple(self.depots))
        object.__setattr__(self, "couriers", tuple(self.couriers))
        object.__setattr__(self, "orders", tuple(self.orders))
        store_ids = _unique((d.store_id for d in self.depots), "store")
        _unique((c.id for c in self.couriers), "courier")
        orders = {o.id: o for o in self.orders}
        _unique((o.id for o in self.orders), "order")
        for order in self.orders:
            if order.store_id not in store_ids:
                raise InvalidDispatchSnapshot("order belongs to an unknown store", order_id=order.id)
        carrier: dict[str, str] = {}
        for courier in self.couriers:
            if courier.store_id not in store_ids:
                raise InvalidDispatchSnapshot("courier belongs to an unknown store", courier_id=courier.id)
            load = Load()
            for order_id in courier.carrying:
                held = orders.get(order_id)
                if held is None:
                    raise InvalidDispatchSnapshot(
                        "a carried order must be in the snapshot", courier_id=courier.id, order_id=order_id
                    )
                if held.store_id != courier.store_id:
                    raise InvalidDispatchSnapshot(
                        "a courier carries only its own store's orders", courier_id=courier.id, order_id=order_id
                    )
                if order_id in carrier:
                    raise InvalidDispatchSnapshot(
                        "an order is carried by two couriers",
                        order_id=order_id,
                        couriers=[carrier[order_id], courier.id],
                    )
                carrier[order_id] = courier.id
                load += held.load
            if not load.fits(courier.vehicle.capacity):
                raise InvalidDispatchSnapshot("a courier carries more than its vehicle holds", courier_id=courier.id)

    @property
    def store_ids(self) -> tuple[str, ...]:
        return tuple(sorted(d.store_id for d in self.depots))

    def depot(self, store_id: str) -> Depot:
        for depot in self.depots:
            if depot.store_id == store_id:
                return depot
        raise InvalidDispatchSnapshot("unknown store", store_id=store_id)

    def orders_of(self, store_id: str) -> tuple[DispatchOrder, ...]:
        return tuple(sorted((o for o in self.orders if o.store_id == store_id), key=lambda o: o.id))

    def couriers_of(self, store_id: str) -> tuple[Courier, ...]:
        return tuple(sorted((c for c in self.couriers if c.store_id == store_id), key=lambda c: c.id))

    def carrier_of(self) -> dict[str, str]:
        """Order id → id of the courier it was handed to."""
        return {order_id: c.id for c in self.couriers for order_id in c.carrying}


def _unique(ids: Iterable[str], what: str) -> set[str]:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise InvalidDispatchSnapshot(f"duplicate {what} id", **{f"{what}_id": item})
        seen.add(item)
    return seen


class PostponeReason(StrEnum):
    NOT_READY = "not_ready"  # fifo-nearest dispatches only packed orders
    NOT_READY_SOON = "not_ready_soon"  # beyond the planning look-ahead
    NO_COURIER = "no_courier"  # the store has no courier at all
    NO_FREE_COURIER = "no_free_courier"  # every courier is busy right now
    TOO_LARGE = "too_large"  # no courier of the store can carry it: needs a human decision
    LATER_TRIP = "later_trip"  # the optimiser expects it on a later trip; re-planned next round
    OVER_CAPACITY = "over_capacity"  # removed by the capacity check after solving
    UNPLACED = "unplaced"  # the solver found no trip for it within its time limit


@dataclass(frozen=True, slots=True)
class Postponed:
    order_id: str
    reason: PostponeReason


@dataclass(frozen=True, slots=True)
class PlannedTrip:
    """One trip of one courier: leave the store at ``starts_at``, drop ``order_ids`` in order.

    A pinned trip is the one a riding courier is on: reported as is, never changed, and its
    ``starts_at`` is ``None`` (it started already). ``arrivals`` are ETAs at each drop-off.
    """

    courier_id: str
    store_id: str
    order_ids: tuple[str, ...]
    starts_at: datetime | None
    arrivals: tuple[datetime, ...]
    back_at: datetime
    pinned: bool = False

    def __post_init__(self) -> None:
        if len(self.arrivals) != len(self.order_ids):
            raise ValueError("one arrival time per drop-off")


@dataclass(frozen=True, slots=True)
class PlanStats:
    solve_seconds: float = 0.0
    zones_solved: int = 0
    solver_iterations: int = 0
    warm_started: bool = False
    infeasible_zones: int = 0  # zones where the solver returned no feasible plan in time (then repaired)
    clock_stopped_zones: int = 0  # zones whose search the wall clock ended (not repeatable)
    rebased: bool = False  # the standing plan carried over without a search


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    """A policy's decisions at ``planned_at``.

    ``trips`` holds each courier's next trip (at most one, starting now or later) and, for a
    riding courier, its pinned current trip. ``outlook`` is the optimiser's advisory view of
    trips after the next one (courier id → order ids per later trip); those orders are also in
    ``postponed`` with reason ``LATER_TRIP``, because nothing about them is decided yet.
    """

    policy: str
    planned_at: datetime
    trips: tuple[PlannedTrip, ...]
    postponed: tuple[Postponed, ...]
    outlook: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = ()
    stats: PlanStats = field(default_factory=PlanStats, compare=False)

    def next_trip(self, courier_id: str) -> PlannedTrip | None:
        return next((t for t in self.trips if t.courier_id == courier_id and not t.pinned), None)

    def current_trip(self, courier_id: str) -> PlannedTrip | None:
        return next((t for t in self.trips if t.courier_id == courier_id and t.pinned), None)

    def starting_before(self, instant: datetime) -> tuple[PlannedTrip, ...]:
        """Trips to act on now: those that start before the next re-plan at ``instant``."""
        return tuple(t for t in self.trips if t.starts_at is not None and t.starts_at < instant and t.order_ids)

    def assigned_order_ids(self) -> tuple[str, ...]:
        return tuple(order_id for t in self.trips for order_id in t.order_ids)

    def postponed_order_ids(self) -> tuple[str, ...]:
        return tuple(p.order_id for p in self.postponed)

    def later_trips(self, courier_id: str) -> tuple[tuple[str, ...], ...]:
        return next((trips for cid, trips in self.outlook if cid == courier_id), ())


def lateness(trip: PlannedTrip, orders: Mapping[str, DispatchOrder]) -> tuple[timedelta, ...]:
    """How late each drop of ``trip`` is expected to be (zero when on time)."""
    return tuple(
        max(timedelta(0), arrival - orders[order_id].promised_by)
        for order_id, arrival in zip(trip.order_ids, trip.arrivals, strict=True)
    )


# --- carrying it out: trips, stops, proof of delivery ------------------------------------------

# What one tote holds: a crate of groceries is full at about 12 kg or 25 items, whichever first.
TOTE_MAX_WEIGHT_G = 12_000
TOTE_MAX_ITEMS = 25


@dataclass(frozen=True, slots=True)
class ParcelLine:
    """One packed (or ordered) line as dispatch weighs it."""

    by_weight: bool  # True: ``quantity`` is grams
    quantity: int
    unit_weight_g: int  # for goods sold by the unit


def estimate_load(lines: Iterable[ParcelLine]) -> Load:
    """Totes and grams an order fills: its weight, and one tote per 12 kg or 25 items (at least one)."""
    weight, items = 0, 0
    for line in lines:
        if line.quantity <= 0:
            continue
        if line.by_weight:
            weight += line.quantity
            items += 1
        else:
            weight += line.quantity * line.unit_weight_g
            items += line.quantity
    totes = max(1, -(-weight // TOTE_MAX_WEIGHT_G), -(-items // TOTE_MAX_ITEMS))
    return Load(totes, weight)


class TripStatus(StrEnum):
    PLANNED = "planned"  # the dispatcher's intention; re-planned every round, nothing handed over
    LOADING = "loading"  # bags handed to the courier at the store; leaves at ``planned_start``
    RIDING = "riding"  # left the store: pinned, no planner touches it
    RETURNING = "returning"  # every stop settled, riding back
    DONE = "done"  # back at the store
    CANCELLED = "cancelled"  # bags handed back before leaving (the courier ended the shift)


class StopStatus(StrEnum):
    PLANNED = "planned"  # on a planned trip, or not yet handed over on a loading trip
    LOADED = "loaded"  # in the courier's bag, still at the store
    OUT = "out"  # on the way
    DELIVERED = "delivered"
    FAILED = "failed"  # could not be handed over; rides back with the courier
    RETURNED = "returned"  # back in the store


class FailureReason(StrEnum):
    CUSTOMER_ABSENT = "customer_absent"
    ADDRESS_NOT_FOUND = "address_not_found"
    REFUSED = "refused"
    UNSAFE = "unsafe"
    OTHER = "other"


class InvalidProof(ValidationFailed):
    code = "invalid_proof_of_delivery"


class WrongDeliveryCode(ValidationFailed):
    code = "wrong_delivery_code"


# Further than this from the drop-off, a proof is kept but flagged for review (phones drift).
PROOF_DISTANCE_FLAG_M = 250


@dataclass(frozen=True, slots=True)
class DeliveryProof:
    """What a courier's app sends when handing an order over: where, when (the phone's clock), and
    the customer's delivery code or a photo reference (the photo itself goes to object storage;
    only its key is kept). At least one of code and photo is required."""

    position: Point
    code: str | None = None
    photo_ref: str | None = None
    captured_at: datetime | None = None

    def __post_init__(self) -> None:
        code = (self.code or "").strip()
        photo = (self.photo_ref or "").strip()
        if not code and not photo:
            raise InvalidProof("proof of delivery needs the customer's code or a photo", field="code")
        if len(code) > 8:
            raise InvalidProof("a delivery code has at most 8 characters", field="code")
        if len(photo) > 300:
            raise InvalidProof("a photo reference has at most 300 characters", field="photo_ref")
        if self.captured_at is not None:
            _require_aware(self.captured_at, "captured_at")
