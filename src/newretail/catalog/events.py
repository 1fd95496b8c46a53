"""Domain events the catalog publishes."""

from __future__ import annotations

from dataclasses import dataclass

from newretail.core.messaging import Event


@dataclass(frozen=True, kw_only=True)
class ProductCreated(Event):
    product_id: str
    sku: str
    gtin: str
    category: str


@dataclass(frozen=True, kw_only=True)
class ProductUpdated(Event):
    product_id: str
    changed: list[str]


@dataclass(frozen=True, kw_only=True)
class StorePriceSet(Event):
    store_id: str
    product_id: str
    price_minor: int
    currency: str
    per: str  # "each" or "kg"


@dataclass(frozen=True, kw_only=True)
class ProductLocated(Event):
    store_id: str
    product_id: str
    aisle: int
    bay: int
    shelf: int


@dataclass(frozen=True, kw_only=True)
class CatalogImported(Event):
    """One event per bulk load (CSV import or demo seeding) rather than thousands of row events."""

    store_ids: list[str]
    products_created: int
    products_updated: int
    prices_set: int
    locations_set: int
