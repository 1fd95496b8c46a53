"""Catalog use cases: products, barcodes, store prices, shelf locations, CSV import, and the read
helpers other contexts call (``price_lines``, ``locations``, ``products_by_ids``, ``product_by_gtin``,
``substitute_candidates``).

Every function takes a unit of work. If the caller has already entered it (``with uow: ...``), the
function joins that transaction and leaves committing to the caller — so checkout can read prices in
the same transaction that reserves stock, and ``run_idempotent`` can wrap a write. Otherwise the
function opens the unit of work itself and, for writes, commits it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from newretail.catalog.events import CatalogImported, ProductCreated, ProductLocated, ProductUpdated, StorePriceSet
from newretail.catalog.import_csv import (
    CatalogImportRejected,
    CatalogRow,
    ImportMode,
    RowError,
    RowKeys,
    decode_csv,
    parse_catalog_csv,
)
from newretail.catalog.model import (
    DuplicateProduct,
    NotSoldInStore,
    PricedProduct,
    Product,
    ShelfLocation,
    SoldBy,
    TemperatureZone,
    UnknownProduct,
    canonical_gtin,
    gtin_equivalents,
    rank_substitutes,
    validate_gtin,
    validate_price_minor,
)
from newretail.catalog.repository import CatalogRepository, InStoreRow, LocationRow, PriceRow
from newretail.core.errors import ValidationFailed
from newretail.core.ids import new_id
from newretail.core.money import Money
from newretail.core.uow import UnitOfWork
from newretail.tenancy.repository import TenancyRepository

MAX_PAGE_SIZE = 500
MAX_PRICE_LIST_PAGE = 5_000
MAX_SUBSTITUTES = 50


# --- transaction helpers --------------------------------------------------------------------------


@contextmanager
def _reading(uow: UnitOfWork) -> Iterator[CatalogRepository]:
    if uow.is_open:
        yield CatalogRepository(uow.conn)
        return
    with uow:
        yield CatalogRepository(uow.conn)


@contextmanager
def _writing(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    if uow.is_open:
        yield uow  # the caller owns the transaction and commits it
        return
    with uow:
        yield uow
        uow.commit()


def _check_store(uow: UnitOfWork, tenant_id: str, store_id: str) -> None:
    # Tenancy's repository, inside our transaction: its services open a unit of work of their own.
    TenancyRepository(uow.conn).store(tenant_id, store_id)


def _tenant_currency(uow: UnitOfWork, tenant_id: str) -> str:
    currency: str = TenancyRepository(uow.conn).tenant(tenant_id).currency
    return currency


def _page(limit: int, offset: int, maximum: int) -> None:
    if not 1 <= limit <= maximum:
        raise ValidationFailed(f"limit must be 1 to {maximum}", field="limit")
    if offset < 0:
        raise ValidationFailed("offset must not be negative", field="offset")


# --- products -------------------------------------------------------------------------------------


def create_product(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    sku: str,
    gtin: str,
    name: str,
    brand: str,
    category: str,
    sold_by: SoldBy | str,
    unit_weight_g: int,
    temperature_zone: TemperatureZone | str,
) -> Product:
    product = Product(
        id=new_id(),
        tenant_id=tenant_id,
        sku=sku.strip(),
        gtin=gtin.strip(),
        name=name.strip(),
        brand=brand.strip(),
        category=category.strip(),
        sold_by=_enum(SoldBy, sold_by, "sold_by"),
        unit_weight_g=unit_weight_g,
        temperature_zone=_enum(TemperatureZone, temperature_zone, "temperature_zone"),
    )
    with _writing(uow) as tx:
        repo = CatalogRepository(tx.conn)
        _refuse_duplicates(repo, product)
        repo.add_products([product], tx.clock.now())
        tx.emit(
            ProductCreated(
                tenant_id=tenant_id,
                product_id=product.id,
                sku=product.sku,
                gtin=product.gtin,
                category=product.category,
            )
        )
    return product


def update_product(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    product_id: str,
    sku: str | None = None,
    gtin: str | None = None,
    name: str | None = None,
    brand: str | None = None,
    category: str | None = None,
    sold_by: SoldBy | str | None = None,
    unit_weight_g: int | None = None,
    temperature_zone: TemperatureZone | str | None = None,
) -> Product:
    """Change the given fields; ``None`` leaves a field as it is. ``sold_by`` may not change."""
    requested: dict[str, Any] = {
        "sku": sku.strip() if sku is not None else None,
        "gtin": gtin.strip() if gtin is not None else None,
        "name": name.strip() if name is not None else None,
        "brand": brand.strip() if brand is not None else None,
        "category": category.strip() if category is not None else None,
        "unit_weight_g": unit_weight_g,
        "temperature_zone": _enum(TemperatureZone, temperature_zone, "temperature_zone")
        if temperature_zone is not None
        else None,
    }
    with _writing(uow) as tx:
        repo = CatalogRepository(tx.conn)
        current = _product(repo, tenant_id, product_id)
        if sold_by is not None and _enum(SoldBy, sold_by, "sold_by") != current.sold_by:
            raise ValidationFailed(
                "sold_by cannot change: every store price would silently switch between per unit and per kg",
                field="sold_by",
            )
        changes = {k: v for k, v in requested.items() if v is not None and v != getattr(current, k)}
        if not changes:
            return current
        updated = dataclasses.replace(current, **changes)
        _refuse_duplicates(repo, updated)
        repo.update_products([updated])
        tx.emit(ProductUpdated(tenant_id=tenant_id, product_id=product_id, changed=sorted(changes)))
    return updated


def get_product(uow: UnitOfWork, tenant_id: str, product_id: str) -> Product:
    with _reading(uow) as repo:
        return _product(repo, tenant_id, product_id)


def product_by_gtin(uow: UnitOfWork, tenant_id: str, gtin: str) -> Product:
    """Barcode lookup; a UPC-A, EAN-13 or GTIN-14 spelling of the same item all find it."""
    gtin = validate_gtin(gtin.strip())
    with _reading(uow) as repo:
        found = repo.products_by_gtins(tenant_id, gtin_equivalents(gtin))
    if not found:
        raise UnknownProduct("no product has this barcode", gtin=gtin)
    return min(found, key=lambda p: p.id)


def products_by_ids(uow: UnitOfWork, tenant_id: str, product_ids: Collection[str]) -> dict[str, Product]:
    """All of them or ``UnknownProduct`` naming every id the tenant does not have."""
    with _reading(uow) as repo:
        found = repo.products_by_ids(tenant_id, product_ids)
    _require_all(product_ids, found)
    return found


def list_products(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    category: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Product]:
    """Filter by exact category; ``search`` matches name or brand (case-insensitive substring),
    an exact SKU or an exact GTIN."""
    _page(limit, offset, MAX_PAGE_SIZE)
    text = search.strip() if search else None
    with _reading(uow) as repo:
        return repo.search(tenant_id, category=category, text=text or None, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class CategorySummary:
    name: str
    product_count: int


def categories(uow: UnitOfWork, tenant_id: str) -> list[CategorySummary]:
    with _reading(uow) as repo:
        return [CategorySummary(name, count) for name, count in repo.categories(tenant_id)]


# --- prices and locations -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StorePrice:
    store_id: str
    product_id: str
    price: Money
    sold_by: SoldBy

    @property
    def per(self) -> str:
        return self.sold_by.price_unit


def set_store_price(uow: UnitOfWork, *, tenant_id: str, store_id: str, product_id: str, price_minor: int) -> StorePrice:
    """Price per unit (``sold_by=each``) or per kilogram (``sold_by=weight``), in the tenant's currency."""
    validate_price_minor(price_minor)
    with _writing(uow) as tx:
        _check_store(tx, tenant_id, store_id)
        repo = CatalogRepository(tx.conn)
        product = _product(repo, tenant_id, product_id)
        currency = _tenant_currency(tx, tenant_id)
        repo.upsert_prices(tenant_id, [PriceRow(store_id, product_id, price_minor, currency)], tx.clock.now())
        tx.emit(
            StorePriceSet(
                tenant_id=tenant_id,
                store_id=store_id,
                product_id=product_id,
                price_minor=price_minor,
                currency=currency,
                per=product.sold_by.price_unit,
            )
        )
    return StorePrice(store_id, product_id, Money(price_minor, currency), product.sold_by)


