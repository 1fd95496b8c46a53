from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from newretail.core.db import UTCDateTime, metadata

products = Table(
    "products",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("gtin", String(14), nullable=False),
    Column("name", String(300), nullable=False),
    Column("brand", String(120), nullable=False),
    Column("category", String(120), nullable=False),
    Column("sold_by", String(10), nullable=False),  # each | weight
    Column("unit_weight_g", Integer, nullable=False),  # nominal weight of one unit (sensors, couriers)
    Column("temperature_zone", String(10), nullable=False),  # ambient | chilled | frozen
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "sku"),
    UniqueConstraint("tenant_id", "gtin"),
)
Index("ix_products_tenant_category", products.c.tenant_id, products.c.category)

store_prices = Table(
    "store_prices",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id"), primary_key=True),
    # per unit for goods sold by each, per kilogram for goods sold by weight
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

product_locations = Table(
    "product_locations",
    metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), primary_key=True),
    Column("product_id", String(36), ForeignKey("products.id"), primary_key=True),
    Column("aisle", Integer, nullable=False),
    Column("bay", Integer, nullable=False),
    Column("shelf", Integer, nullable=False),
)
Index("ix_product_locations_walk", product_locations.c.store_id, product_locations.c.aisle, product_locations.c.bay)
