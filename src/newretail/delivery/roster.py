"""Who is out there: the courier roster other contexts read (the promise asks when couriers are free)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, bindparam, delete, distinct, func, insert, select

from newretail.core.errors import Conflict, NotFound, ValidationFailed
from newretail.core.ids import new_id
from newretail.delivery.model import STANDARD_VEHICLES, Load, VehicleKind, VehicleType
from newretail.delivery.tables import couriers, rostered_shifts, trip_stops, trips

# A slot order rides no earlier than this before its slot starts: the dispatcher's release time
# (the planner has no earliest arrival, so an early departure is what it can control); the
# promise counts its courier from then.
SLOT_LEAD = timedelta(minutes=20)

# The vehicle names couriers are stored (and asked for) with; their defaults are the model's.
VEHICLE_KINDS: Mapping[str, VehicleKind] = MappingProxyType(
    {"bike": VehicleKind.BIKE, "ebike": VehicleKind.E_BIKE, "car": VehicleKind.CAR}
)


def standard_vehicle(vehicle: str) -> VehicleType:
    """The default speed and payload of a vehicle name (``bike``, ``ebike``, ``car``)."""
    return STANDARD_VEHICLES[VEHICLE_KINDS[vehicle]]


# Read by every quote and every checkout: built once.
_FREE_AT = select(couriers.c.id, couriers.c.free_at, couriers.c.capacity_totes, couriers.c.capacity_weight_g).where(
    couriers.c.tenant_id == bindparam("tenant_id"),
    couriers.c.store_id == bindparam("store_id"),
    couriers.c.on_shift.is_(True),
)
# The store's rostered shifts that end after ``since`` and start before ``until``, with the
# couriers' payloads: a courier off shift now counts from its rostered start. _availability unpacks
# each row in this column order.
_ROSTER = (
    select(
        rostered_shifts.c.courier_id,
        rostered_shifts.c.starts_at,
        rostered_shifts.c.ends_at,
        couriers.c.capacity_totes,
        couriers.c.capacity_weight_g,
    )
    .select_from(rostered_shifts.join(couriers, couriers.c.id == rostered_shifts.c.courier_id))
    .where(
        rostered_shifts.c.tenant_id == bindparam("tenant_id"),
        rostered_shifts.c.store_id == bindparam("store_id"),
        rostered_shifts.c.ends_at > bindparam("since"),
        rostered_shifts.c.starts_at < bindparam("until"),
    )
    .order_by(rostered_shifts.c.courier_id, rostered_shifts.c.starts_at)
)
# How far back the promise looks at the roster, to find a courier still out past its shift's end
# (a trip or two); and how far ahead by default (callers pass the end of the slots they offer).
ROSTER_BEHIND = timedelta(hours=2)
ROSTER_AHEAD = timedelta(hours=24)
_PLANNED_STOPS = (
    select(trips.c.id, trips.c.status, trips.c.courier_id, trips.c.planned_start, trips.c.planned_back)
    .add_columns(trip_stops.c.order_id)
    .select_from(trips.join(trip_stops, trip_stops.c.trip_id == trips.c.id))
    .where(
        trips.c.tenant_id == bindparam("tenant_id"),
        trips.c.store_id == bindparam("store_id"),
        trips.c.status.in_(("planned", "loading")),
    )
)
_RECENT_TRIPS = (
    select(func.count(distinct(trips.c.id)), func.count(trip_stops.c.id))
    .select_from(trips.join(trip_stops, trip_stops.c.trip_id == trips.c.id))
    .where(
        trips.c.tenant_id == bindparam("tenant_id"),
        trips.c.store_id == bindparam("store_id"),
        trips.c.departed_at >= bindparam("since"),
    )
)


@dataclass(frozen=True, slots=True)
class CourierView:
    id: str
    store_id: str
    name: str
    vehicle: str
    speed_kmh: float
    capacity_totes: int
    on_shift: bool
    state: str
    free_at: datetime | None


def add_courier(
    conn: Connection,
    *,
    tenant_id: str,
    store_id: str,
    name: str,
    vehicle: str,
    now: datetime,
    user_id: str | None = None,
    speed_kmh: float | None = None,
    capacity_totes: int | None = None,
    capacity_weight_g: int | None = None,
) -> str:
    if vehicle not in VEHICLE_KINDS:
        raise ValidationFailed(f"vehicle must be one of {sorted(VEHICLE_KINDS)}", field="vehicle")
    standard = standard_vehicle(vehicle)
    if speed_kmh is not None and not 0 < speed_kmh <= 120:
        raise ValidationFailed("speed must be in (0, 120] km/h", field="speed_kmh")
    if capacity_totes is not None and capacity_totes < 1:
        raise ValidationFailed("a courier carries at least one tote", field="capacity_totes")
    if capacity_weight_g is not None and capacity_weight_g < 1:
        raise ValidationFailed("a courier carries some weight", field="capacity_weight_g")
    courier_id = new_id()
    conn.execute(
        insert(couriers).values(
            id=courier_id,
            tenant_id=tenant_id,
            store_id=store_id,
            user_id=user_id,
            name=name,
            vehicle=vehicle,
            speed_kmh=speed_kmh or standard.speed_kmh,
            capacity_totes=capacity_totes or standard.capacity_totes,
            capacity_weight_g=capacity_weight_g or standard.capacity_weight_g,
            on_shift=False,
            state="off",
            free_at=None,
            updated_at=now,
        )
    )
    return courier_id


def store_couriers(conn: Connection, tenant_id: str, store_id: str) -> list[CourierView]:
    rows = conn.execute(
        select(couriers)
        .where(couriers.c.tenant_id == tenant_id, couriers.c.store_id == store_id)
        .order_by(couriers.c.name)
    )
    return [
        CourierView(r.id, r.store_id, r.name, r.vehicle, r.speed_kmh, r.capacity_totes, r.on_shift, r.state, r.free_at)
        for r in rows
    ]


# A rostered shift longer than a day is a typing error, not a shift.
LONGEST_SHIFT = timedelta(hours=24)


class ShiftOverlaps(Conflict):
    code = "shift_overlaps"


class RosteredShiftNotFound(NotFound):
    code = "rostered_shift_not_found"


@dataclass(frozen=True, slots=True)
class RosteredShift:
    id: str
    store_id: str
    courier_id: str
    starts_at: datetime
    ends_at: datetime


def roster_shift(
    conn: Connection,
    *,
    tenant_id: str,
    store_id: str,
    courier_id: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> RosteredShift:
    """Roster ``courier_id`` from ``starts_at`` to ``ends_at``. Shifts of one courier may touch
    (back to back) but not overlap."""
    for name, instant in (("starts_at", starts_at), ("ends_at", ends_at)):
        if instant.tzinfo is None:
            raise ValidationFailed(f"{name} needs a time zone", field=name)
    if ends_at <= starts_at:
        raise ValidationFailed("a shift must end after it starts", field="ends_at")
    if ends_at - starts_at > LONGEST_SHIFT:
        raise ValidationFailed("a shift lasts at most a day", field="ends_at")
    if ends_at <= now:
        raise ValidationFailed("that shift is over already", field="ends_at")
    clash = conn.execute(
        select(rostered_shifts.c.id, rostered_shifts.c.starts_at, rostered_shifts.c.ends_at).where(
            rostered_shifts.c.tenant_id == tenant_id,
            rostered_shifts.c.courier_id == courier_id,
            rostered_shifts.c.starts_at < ends_at,
            rostered_shifts.c.ends_at > starts_at,
        )
    ).first()
    if clash is not None:
        raise ShiftOverlaps(
            "this courier is rostered then already",
            shift_id=clash.id,
            starts_at=clash.starts_at.isoformat(),
            ends_at=clash.ends_at.isoformat(),
        )
    shift = RosteredShift(new_id(), store_id, courier_id, starts_at, ends_at)
    conn.execute(
        insert(rostered_shifts).values(
            id=shift.id,
            tenant_id=tenant_id,
            store_id=store_id,
            courier_id=courier_id,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
        )
    )
    return shift


def unroster_shift(conn: Connection, *, tenant_id: str, store_id: str, shift_id: str) -> None:
    gone = conn.execute(
        delete(rostered_shifts).where(
            rostered_shifts.c.tenant_id == tenant_id,
            rostered_shifts.c.store_id == store_id,
            rostered_shifts.c.id == shift_id,
        )
    )
    if gone.rowcount == 0:
        raise RosteredShiftNotFound("no such rostered shift at this store", shift_id=shift_id)


def store_roster(
    conn: Connection, tenant_id: str, store_id: str, since: datetime, until: datetime
) -> list[RosteredShift]:
    """The store's rostered shifts that end after ``since`` and start before ``until``, by start."""
    rows = conn.execute(
        select(rostered_shifts)
        .where(
            rostered_shifts.c.tenant_id == tenant_id,
            rostered_shifts.c.store_id == store_id,
            rostered_shifts.c.ends_at > since,
            rostered_shifts.c.starts_at < until,
        )
        .order_by(rostered_shifts.c.starts_at, rostered_shifts.c.courier_id)
    )
    return [RosteredShift(r.id, r.store_id, r.courier_id, r.starts_at, r.ends_at) for r in rows]