def set_location(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, product_id: str, aisle: int, bay: int, shelf: int
) -> ShelfLocation:
    location = ShelfLocation(aisle, bay, shelf)
    with _writing(uow) as tx:
        _check_store(tx, tenant_id, store_id)
        repo = CatalogRepository(tx.conn)
        _product(repo, tenant_id, product_id)
        repo.upsert_locations(tenant_id, [LocationRow(store_id, product_id, location)])
        tx.emit(
            ProductLocated(
                tenant_id=tenant_id, store_id=store_id, product_id=product_id, aisle=aisle, bay=bay, shelf=shelf
            )
        )
    return location


def price_lines(uow: UnitOfWork, tenant_id: str, store_id: str, product_ids: Collection[str]) -> dict[str, Money]:
    """Current store price of each product (per unit, or per kg for ``sold_by=weight``).

    A product the tenant does not have raises ``UnknownProduct``; a product the store does not price
    is simply absent, so the caller decides what "not sold here" means for it.
    """
    found = products_in_store(uow, tenant_id, store_id, product_ids)
    return {pid: row.price for pid, row in found.items() if row.price is not None}


def locations(uow: UnitOfWork, tenant_id: str, store_id: str, product_ids: Collection[str]) -> dict[str, ShelfLocation]:
    """Shelf location of each product in the store; unlocated products are absent."""
    found = products_in_store(uow, tenant_id, store_id, product_ids)
    return {pid: row.location for pid, row in found.items() if row.location is not None}


