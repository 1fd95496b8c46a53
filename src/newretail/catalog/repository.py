"""Load and save catalog rows. The only SQL of this context; every query filters by ``tenant_id``."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from newretail.catalog.model import DuplicateProduct, PricedProduct, Product, ShelfLocation, SoldBy
from newretail.catalog.tables import product_locations, products, store_prices
from newretail.core.db import not_indexed
from newretail.core.money import Money

# Keeps IN (...) lists well under SQLite's bound-parameter limit and PostgreSQL's plan-size sweet spot.
_IN_CHUNK = 500
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = _IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Hot reads (carts, checkout, picking) are built once: building and hashing a statement per call
# costs several times what SQLite takes to run it.
_PRODUCT = select(products).where(products.c.tenant_id == bindparam("tenant_id"), products.c.id == bindparam("id"))
_PRODUCTS_BY_IDS = select(products).where(
    not_indexed(products.c.tenant_id) == bindparam("tenant_id"), products.c.id.in_(bindparam("ids", expanding=True))
)
_PRICES = select(store_prices.c.product_id, store_prices.c.price_minor, store_prices.c.currency).where(
    store_prices.c.tenant_id == bindparam("tenant_id"),
    store_prices.c.store_id == bindparam("store_id"),
    store_prices.c.product_id.in_(bindparam("ids", expanding=True)),
)
_LOCATIONS = select(product_locations).where(
    product_locations.c.tenant_id == bindparam("tenant_id"),
    product_locations.c.store_id == bindparam("store_id"),
    product_locations.c.product_id.in_(bindparam("ids", expanding=True)),
)
# Products with their price and shelf in one store, in one round trip (either may be missing).
_IN_STORE = (
    select(
        products,
        store_prices.c.price_minor,
        store_prices.c.currency,
        product_locations.c.aisle,
        product_locations.c.bay,
        product_locations.c.shelf,
    )
    .select_from(
        products.outerjoin(
            store_prices,
            and_(
                store_prices.c.product_id == products.c.id,
                store_prices.c.store_id == bindparam("store_id"),
                store_prices.c.tenant_id == products.c.tenant_id,
            ),
        ).outerjoin(
            product_locations,
            and_(
                product_locations.c.product_id == products.c.id,
                product_locations.c.store_id == bindparam("store_id"),
                product_locations.c.tenant_id == products.c.tenant_id,
            ),
        )
    )
    .where(
        not_indexed(products.c.tenant_id) == bindparam("tenant_id"),
        products.c.id.in_(bindparam("ids", expanding=True)),
    )
)


@dataclass(frozen=True, slots=True)
class InStoreRow:
    product: Product
    price: Money | None  # None: the store does not price it
    location: ShelfLocation | None  # None: not on a shelf in the store


@dataclass(frozen=True, slots=True)
class PriceRow:
    store_id: str
    product_id: str
    price_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class LocationRow:
    store_id: str
    product_id: str
    location: ShelfLocation


class CatalogRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- products -------------------------------------------------------------------------------

    def add_products(self, new_products: Sequence[Product], created_at: datetime) -> None:
        if not new_products:
            return
        rows = [
            {**_product_values(p), "id": p.id, "tenant_id": p.tenant_id, "created_at": created_at} for p in new_products
        ]
        try:
            self.conn.execute(insert(products), rows)
        except IntegrityError as exc:
            # A concurrent writer took the SKU or GTIN between our check and our insert.
            raise DuplicateProduct("a product with this SKU or GTIN already exists") from exc

    def update_products(self, changed: Sequence[Product]) -> None:
        try:
            for product in changed:
                self.conn.execute(
                    update(products)
                    .where(products.c.tenant_id == product.tenant_id, products.c.id == product.id)
                    .values(**_product_values(product))
                )
        except IntegrityError as exc:
            raise DuplicateProduct("a product with this SKU or GTIN already exists") from exc

    def product(self, tenant_id: str, product_id: str) -> Product | None:
        row = self.conn.execute(_PRODUCT, {"tenant_id": tenant_id, "id": product_id}).first()
        return None if row is None else _product(row)

    def products_by_ids(self, tenant_id: str, product_ids: Collection[str]) -> dict[str, Product]:
        found: dict[str, Product] = {}
        for chunk in _chunks(sorted(set(product_ids))):
            rows = self.conn.execute(_PRODUCTS_BY_IDS, {"tenant_id": tenant_id, "ids": list(chunk)})
            found.update((row.id, _product(row)) for row in rows)
        return found

    def in_store(self, tenant_id: str, store_id: str, product_ids: Collection[str]) -> dict[str, InStoreRow]:
        """The tenant's products among ``product_ids``, each with its price and shelf in the store."""
        found: dict[str, InStoreRow] = {}
        for chunk in _chunks(sorted(set(product_ids))):
            rows = self.conn.execute(_IN_STORE, {"tenant_id": tenant_id, "store_id": store_id, "ids": list(chunk)})
            for row in rows:
                price = None if row.price_minor is None else Money(int(row.price_minor), row.currency)
                shelf = None if row.aisle is None else ShelfLocation(row.aisle, row.bay, row.shelf)
                found[row.id] = InStoreRow(_product(row), price, shelf)
        return found

    def products_by_skus(self, tenant_id: str, skus: Collection[str]) -> dict[str, Product]:
        found: dict[str, Product] = {}
        for chunk in _chunks(sorted(set(skus))):
            rows = self.conn.execute(
                select(products).where(products.c.tenant_id == tenant_id, products.c.sku.in_(chunk))
            )
            found.update((row.sku, _product(row)) for row in rows)
        return found

    def products_by_gtins(self, tenant_id: str, gtins: Collection[str]) -> list[Product]:
        """Products stored under any of these exact GTIN spellings."""
        found: list[Product] = []
        for chunk in _chunks(sorted(set(gtins))):
            rows = self.conn.execute(
                select(products).where(products.c.tenant_id == tenant_id, products.c.gtin.in_(chunk))
            )
            found.extend(_product(row) for row in rows)
        return found

    def search(
        self, tenant_id: str, *, category: str | None, text: str | None, limit: int, offset: int
    ) -> list[Product]:
        query = select(products).where(products.c.tenant_id == tenant_id)
        if category is not None:
            query = query.where(products.c.category == category)
        if text:
            needle = text.lower()
            query = query.where(
                or_(
                    func.lower(products.c.name).contains(needle, autoescape=True),
                    func.lower(products.c.brand).contains(needle, autoescape=True),
                    func.lower(products.c.sku) == needle,
                    products.c.gtin == text,
                )
            )
        rows = self.conn.execute(query.order_by(products.c.name, products.c.id).limit(limit).offset(offset))
        return [_product(row) for row in rows]

    def categories(self, tenant_id: str) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            select(products.c.category, func.count())
            .where(products.c.tenant_id == tenant_id)
            .group_by(products.c.category)
            .order_by(products.c.category)
        )
        return [(row[0], int(row[1])) for row in rows]

    # --- prices ---------------------------------------------------------------------------------

    def upsert_prices(self, tenant_id: str, rows: Sequence[PriceRow], updated_at: datetime) -> None:
        values = [
            {
                "tenant_id": tenant_id,
                "store_id": r.store_id,
                "product_id": r.product_id,
                "price_minor": r.price_minor,
                "currency": r.currency,
                "updated_at": updated_at,
            }
            for r in rows
        ]
        self._upsert(store_prices, values, ("price_minor", "currency", "updated_at"))

    def prices(self, tenant_id: str, store_id: str, product_ids: Collection[str]) -> dict[str, Money]:
        found: dict[str, Money] = {}
        for chunk in _chunks(sorted(set(product_ids))):
            rows = self.conn.execute(_PRICES, {"tenant_id": tenant_id, "store_id": store_id, "ids": list(chunk)})
            found.update((row.product_id, Money(int(row.price_minor), row.currency)) for row in rows)
        return found

    def priced_products(
        self,
        tenant_id: str,
        store_id: str,
        *,
        category: str | None = None,
        sold_by: SoldBy | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[PricedProduct]:
        """Products with a price in the store, in category then name order."""
        query = (
            select(products, store_prices.c.price_minor, store_prices.c.currency)
            .join(
                store_prices,
                and_(
                    store_prices.c.product_id == products.c.id,
                    store_prices.c.tenant_id == tenant_id,
                    store_prices.c.store_id == store_id,
                ),
            )
            .where(products.c.tenant_id == tenant_id)
        )
        if category is not None:
            query = query.where(products.c.category == category)
        if sold_by is not None:
            query = query.where(products.c.sold_by == sold_by.value)
        query = query.order_by(products.c.category, products.c.name, products.c.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return [
            PricedProduct(_product(row), Money(int(row.price_minor), row.currency)) for row in self.conn.execute(query)
        ]

    # --- locations ------------------------------------------------------------------------------

    def upsert_locations(self, tenant_id: str, rows: Sequence[LocationRow]) -> None:
        values = [
            {
                "tenant_id": tenant_id,
                "store_id": r.store_id,
                "product_id": r.product_id,
                "aisle": r.location.aisle,
                "bay": r.location.bay,
                "shelf": r.location.shelf,
            }
            for r in rows
        ]
        self._upsert(product_locations, values, ("aisle", "bay", "shelf"))

    def locations(self, tenant_id: str, store_id: str, product_ids: Collection[str]) -> dict[str, ShelfLocation]:
        found: dict[str, ShelfLocation] = {}
        for chunk in _chunks(sorted(set(product_ids))):
            rows = self.conn.execute(_LOCATIONS, {"tenant_id": tenant_id, "store_id": store_id, "ids": list(chunk)})
            found.update((row.product_id, ShelfLocation(row.aisle, row.bay, row.shelf)) for row in rows)
        return found

    # --- helpers --------------------------------------------------------------------------------

    def _upsert(self, table: Table, values: list[dict[str, Any]], update_columns: Sequence[str]) -> None:
        """Insert or update by the (store_id, product_id) key, in bulk, race-free on both databases."""
        if not values:
            return
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            pg_stmt = postgresql.insert(table)
            stmt: Any = pg_stmt.on_conflict_do_update(
                index_elements=["store_id", "product_id"],
                set_={c: pg_stmt.excluded[c] for c in update_columns},
                # Never let a key collision rewrite another tenant's row.
                where=table.c.tenant_id == pg_stmt.excluded.tenant_id,
            )
        elif dialect == "sqlite":
            lite_stmt = sqlite.insert(table)
            stmt = lite_stmt.on_conflict_do_update(
                index_elements=["store_id", "product_id"],
                set_={c: lite_stmt.excluded[c] for c in update_columns},
                where=table.c.tenant_id == lite_stmt.excluded.tenant_id,
            )
        else:  # pragma: no cover - only the two supported databases reach here
            raise NotImplementedError(f"upsert is not implemented for {dialect}")
        self.conn.execute(stmt, values)


def _product_values(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "gtin": product.gtin,
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "sold_by": product.sold_by.value,
        "unit_weight_g": product.unit_weight_g,
        "temperature_zone": product.temperature_zone.value,
    }


def _product(row: Any) -> Product:
    return Product.loaded(
        id=row.id,
        tenant_id=row.tenant_id,
        sku=row.sku,
        gtin=row.gtin,
        name=row.name,
        brand=row.brand,
        category=row.category,
        sold_by=row.sold_by,
        unit_weight_g=row.unit_weight_g,
        temperature_zone=row.temperature_zone,
    )
