from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table

from newretail.core.db import UTCDateTime, metadata

picker_shifts = Table(
    "picker_shifts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("picker_id", String(64), nullable=False),  # a user id, or a simulated picker's id
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("busy_until", UTCDateTime(), nullable=True),  # estimate while a batch is being picked
    Column("batch_id", String(36), nullable=True),
)
Index("ix_picker_shifts_open", picker_shifts.c.store_id, picker_shifts.c.ended_at)

pick_batches = Table(
    "pick_batches",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("picker_id", String(64), nullable=False),
    Column("status", String(12), nullable=False),  # picking | done
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("pick_list", JSON, nullable=False),
)

# Picking progress of one order, kept whole as a document (the aggregate is OrderPicking).
pickings = Table(
    "pickings",
    metadata,
    Column("order_id", String(36), ForeignKey("orders.id"), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("batch_id", String(36), ForeignKey("pick_batches.id"), nullable=False),
    Column("status", String(12), nullable=False),  # open | packed | abandoned
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("document", JSON, nullable=False),
)
Index("ix_pickings_batch", pickings.c.batch_id)