def products_in_store(
    uow: UnitOfWork, tenant_id: str, store_id: str, product_ids: Collection[str]
) -> dict[str, InStoreRow]:
    """Each product with its price and shelf location in the store (``None`` where it has none),
    in one read; ``UnknownProduct`` names every id the tenant does not have. Checkout prices the
    basket and picking places it with this."""
    with _reading(uow) as repo:
        found = repo.in_store(tenant_id, store_id, product_ids)
    _require_all(product_ids, found)
    return found


def price_list(
    uow: UnitOfWork, tenant_id: str, store_id: str, *, category: str | None = None, limit: int = 1000, offset: int = 0
) -> list[PricedProduct]:
    """Every product the store prices, in category then name order."""
    _page(limit, offset, MAX_PRICE_LIST_PAGE)
    with _reading(uow) as repo:
        _check_store_in(repo, tenant_id, store_id)
        return repo.priced_products(tenant_id, store_id, category=category, limit=limit, offset=offset)


def substitute_candidates(
    uow: UnitOfWork, tenant_id: str, store_id: str, product_id: str, limit: int = 5
) -> list[PricedProduct]:
    """What a picker may offer when ``product_id`` is missing: same category and ``sold_by``, priced
    in this store, closest price first (see ``model.rank_substitutes``)."""
    if not 1 <= limit <= MAX_SUBSTITUTES:
        raise ValidationFailed(f"limit must be 1 to {MAX_SUBSTITUTES}", field="limit")
    with _reading(uow) as repo:
        _check_store_in(repo, tenant_id, store_id)
        original = _product(repo, tenant_id, product_id)
        price = repo.prices(tenant_id, store_id, [product_id]).get(product_id)
        if price is None:
            raise NotSoldInStore(
                "this store has no price for the product, so nothing compares with it",
                product_id=product_id,
                store_id=store_id,
            )
        pool = repo.priced_products(tenant_id, store_id, category=original.category, sold_by=original.sold_by)
    return rank_substitutes(original, price, pool, limit)


@dataclass(frozen=True, slots=True)
class ProductInStore:
    product: Product
    price: StorePrice | None  # None: the store does not sell it
    location: ShelfLocation | None  # None: not placed on a shelf in the store


def in_store(uow: UnitOfWork, tenant_id: str, store_id: str, products: Sequence[Product]) -> list[ProductInStore]:
    """The given products with their price and shelf location in one of the tenant's stores."""
    ids = [p.id for p in products]
    with _reading(uow) as repo:
        _check_store_in(repo, tenant_id, store_id)
        prices = repo.prices(tenant_id, store_id, ids)
        places = repo.locations(tenant_id, store_id, ids)
    return [
        ProductInStore(
            p,
            StorePrice(store_id, p.id, prices[p.id], p.sold_by) if p.id in prices else None,
            places.get(p.id),
        )
        for p in products
    ]


# --- bulk loading: CSV import and demo seeding ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportSummary:
    products_created: int
    products_updated: int
    products_unchanged: int
    prices_set: int
    locations_set: int


