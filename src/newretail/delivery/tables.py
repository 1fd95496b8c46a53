from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table

from newretail.core.db import UTCDateTime, metadata

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
    Column("on_shift", Boolean, nullable=False),
    Column("state", String(12), nullable=False),  # idle | to_store | waiting | riding | returning | off
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("free_at", UTCDateTime(), nullable=True),  # when next back at the store and free
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("ix_couriers_store_shift", couriers.c.store_id, couriers.c.on_shift)
