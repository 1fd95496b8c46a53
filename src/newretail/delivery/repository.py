"""Delivery storage: couriers and shifts, dispatch jobs, trips and stops, dispatch rounds.

The only place in this context that writes SQL. Every query filters by tenant. Rows come back as
SQLAlchemy rows; services turn them into views.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import CompileError

from newretail.core.db import not_indexed
from newretail.core.errors import NotFound
from newretail.delivery.model import (
    DispatchPlan,
    PlannedTrip,
    Postponed,
    PostponeReason,
    StopStatus,
    TripStatus,
)
from newretail.delivery.tables import (
    courier_shifts,
    couriers,
    delivery_jobs,
    dispatch_rounds,
    trip_stops,
    trips,
)


class CourierNotFound(NotFound):
    code = "courier_not_found"


class TripNotFound(NotFound):
    code = "trip_not_found"


class StopNotFound(NotFound):
    code = "stop_not_found"


ACTIVE_TRIP_STATUSES = (TripStatus.PLANNED, TripStatus.LOADING, TripStatus.RIDING, TripStatus.RETURNING)

# Trip, stop and dispatch-job columns a trip view needs, in one join.
_STOP_COLUMNS = (
    trips.c.id.label("trip_id"),
    trips.c.store_id,
    trips.c.courier_id,
    trips.c.status.label("trip_status"),
    trips.c.policy,
    trips.c.planned_start,
    trips.c.planned_back,
    trips.c.loaded_at,
    trips.c.departed_at,
    trips.c.returned_at,
    trip_stops.c.id.label("stop_id"),
    trip_stops.c.order_id,
    trip_stops.c.sequence,
    trip_stops.c.status.label("stop_status"),
    trip_stops.c.eta,
    trip_stops.c.handed_over_at,
    trip_stops.c.delivered_at,
    trip_stops.c.failed_at,
    trip_stops.c.failure_reason,
    trip_stops.c.returned_at.label("stop_returned_at"),
    trip_stops.c.proof_distance_m,
    delivery_jobs.c.lat,
    delivery_jobs.c.lon,
    delivery_jobs.c.totes,
    delivery_jobs.c.weight_g,
    delivery_jobs.c.promised_by,
    delivery_jobs.c.packed_at,
    delivery_jobs.c.not_before,
)


# The dispatch round's hot path runs every simulated minute for every store: its statements are
# built once (SQLAlchemy then also reuses their compiled form), and read only the columns needed.
_ROUND_FOR_UPDATE = (
    select(dispatch_rounds)
    .where(dispatch_rounds.c.tenant_id == bindparam("tenant_id"), dispatch_rounds.c.store_id == bindparam("store_id"))
    .with_for_update()
)
_ON_SHIFT_FOR_UPDATE = (
    select(
        couriers.c.id,
        couriers.c.name,
        couriers.c.state,
        couriers.c.lat,
        couriers.c.lon,
        couriers.c.free_at,
        couriers.c.vehicle,
        couriers.c.speed_kmh,
        couriers.c.capacity_totes,
        couriers.c.capacity_weight_g,
    )
    .where(
        couriers.c.tenant_id == bindparam("tenant_id"),
        couriers.c.store_id == bindparam("store_id"),
        couriers.c.on_shift.is_(True),
    )
    .order_by(couriers.c.id)  # the lock order
    .with_for_update()
)
# Stops in a courier's bag or waiting to be handed over: those of loading and riding trips.
_BAG_STOPS = (
    select(
        trips.c.id.label("trip_id"),
        trips.c.store_id,
        trips.c.courier_id,
        trips.c.status.label("trip_status"),
        trips.c.policy,
        trips.c.planned_start,
        trips.c.planned_back,
        trips.c.loaded_at,
        trip_stops.c.id.label("stop_id"),
        trip_stops.c.order_id,
        trip_stops.c.sequence,
        trip_stops.c.status.label("stop_status"),
        trip_stops.c.eta,
        delivery_jobs.c.lat,
        delivery_jobs.c.lon,
        delivery_jobs.c.totes,
        delivery_jobs.c.weight_g,
        delivery_jobs.c.promised_by,
        delivery_jobs.c.packed_at,
    )
    .select_from(trips.join(trip_stops, trip_stops.c.trip_id == trips.c.id))
    .join(delivery_jobs, delivery_jobs.c.order_id == trip_stops.c.order_id)
    .where(
        trips.c.tenant_id == bindparam("tenant_id"),
        trips.c.store_id == bindparam("store_id"),
        trips.c.status.in_([TripStatus.LOADING.value, TripStatus.RIDING.value]),
        trip_stops.c.status.in_([StopStatus.PLANNED.value, StopStatus.LOADED.value, StopStatus.OUT.value]),
    )
    .order_by(trips.c.courier_id, trips.c.id, trip_stops.c.sequence)
)
_SAVE_ROUND = (
    update(dispatch_rounds)
    .where(
        dispatch_rounds.c.tenant_id == bindparam("b_tenant_id"), dispatch_rounds.c.store_id == bindparam("b_store_id")
    )
    .values(
        policy=bindparam("policy"),
        planned_at=bindparam("planned_at"),
        replan_at=bindparam("replan_at"),
        inputs=bindparam("inputs"),
        plan=bindparam("plan"),
        solve_ms=bindparam("solve_ms"),
        solves=bindparam("solves"),
        updated_at=bindparam("updated_at"),
    )
)
_PLANNED_TRIPS = select(trips.c.id).where(
    trips.c.tenant_id == bindparam("tenant_id"),
    trips.c.store_id == bindparam("store_id"),
    trips.c.status.in_([TripStatus.PLANNED.value, TripStatus.LOADING.value]),
)
_DELETE_PLANNED_STOPS = delete(trip_stops).where(
    trip_stops.c.tenant_id == bindparam("tenant_id"),
    trip_stops.c.status == StopStatus.PLANNED.value,
    trip_stops.c.trip_id.in_(_PLANNED_TRIPS),
)
_DELETE_PLANNED_TRIPS = delete(trips).where(
    trips.c.tenant_id == bindparam("tenant_id"),
    trips.c.store_id == bindparam("store_id"),
    trips.c.status == TripStatus.PLANNED.value,
)
_RESEQUENCE = (
    update(trip_stops)
    .where(trip_stops.c.id == bindparam("b_id"))
    .values(sequence=bindparam("sequence"), eta=bindparam("eta"))
)
_RETIME_TRIP = (
    update(trips)
    .where(trips.c.tenant_id == bindparam("b_tenant_id"), trips.c.id == bindparam("b_id"))
    .values(planned_start=bindparam("planned_start"), planned_back=bindparam("planned_back"))
)
_SET_WAITING = (
    update(couriers)
    .where(
        not_indexed(couriers.c.tenant_id) == bindparam("b_tenant_id"),
        couriers.c.id.in_(bindparam("b_ids", expanding=True)),
    )
    .values(state="waiting", free_at=bindparam("now"), updated_at=bindparam("now"))
)
_JOBS = select(delivery_jobs).where(
    not_indexed(delivery_jobs.c.tenant_id) == bindparam("tenant_id"),
    delivery_jobs.c.order_id.in_(bindparam("order_ids", expanding=True)),
)


_COURIER = select(couriers).where(couriers.c.tenant_id == bindparam("tenant_id"), couriers.c.id == bindparam("id"))
_COURIER_FOR_UPDATE = _COURIER.with_for_update()
_JOB = select(delivery_jobs).where(
    delivery_jobs.c.tenant_id == bindparam("tenant_id"), delivery_jobs.c.order_id == bindparam("order_id")
)
_TRIP = select(trips).where(trips.c.tenant_id == bindparam("tenant_id"), trips.c.id == bindparam("id"))
_STOP = select(trip_stops).where(trip_stops.c.tenant_id == bindparam("tenant_id"), trip_stops.c.id == bindparam("id"))
_TRIP_STOP_ROWS = (
    select(*_STOP_COLUMNS)
    .select_from(trips.join(trip_stops, trip_stops.c.trip_id == trips.c.id))
    .join(delivery_jobs, delivery_jobs.c.order_id == trip_stops.c.order_id)
    .where(trips.c.tenant_id == bindparam("tenant_id"), trips.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(trips.c.planned_start, trips.c.id, trip_stops.c.sequence)
)
# One row by id, the columns to set named by the parameters themselves (SQLAlchemy compiles, and
# caches, one SET clause per set of names): the courier's and the trip's life cycles write these.
_UPDATE_COURIER = update(couriers).where(
    couriers.c.tenant_id == bindparam("b_tenant_id"), couriers.c.id == bindparam("b_id")
)
_UPDATE_TRIP = update(trips).where(trips.c.tenant_id == bindparam("b_tenant_id"), trips.c.id == bindparam("b_id"))
_UPDATE_STOP = update(trip_stops).where(
    trip_stops.c.tenant_id == bindparam("b_tenant_id"), trip_stops.c.id == bindparam("b_id")
)


def _by_id(table: Table, tenant_id: str, row_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Parameters for ``table``'s ``_UPDATE_*`` statement: at least one column to set, and only
    columns the table has (a name it lacks would otherwise be silently left out of the SET)."""
    if not values:
        raise CompileError(f"nothing to set on {table.name}")
    unknown = values.keys() - table.c.keys()
    if unknown:  # what SQLAlchemy says of .values() with a name the table lacks
        raise CompileError(f"Unconsumed column names: {', '.join(sorted(unknown))}")
    return {"b_tenant_id": tenant_id, "b_id": row_id, **values}


