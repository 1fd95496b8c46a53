from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
)

from newretail.core.db import UTCDateTime, metadata

customer_addresses = Table(
    "customer_addresses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("customer_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("label", String(60), nullable=False),
    Column("line1", String(300), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_customer_addresses_customer", customer_addresses.c.tenant_id, customer_addresses.c.customer_id)

cart_lines = Table(
    "cart_lines",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("customer_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id"), primary_key=True),
    Column("quantity", BigInteger, nullable=False),  # units, or grams for goods sold by weight
    Column("updated_at", UTCDateTime(), nullable=False),
)

# The order aggregate is kept whole in ``document``; the columns beside it are what queues,
# dashboards and the promise model filter and sort on.
orders = Table(
    "orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("customer_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("method", String(12), nullable=False),
    Column("status", String(24), nullable=False),
    Column("promise_kind", String(12), nullable=False),
    # The promise window's start (a slot's start). Always written; nullable only because migration
    # 0009 added it to existing tables.
    Column("promise_from", UTCDateTime(), nullable=True),
    Column("promised_by", UTCDateTime(), nullable=False),
    Column("estimated_pick_complete", UTCDateTime(), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("distance_m", Integer, nullable=True),
    Column("total_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reservation_id", String(36), nullable=False),
    Column("substitution_preference", String(20), nullable=False),
    Column("payment_held", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("document", JSON, nullable=False),
)
# Tenant first, like every query: SQLite's planner (no statistics) otherwise takes the customer index
# for ``tenant_id = ?`` and reads every order of the retailer — the twin's day slowed as it filled.
Index("ix_orders_store_status", orders.c.tenant_id, orders.c.store_id, orders.c.status, orders.c.created_at)
Index("ix_orders_customer", orders.c.tenant_id, orders.c.customer_id, orders.c.created_at)

slot_bookings = Table(
    "slot_bookings",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), primary_key=True),
    Column("slot_start", UTCDateTime(), primary_key=True),
    Column("booked", Integer, nullable=False),
)

store_fulfilment_settings = Table(
    "store_fulfilment_settings",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), primary_key=True),
    Column("settings", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "store_id"),
)