@dataclass(frozen=True, slots=True)
class CourierPlan:
    """What the promise needs from the dispatcher and the roster: when each courier is free (back
    at the store after its ride or the trip it is loading; a courier rostered later, from its
    shift's start), when its rostered shift ends (``off_at``, ``None``: not rostered to end), the
    trips planned but not loaded yet, and which orders those trips carry (they need no courier of
    their own any more). ``can_carry`` says, for each instant of ``free_at``, whether that courier
    can carry the load asked about.

    A planned trip is kept as a ride, ``(leaves, busy for)``, not as a hold on the courier it was
    planned for: it is re-planned every round, and until it leaves the courier is free for
    anything due earlier. Holding the courier from now until the trip is back (a slot trip an
    hour ahead, say) would refuse express to orders the dispatcher can still carry first."""

    free_at: list[datetime]
    can_carry: list[bool]
    off_at: list[datetime | None]
    planned_rides: list[tuple[datetime, timedelta]]  # (leaves, how long the trip keeps a courier)
    planned_orders: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Availability:
    courier_id: str
    free_at: datetime
    off_at: datetime | None
    fits: bool


def courier_plan(
    conn: Connection,
    tenant_id: str,
    store_id: str,
    now: datetime,
    carrying: Load = Load(),
    roster_until: datetime | None = None,
) -> CourierPlan:
    """Couriers' free times and shift ends, whether each can carry ``carrying`` (a new order's
    estimated load), and the trips the last dispatch round planned or loaded. Shifts rostered to
    start from ``roster_until`` on (default: a day ahead) are left out."""
    store = {"tenant_id": tenant_id, "store_id": store_id}
    free: dict[str, datetime] = {}
    fits: dict[str, bool] = {}
    for row in conn.execute(_FREE_AT, store):
        free[row.id] = max(row.free_at or now, now)
        fits[row.id] = carrying.fits(Load(row.capacity_totes, row.capacity_weight_g))
    planned: set[str] = set()
    rides: dict[str, tuple[datetime, timedelta]] = {}
    rows = conn.execute(_PLANNED_STOPS, store)
    for row in rows:
        planned.add(row.order_id)
        if row.status == "loading":  # bags in hand: this courier is gone until the trip is back
            if row.courier_id in free:
                free[row.courier_id] = max(free[row.courier_id], row.planned_back)
        else:
            rides[row.id] = (max(row.planned_start, now), row.planned_back - row.planned_start)
    roster = conn.execute(
        _ROSTER, {**store, "since": now - ROSTER_BEHIND, "until": roster_until or now + ROSTER_AHEAD}
    ).all()
    available = _availability(free, fits, roster, carrying, now)
    available.sort(key=lambda a: (a.free_at, a.courier_id))
    return CourierPlan(
        [a.free_at for a in available],
        [a.fits for a in available],
        [a.off_at for a in available],
        sorted(rides.values()),
        frozenset(planned),
    )