def _insert(conn: Connection, table: Any) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


class DeliveryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- couriers ---------------------------------------------------------------------------------
    def courier(self, tenant_id: str, courier_id: str, *, for_update: bool = False) -> Any:
        query = _COURIER_FOR_UPDATE if for_update else _COURIER
        row = self.conn.execute(query, {"tenant_id": tenant_id, "id": courier_id}).first()
        if row is None:
            raise CourierNotFound("courier not found", courier_id=courier_id)
        return row

    def courier_of_user(self, tenant_id: str, user_id: str) -> Any:
        row = self.conn.execute(
            select(couriers).where(couriers.c.tenant_id == tenant_id, couriers.c.user_id == user_id)
        ).first()
        if row is None:
            raise CourierNotFound("no courier is registered for this user", user_id=user_id)
        return row

    def on_shift_for_round(self, tenant_id: str, store_id: str) -> list[Any]:
        """The store's couriers on shift, locked in id order, with what dispatch needs of them."""
        return list(self.conn.execute(_ON_SHIFT_FOR_UPDATE, {"tenant_id": tenant_id, "store_id": store_id}))

    def couriers_of_store(self, tenant_id: str, store_id: str, *, on_shift_only: bool, for_update: bool) -> list[Any]:
        query = select(couriers).where(couriers.c.tenant_id == tenant_id, couriers.c.store_id == store_id)
        if on_shift_only:
            query = query.where(couriers.c.on_shift.is_(True))
        query = query.order_by(couriers.c.id)  # the lock order
        if for_update:
            query = query.with_for_update()
        return list(self.conn.execute(query))

    def update_courier(self, tenant_id: str, courier_id: str, **values: Any) -> None:
        self.conn.execute(_UPDATE_COURIER, _by_id(couriers, tenant_id, courier_id, values))

    def set_waiting(self, tenant_id: str, courier_ids: Sequence[str], now: datetime) -> None:
        if courier_ids:
            self.conn.execute(_SET_WAITING, {"b_tenant_id": tenant_id, "b_ids": list(courier_ids), "now": now})

    # -- shifts -----------------------------------------------------------------------------------
    def add_shift(self, **values: Any) -> None:
        self.conn.execute(insert(courier_shifts).values(**values))

    def end_shift(self, tenant_id: str, shift_id: str, at: datetime) -> None:
        self.conn.execute(
            update(courier_shifts)
            .where(courier_shifts.c.tenant_id == tenant_id, courier_shifts.c.id == shift_id)
            .values(ended_at=at)
        )

    # -- dispatch jobs ----------------------------------------------------------------------------
    def jobs(self, tenant_id: str, order_ids: Sequence[str]) -> dict[str, Any]:
        if not order_ids:
            return {}
        rows = self.conn.execute(_JOBS, {"tenant_id": tenant_id, "order_ids": list(order_ids)})
        return {row.order_id: row for row in rows}

    def job(self, tenant_id: str, order_id: str) -> Any:
        return self.conn.execute(_JOB, {"tenant_id": tenant_id, "order_id": order_id}).first()

    def add_jobs(self, values: list[dict[str, Any]]) -> None:
        if values:
            # Two rounds of one store are serialised by the dispatch round lock, but a courier app
            # reading a job never writes one: a conflict here can only be the same job twice.
            self.conn.execute(_insert(self.conn, delivery_jobs).on_conflict_do_nothing(), values)

    def refresh_jobs(self, values: list[dict[str, Any]]) -> None:
        if values:
            self.conn.execute(
                update(delivery_jobs)
                .where(delivery_jobs.c.order_id == bindparam("b_order_id"))
                .values(
                    totes=bindparam("totes"),
                    weight_g=bindparam("weight_g"),
                    basis=bindparam("basis"),
                    packed_at=bindparam("packed_at"),
                ),
                values,
            )

    # -- trips and stops --------------------------------------------------------------------------
    def bag_stops(self, tenant_id: str, store_id: str) -> list[Any]:
        """Stops of the store's loading and riding trips not settled yet, by courier and sequence."""
        return list(self.conn.execute(_BAG_STOPS, {"tenant_id": tenant_id, "store_id": store_id}))

    def active_stops(self, tenant_id: str, store_id: str) -> list[Any]:
        """Every stop of the store's planned, loading, riding and returning trips, in trip order."""
        return list(
            self.conn.execute(
                select(*_STOP_COLUMNS)
                .select_from(trips.join(trip_stops, trip_stops.c.trip_id == trips.c.id))
                .join(delivery_jobs, delivery_jobs.c.order_id == trip_stops.c.order_id)
                .where(
                    trips.c.tenant_id == tenant_id,
                    trips.c.store_id == store_id,
                    trips.c.status.in_([s.value for s in ACTIVE_TRIP_STATUSES]),
                )
                .order_by(trips.c.courier_id, trips.c.status, trips.c.id, trip_stops.c.sequence)
            )
        )

    def trip_stop_rows(self, tenant_id: str, trip_ids: Iterable[str]) -> list[Any]:
        ids = list(trip_ids)
        if not ids:
            return []
        return list(self.conn.execute(_TRIP_STOP_ROWS, {"tenant_id": tenant_id, "ids": ids}))

    def order_stop_rows(self, tenant_id: str, order_id: str) -> list[Any]:
        """Every stop ever made for an order, newest trip first."""
        return list(
            self.conn.execute(
                select(*_STOP_COLUMNS)
                .select_from(trips.join(trip_stops, trip_stops.c.trip_id == trips.c.id))
                .join(delivery_jobs, delivery_jobs.c.order_id == trip_stops.c.order_id)
                .where(trip_stops.c.tenant_id == tenant_id, trip_stops.c.order_id == order_id)
                .order_by(trips.c.created_at.desc())
            )
        )

    def trip(self, tenant_id: str, trip_id: str) -> Any:
        row = self.conn.execute(_TRIP, {"tenant_id": tenant_id, "id": trip_id}).first()
        if row is None:
            raise TripNotFound("trip not found", trip_id=trip_id)
        return row

    def stop(self, tenant_id: str, stop_id: str) -> Any:
        row = self.conn.execute(_STOP, {"tenant_id": tenant_id, "id": stop_id}).first()
        if row is None:
            raise StopNotFound("stop not found", stop_id=stop_id)
        return row

    def trip_ids_of_courier(self, tenant_id: str, courier_id: str, statuses: Sequence[TripStatus]) -> list[str]:
        return list(
            self.conn.execute(
                select(trips.c.id)
                .where(
                    trips.c.tenant_id == tenant_id,
                    trips.c.courier_id == courier_id,
                    trips.c.status.in_([s.value for s in statuses]),
                )
                .order_by(trips.c.planned_start)
            ).scalars()
        )

    def trip_ids_of_store(
        self, tenant_id: str, store_id: str, statuses: Sequence[TripStatus], limit: int | None = None
    ) -> list[str]:
        query = (
            select(trips.c.id)
            .where(
                trips.c.tenant_id == tenant_id,
                trips.c.store_id == store_id,
                trips.c.status.in_([s.value for s in statuses]),
            )
            .order_by(trips.c.planned_start.desc(), trips.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(self.conn.execute(query).scalars())

    def add_trip(self, **values: Any) -> None:
        self.conn.execute(insert(trips).values(**values))

    def add_trips(self, values: list[dict[str, Any]]) -> None:
        if values:
            self.conn.execute(insert(trips), values)

    def update_trip(self, tenant_id: str, trip_id: str, **values: Any) -> None:
        self.conn.execute(_UPDATE_TRIP, _by_id(trips, tenant_id, trip_id, values))

    def add_stops(self, values: list[dict[str, Any]]) -> None:
        if values:
            self.conn.execute(insert(trip_stops), values)

    def resequence_stops(self, values: list[dict[str, Any]]) -> None:
        """``values``: dicts of b_id, sequence, eta."""
        if values:
            self.conn.execute(_RESEQUENCE, values)

    def retime_trip(self, tenant_id: str, trip_id: str, planned_start: datetime, planned_back: datetime) -> None:
        self.conn.execute(
            _RETIME_TRIP,
            {"b_tenant_id": tenant_id, "b_id": trip_id, "planned_start": planned_start, "planned_back": planned_back},
        )

    def update_stop(self, tenant_id: str, stop_id: str, **values: Any) -> None:
        self.conn.execute(_UPDATE_STOP, _by_id(trip_stops, tenant_id, stop_id, values))

    def set_stops_status(
        self, tenant_id: str, trip_id: str, from_status: StopStatus, to_status: StopStatus, **values: Any
    ) -> None:
        self.conn.execute(
            update(trip_stops)
            .where(
                trip_stops.c.tenant_id == tenant_id,
                trip_stops.c.trip_id == trip_id,
                trip_stops.c.status == from_status.value,
            )
            .values(status=to_status.value, **values)
        )

    def delete_stops(self, tenant_id: str, trip_id: str, statuses: Sequence[StopStatus]) -> None:
        self.conn.execute(
            delete(trip_stops).where(
                trip_stops.c.tenant_id == tenant_id,
                trip_stops.c.trip_id == trip_id,
                trip_stops.c.status.in_([s.value for s in statuses]),
            )
        )

    def delete_planned(self, tenant_id: str, store_id: str) -> None:
        """Forget the store's planned trips and every stop not handed over yet."""
        key = {"tenant_id": tenant_id, "store_id": store_id}
        self.conn.execute(_DELETE_PLANNED_STOPS, key)
        self.conn.execute(_DELETE_PLANNED_TRIPS, key)

    def delete_planned_of_courier(self, tenant_id: str, courier_id: str) -> None:
        """Forget one courier's planned trips and its stops not handed over yet."""
        courier_trips = select(trips.c.id).where(
            trips.c.tenant_id == tenant_id,
            trips.c.courier_id == courier_id,
            trips.c.status.in_([TripStatus.PLANNED.value, TripStatus.LOADING.value]),
        )
        self.conn.execute(
            delete(trip_stops).where(
                trip_stops.c.tenant_id == tenant_id,
                trip_stops.c.status == StopStatus.PLANNED.value,
                trip_stops.c.trip_id.in_(courier_trips),
            )
        )
        self.conn.execute(
            delete(trips).where(
                trips.c.tenant_id == tenant_id,
                trips.c.courier_id == courier_id,
                trips.c.status == TripStatus.PLANNED.value,
            )
        )

    # -- dispatch rounds --------------------------------------------------------------------------
    def round_for_update(self, tenant_id: str, store_id: str) -> Any:
        """The store's dispatch round row, locked (two rounds of one store never interleave), or None."""
        return self.conn.execute(_ROUND_FOR_UPDATE, {"tenant_id": tenant_id, "store_id": store_id}).first()

    def create_round(self, tenant_id: str, store_id: str, policy: str, now: datetime) -> Any:
        self.conn.execute(
            _insert(self.conn, dispatch_rounds)
            .values(store_id=store_id, tenant_id=tenant_id, policy=policy, solve_ms=0.0, solves=0, updated_at=now)
            .on_conflict_do_nothing()
        )
        row = self.round_for_update(tenant_id, store_id)
        if row is None:  # the store id is taken by another tenant's round: not this tenant's store
            raise NotFound("store not found", store_id=store_id)
        return row

    def read_round(self, tenant_id: str, store_id: str) -> Any:
        """The store's dispatch round row, share-locked: a round writing meanwhile is waited for and
        none starts until the caller's transaction ends, so the trips read after it are that
        round's (PostgreSQL reads each statement at its own snapshot)."""
        return self.conn.execute(
            select(dispatch_rounds)
            .where(dispatch_rounds.c.tenant_id == tenant_id, dispatch_rounds.c.store_id == store_id)
            .with_for_update(read=True)
        ).first()

    def save_round(
        self,
        tenant_id: str,
        store_id: str,
        *,
        policy: str,
        planned_at: datetime,
        replan_at: datetime | None,
        inputs: dict[str, Any],
        plan: dict[str, Any],
        solve_ms: float,
        solves: int,
        updated_at: datetime,
    ) -> None:
        self.conn.execute(
            _SAVE_ROUND,
            {
                "b_tenant_id": tenant_id,
                "b_store_id": store_id,
                "policy": policy,
                "planned_at": planned_at,
                "replan_at": replan_at,
                "inputs": inputs,
                "plan": plan,
                "solve_ms": solve_ms,
                "solves": solves,
                "updated_at": updated_at,
            },
        )


# -- the plan as JSON (stored with the round, read back to warm-start the next one) ----------------
def plan_to_json(plan: DispatchPlan) -> dict[str, Any]:
    return {
        "policy": plan.policy,
        "planned_at": plan.planned_at.isoformat(),
        "trips": [
            {
                "courier_id": t.courier_id,
                "store_id": t.store_id,
                "order_ids": list(t.order_ids),
                "starts_at": t.starts_at.isoformat() if t.starts_at else None,
                "arrivals": [a.isoformat() for a in t.arrivals],
                "back_at": t.back_at.isoformat(),
                "pinned": t.pinned,
            }
            for t in plan.trips
        ],
        "postponed": [[p.order_id, p.reason.value] for p in plan.postponed],
        "outlook": [[courier_id, [list(trip) for trip in later]] for courier_id, later in plan.outlook],
    }


def plan_from_json(doc: dict[str, Any]) -> DispatchPlan:
    return DispatchPlan(
        policy=doc["policy"],
        planned_at=datetime.fromisoformat(doc["planned_at"]),
        trips=tuple(
            PlannedTrip(
                courier_id=t["courier_id"],
                store_id=t["store_id"],
                order_ids=tuple(t["order_ids"]),
                starts_at=datetime.fromisoformat(t["starts_at"]) if t["starts_at"] else None,
                arrivals=tuple(datetime.fromisoformat(a) for a in t["arrivals"]),
                back_at=datetime.fromisoformat(t["back_at"]),
                pinned=t["pinned"],
            )
            for t in doc["trips"]
        ),
        postponed=tuple(Postponed(order_id, PostponeReason(reason)) for order_id, reason in doc["postponed"]),
        outlook=tuple((courier_id, tuple(tuple(trip) for trip in later)) for courier_id, later in doc["outlook"]),
    )
