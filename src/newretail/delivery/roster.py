"""Who is out there: the courier roster other contexts read (the promise asks when couriers are free)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import Connection, bindparam, distinct, func, insert, select

from newretail.core.errors import ValidationFailed
from newretail.core.ids import new_id
from newretail.delivery.model import STANDARD_VEHICLES, Load, VehicleKind, VehicleType
from newretail.delivery.tables import couriers, trip_stops, trips

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


@dataclass(frozen=True, slots=True)
class CourierPlan:
    """What the promise needs from the dispatcher: when each courier on shift is back at the store
    (after its ride, or after the trip it is loading), the trips planned but not loaded yet, and
    which orders those trips carry (they need no courier of their own any more). ``can_carry``
    says, for each instant of ``free_at``, whether that courier can carry the load asked about.

    A planned trip is kept as a ride, ``(leaves, busy for)``, not as a hold on the courier it was
    planned for: it is re-planned every round, and until it leaves the courier is free for
    anything due earlier. Holding the courier from now until the trip is back (a slot trip an
    hour ahead, say) would refuse express to orders the dispatcher can still carry first."""

    free_at: list[datetime]
    can_carry: list[bool]
    planned_rides: list[tuple[datetime, timedelta]]  # (leaves, how long the trip keeps a courier)
    planned_orders: frozenset[str]


def courier_plan(
    conn: Connection, tenant_id: str, store_id: str, now: datetime, carrying: Load = Load()
) -> CourierPlan:
    """Couriers' free times, whether each can carry ``carrying`` (a new order's estimated load),
    and the trips the last dispatch round planned or loaded."""
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
    by_free_time = sorted(free, key=lambda courier_id: (free[courier_id], courier_id))
    return CourierPlan(
        [free[c] for c in by_free_time],
        [fits[c] for c in by_free_time],
        sorted(rides.values()),
        frozenset(planned),
    )


def recent_orders_per_trip(conn: Connection, tenant_id: str, store_id: str, since: datetime) -> float:
    """Orders a trip carried on average, over the store's trips that left since ``since`` (1.0 with
    none): the promise lets orders queued for couriers share rides at this rate."""
    trip_count, stop_count = conn.execute(
        _RECENT_TRIPS, {"tenant_id": tenant_id, "store_id": store_id, "since": since}
    ).one()
    return max(1.0, stop_count / trip_count) if trip_count else 1.0
