from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
)

from newretail.core.db import UTCDateTime, metadata

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id"), primary_key=True),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # The last guard against overselling: whatever the code does, the database refuses it.
    CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    Column("owner_type", String(30), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("closed_at", UTCDateTime(), nullable=True),
)
Index("ix_reservations_active_expiry", reservations.c.status, reservations.c.expires_at)
Index("ix_reservations_owner", reservations.c.tenant_id, reservations.c.owner_type, reservations.c.owner_id)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column("reservation_id", String(36), ForeignKey("reservations.id"), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id"), primary_key=True),
    Column("store_id", String(36), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("requested", BigInteger, nullable=False),
    Column("shorted", BigInteger, nullable=False),
    CheckConstraint("quantity >= 0 AND shorted >= 0", name="non_negative"),
    ForeignKeyConstraint(["store_id", "product_id"], ["stock_levels.store_id", "stock_levels.product_id"]),
)
Index("ix_reservation_lines_stock", reservation_lines.c.store_id, reservation_lines.c.product_id)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), nullable=False),
    Column("product_id", String(36), nullable=False),
    Column("delta", BigInteger, nullable=False),
    Column("reason", String(12), nullable=False),
    Column("reference", String(100), nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    ForeignKeyConstraint(["store_id", "product_id"], ["stock_levels.store_id", "stock_levels.product_id"]),
)
Index("ix_stock_movements_stock", stock_movements.c.store_id, stock_movements.c.product_id)