def _availability(
    free: dict[str, datetime], fits: dict[str, bool], roster: Sequence[Any], carrying: Load, now: datetime
) -> list[_Availability]:
    """One entry per courier on shift (until its rostered shift ends: back-to-back shifts are one;
    past the end, working over, it takes no new ride; not rostered, no end), and one per later
    rostered shift. A courier rostered now but not on shift (late, absent) is not counted."""
    shifts: dict[str, list[list[datetime]]] = {}
    payload: dict[str, bool] = {}
    # Unpacked as tuples: a Row's attribute lookups cost more than the merge itself (~120 rows).
    for courier_id, starts_at, ends_at, totes, weight_g in roster:
        merged = shifts.get(courier_id)
        if merged is None:
            shifts[courier_id] = [[starts_at, ends_at]]
            # The courier's vehicle: the same on each of its shifts.
            payload[courier_id] = carrying.fits(Load(totes, weight_g))
        elif starts_at <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], ends_at)
        else:
            merged.append([starts_at, ends_at])
    entries: list[_Availability] = []
    for courier_id, windows in shifts.items():
        current: list[datetime] | None = None
        if courier_id in free:
            current = next((w for w in windows if w[0] <= now < w[1]), None)
            if current is None and windows[0][0] > now:
                current = windows[0]  # started early: the first rostered shift's end
            # Working over a shift that has ended: finishing its trips, taking no new one.
            off = current[1] if current is not None else now
            entries.append(_Availability(courier_id, free[courier_id], off, fits[courier_id]))
        entries += [
            _Availability(courier_id, w[0], w[1], payload[courier_id])
            for w in windows
            if w[0] > now and w is not current
        ]
    entries += [
        _Availability(courier_id, free_at, None, fits[courier_id])
        for courier_id, free_at in free.items()
        if courier_id not in shifts
    ]
    return entries


def recent_orders_per_trip(conn: Connection, tenant_id: str, store_id: str, since: datetime) -> float:
    """Orders a trip carried on average, over the store's trips that left since ``since`` (1.0 with
    none): the promise lets orders queued for couriers share rides at this rate."""
    trip_count, stop_count = conn.execute(
        _RECENT_TRIPS, {"tenant_id": tenant_id, "store_id": store_id, "since": since}
    ).one()
    return max(1.0, stop_count / trip_count) if trip_count else 1.0