def import_catalog_csv(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    data: bytes | str,
    store_id: str | None = None,
    mode: ImportMode = ImportMode.CREATE,
) -> ImportSummary:
    """All or nothing: any bad row rejects the whole file with every problem listed
    (``CatalogImportRejected``), and nothing is written.

    ``mode=create`` (default): an SKU or GTIN already in the catalog is an error.
    ``mode=upsert``: a row whose SKU exists updates that product; its GTIN may not belong to another
    product and its ``sold_by`` may not change. Prices and locations are set for ``store_id``.
    """
    text = data if isinstance(data, str) else decode_csv(data)
    parsed = parse_catalog_csv(text, for_store=store_id is not None)
    rows, errors = parsed.rows, list(parsed.errors)
    with _writing(uow) as tx:
        if store_id is not None:
            _check_store(tx, tenant_id, store_id)
        repo = CatalogRepository(tx.conn)
        new, changed, unchanged, catalog_errors = _plan_import(repo, tenant_id, parsed.keys, rows, mode)
        errors.extend(catalog_errors)
        if errors:
            raise CatalogImportRejected(errors)
        id_of = {p.sku: p.id for p in [*new, *changed, *unchanged]}
        prices: dict[str, dict[str, int]] = {}
        places: dict[str, dict[str, ShelfLocation]] = {}
        if store_id is not None:
            prices[store_id] = {id_of[r.sku]: r.price_minor for r in rows if r.price_minor is not None}
            places[store_id] = {id_of[r.sku]: r.location for r in rows if r.location is not None}
        return _write_bulk(tx, tenant_id, new, changed, prices, places, unchanged=len(unchanged))


def bulk_load(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    products: Sequence[Product],
    prices: Mapping[str, Mapping[str, int]],
    locations: Mapping[str, Mapping[str, ShelfLocation]],
) -> ImportSummary:
    """Create many new products with prices (store id -> product id -> price_minor) and shelf
    locations (store id -> product id -> location) in bulk inserts. Used by demo seeding."""
    with _writing(uow) as tx:
        for store_id in sorted({*prices, *locations}):
            _check_store(tx, tenant_id, store_id)
        repo = CatalogRepository(tx.conn)
        if any(p.tenant_id != tenant_id for p in products):
            raise ValidationFailed("every product must belong to the tenant being loaded")
        loaded = {p.id: p for p in products}
        for per_store in [*prices.values(), *locations.values()]:
            _require_all(per_store.keys(), loaded)  # prices and places only for the products loaded here
        for price in (p for per_store in prices.values() for p in per_store.values()):
            validate_price_minor(price)
        skus = [p.sku for p in products]
        gtins = [canonical_gtin(p.gtin) for p in products]
        if len(set(skus)) != len(skus) or len(set(gtins)) != len(gtins):
            raise DuplicateProduct("the products to load repeat an SKU or a GTIN")
        if repo.products_by_skus(tenant_id, skus) or repo.products_by_gtins(
            tenant_id, [e for p in products for e in gtin_equivalents(p.gtin)]
        ):
            raise DuplicateProduct("some of these SKUs or GTINs are already in the catalog")
        return _write_bulk(tx, tenant_id, list(products), [], prices, locations, unchanged=0)


