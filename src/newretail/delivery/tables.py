"""Delivery tables: the courier roster and live state, shifts worked and rostered, trips and their stops, the dispatch
cache of each order's drop-off and load, and each store's last dispatch round."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, text

from newretail.core.db import UTCDateTime, metadata

# One row per courier; the live part (state, position, free_at) changes as the courier works.
couriers = Table(
    "couriers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("name", String(200), nullable=False),
    Column("vehicle", String(12), nullable=False),  # bike | ebike | car
    Column("speed_kmh", Float, nullable=False),
    Column("capacity_totes", Integer, nullable=False),
    Column("capacity_weight_g", Integer, nullable=True),  # None: the vehicle's standard payload
    Column("on_shift", Boolean, nullable=False),
    Column("state", String(12), nullable=False),  # idle | to_store | waiting | riding | returning | off
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("position_at", UTCDateTime(), nullable=True),  # when the position was last reported
    Column("shift_id", String(36), nullable=True),  # the open courier_shifts row
    Column("free_at", UTCDateTime(), nullable=True),  # when next back at the store and free
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("ix_couriers_store_shift", couriers.c.store_id, couriers.c.on_shift)
Index("ix_couriers_user", couriers.c.tenant_id, couriers.c.user_id)

courier_shifts = Table(
    "courier_shifts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("courier_id", String(36), ForeignKey("couriers.id"), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
)
Index("ix_courier_shifts_courier", courier_shifts.c.courier_id, courier_shifts.c.started_at)

# The roster ahead: who is meant to work when. The promise reads it (a courier counts only within
# a rostered shift, and one rostered later counts from its start); the shifts worked are above.
rostered_shifts = Table(
    "rostered_shifts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("courier_id", String(36), ForeignKey("couriers.id"), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_rostered_shifts_store", rostered_shifts.c.tenant_id, rostered_shifts.c.store_id, rostered_shifts.c.ends_at)
Index("ix_rostered_shifts_courier", rostered_shifts.c.courier_id, rostered_shifts.c.starts_at)

# What dispatch needs to know about an order, read once from the order document and kept here so a
# dispatch round reads no documents: where it goes, how much it weighs, when it may leave.
delivery_jobs = Table(
    "delivery_jobs",
    metadata,
    Column("order_id", String(36), ForeignKey("orders.id"), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("totes", Integer, nullable=False),
    Column("weight_g", Integer, nullable=False),
    Column("basis", String(8), nullable=False),  # ordered | packed: which lines the load was estimated from
    Column("promised_by", UTCDateTime(), nullable=False),
    Column("not_before", UTCDateTime(), nullable=True),  # slot orders: no earlier departure
    Column("packed_at", UTCDateTime(), nullable=True),
    Column("delivery_code", String(8), nullable=False),  # the customer shows it to the courier
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_delivery_jobs_store", delivery_jobs.c.tenant_id, delivery_jobs.c.store_id)

trips = Table(
    "trips",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("courier_id", String(36), ForeignKey("couriers.id"), nullable=False),
    Column("status", String(12), nullable=False),  # planned | loading | riding | returning | done | cancelled
    Column("policy", String(30), nullable=False),
    Column("planned_start", UTCDateTime(), nullable=False),
    Column("planned_back", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("loaded_at", UTCDateTime(), nullable=True),
    Column("departed_at", UTCDateTime(), nullable=True),
    Column("last_drop_at", UTCDateTime(), nullable=True),
    Column("returned_at", UTCDateTime(), nullable=True),
)
Index("ix_trips_store_status", trips.c.store_id, trips.c.status)
Index("ix_trips_courier_status", trips.c.courier_id, trips.c.status)
Index("ix_trips_store_departed", trips.c.store_id, trips.c.departed_at)  # the promise's recent trips

trip_stops = Table(
    "trip_stops",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("trip_id", String(36), ForeignKey("trips.id"), nullable=False),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # planned | loaded | out | delivered | failed | returned
    Column("eta", UTCDateTime(), nullable=True),
    Column("handed_over_at", UTCDateTime(), nullable=True),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("failed_at", UTCDateTime(), nullable=True),
    Column("failure_reason", String(30), nullable=True),
    Column("failure_note", String(300), nullable=True),
    Column("returned_at", UTCDateTime(), nullable=True),
    # proof of delivery
    Column("proof_lat", Float, nullable=True),
    Column("proof_lon", Float, nullable=True),
    Column("proof_distance_m", Integer, nullable=True),  # from the drop-off, as the courier's phone saw it
    Column("proof_captured_at", UTCDateTime(), nullable=True),  # the phone's own timestamp
    Column("proof_code_ok", Boolean, nullable=True),
    Column("proof_photo_ref", String(300), nullable=True),
)
Index("ix_trip_stops_trip", trip_stops.c.trip_id)
# The database's own guard: an order is handed to one courier at most, ever.
Index(
    "ux_trip_stops_handed_over_order",
    trip_stops.c.order_id,
    unique=True,
    sqlite_where=text("status <> 'planned'"),
    postgresql_where=text("status <> 'planned'"),
)

# Each store's last dispatch round: the plan (for warm starts and the dispatcher's screen) and the
# inputs it was made from (to skip the solver when nothing changed).
dispatch_rounds = Table(
    "dispatch_rounds",
    metadata,
    Column("store_id", String(36), ForeignKey("stores.id"), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("policy", String(30), nullable=False),
    Column("planned_at", UTCDateTime(), nullable=True),
    Column("replan_at", UTCDateTime(), nullable=True),
    Column("inputs", JSON, nullable=True),
    Column("plan", JSON, nullable=True),
    Column("solve_ms", Float, nullable=False),
    Column("solves", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