def _plan_import(
    repo: CatalogRepository, tenant_id: str, keys: list[RowKeys], rows: list[CatalogRow], mode: ImportMode
) -> tuple[list[Product], list[Product], list[Product], list[RowError]]:
    """Split valid rows into new / changed / unchanged products; collect every clash with the
    catalog, including on rows that have other problems too."""
    errors: list[RowError] = []
    existing_by_sku = repo.products_by_skus(tenant_id, [k.sku for k in keys if k.sku is not None])
    holders = repo.products_by_gtins(
        tenant_id, [e for k in keys if k.gtin is not None for e in gtin_equivalents(k.gtin)]
    )
    holder_of_gtin = {canonical_gtin(p.gtin): p for p in holders}
    clashing_lines: set[int] = set()
    for key in keys:
        existing = existing_by_sku.get(key.sku) if key.sku is not None else None
        if existing is not None and mode is ImportMode.CREATE:
            errors.append(RowError(key.line, "sku", "already in the catalog (import with mode=upsert to update it)"))
            clashing_lines.add(key.line)
        holder = holder_of_gtin.get(canonical_gtin(key.gtin)) if key.gtin is not None else None
        # A row may keep the GTIN its own SKU already has (in create mode the SKU clash is reported);
        # with a bad SKU in upsert mode we cannot tell whose GTIN it is.
        own_gtin = (holder is not None and holder.sku == key.sku) or (mode is ImportMode.UPSERT and key.sku is None)
        if holder is not None and not own_gtin:
            errors.append(RowError(key.line, "gtin", f"already belongs to the product with SKU {holder.sku!r}"))
            clashing_lines.add(key.line)

    new: list[Product] = []
    changed: list[Product] = []
    unchanged: list[Product] = []
    for row in rows:
        if row.line in clashing_lines:
            continue
        existing = existing_by_sku.get(row.sku)
        if existing is not None and existing.sold_by != row.sold_by:
            errors.append(
                RowError(
                    row.line,
                    "sold_by",
                    f"cannot change from {existing.sold_by.value!r}: store prices would switch between per unit and per kg",
                )
            )
            continue
        product = Product(
            id=existing.id if existing is not None else new_id(),
            tenant_id=tenant_id,
            sku=row.sku,
            gtin=row.gtin,
            name=row.name,
            brand=row.brand,
            category=row.category,
            sold_by=row.sold_by,
            unit_weight_g=row.unit_weight_g,
            temperature_zone=row.temperature_zone,
        )
        if existing is None:
            new.append(product)
        elif product != existing:
            changed.append(product)
        else:
            unchanged.append(product)
    return new, changed, unchanged, errors


def _write_bulk(
    tx: UnitOfWork,
    tenant_id: str,
    new: list[Product],
    changed: list[Product],
    prices: Mapping[str, Mapping[str, int]],
    places: Mapping[str, Mapping[str, ShelfLocation]],
    *,
    unchanged: int,
) -> ImportSummary:
    repo = CatalogRepository(tx.conn)
    now = tx.clock.now()
    repo.add_products(new, now)
    repo.update_products(changed)
    price_rows: list[PriceRow] = []
    if any(prices.values()):
        currency = _tenant_currency(tx, tenant_id)
        price_rows = [
            PriceRow(store_id, product_id, price_minor, currency)
            for store_id, per_store in sorted(prices.items())
            for product_id, price_minor in sorted(per_store.items())
        ]
        repo.upsert_prices(tenant_id, price_rows, now)
    location_rows = [
        LocationRow(store_id, product_id, location)
        for store_id, per_store in sorted(places.items())
        for product_id, location in sorted(per_store.items())
    ]
    repo.upsert_locations(tenant_id, location_rows)
    summary = ImportSummary(len(new), len(changed), unchanged, len(price_rows), len(location_rows))
    tx.emit(
        CatalogImported(
            tenant_id=tenant_id,
            store_ids=sorted({*prices, *places}),
            products_created=summary.products_created,
            products_updated=summary.products_updated,
            prices_set=summary.prices_set,
            locations_set=summary.locations_set,
        )
    )
    return summary


# --- small helpers --------------------------------------------------------------------------------


def _product(repo: CatalogRepository, tenant_id: str, product_id: str) -> Product:
    product = repo.product(tenant_id, product_id)
    if product is None:
        raise UnknownProduct("no such product", product_id=product_id)
    return product


def _check_store_in(repo: CatalogRepository, tenant_id: str, store_id: str) -> None:
    TenancyRepository(repo.conn).store(tenant_id, store_id)


def _require_all(wanted: Collection[str], found: Mapping[str, object]) -> None:
    missing = sorted(set(wanted) - found.keys())
    if missing:
        raise UnknownProduct(f"{len(missing)} unknown product(s)", product_ids=missing)


def _refuse_duplicates(repo: CatalogRepository, product: Product) -> None:
    same_sku = repo.products_by_skus(product.tenant_id, [product.sku]).get(product.sku)
    if same_sku is not None and same_sku.id != product.id:
        raise DuplicateProduct("another product has this SKU", field="sku", sku=product.sku)
    for holder in repo.products_by_gtins(product.tenant_id, gtin_equivalents(product.gtin)):
        if holder.id != product.id:
            raise DuplicateProduct(
                f"the product with SKU {holder.sku!r} has this GTIN", field="gtin", gtin=product.gtin
            )


_E = TypeVar("_E", SoldBy, TemperatureZone)


def _enum(kind: type[_E], value: _E | str, field: str) -> _E:
    try:
        return kind(value)
    except ValueError as exc:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ValidationFailed(f"{field} must be one of {allowed}", field=field) from exc
