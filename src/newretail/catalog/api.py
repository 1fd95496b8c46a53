"""Catalog HTTP endpoints under ``/catalog``: products, barcodes, store prices, shelf locations, CSV import.

Any authenticated user of the tenant reads; store managers and tenant admins write. Rows of another
tenant are invisible (404), never forbidden, so ids cannot be probed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from newretail.api.deps import IdempotencyKey, ManagerDep, PrincipalDep, RuntimeDep
from newretail.catalog import services
from newretail.catalog.import_csv import MAX_IMPORT_BYTES, ImportMode
from newretail.catalog.model import PricedProduct, Product, ShelfLocation, SoldBy, TemperatureZone
from newretail.core.errors import DomainError, ValidationFailed
from newretail.core.idempotency import run_idempotent
from newretail.core.runtime import Runtime
from newretail.core.uow import UnitOfWork
from newretail.tenancy.model import Principal
from newretail.tenancy.services import require_store_access

router = APIRouter(prefix="/catalog", tags=["catalog"])


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    http_status = 413


# --- schemas --------------------------------------------------------------------------------------


class PriceOut(BaseModel):
    amount_minor: int
    currency: str
    per: str = Field(description="'each' for goods sold by unit, 'kg' for goods sold by weight")


class LocationOut(BaseModel):
    aisle: int
    bay: int
    shelf: int

    @classmethod
    def of(cls, location: ShelfLocation) -> LocationOut:
        return cls(aisle=location.aisle, bay=location.bay, shelf=location.shelf)


class ProductOut(BaseModel):
    id: str
    sku: str
    gtin: str
    name: str
    brand: str
    category: str
    sold_by: SoldBy
    unit_weight_g: int
    temperature_zone: TemperatureZone
    price: PriceOut | None = Field(None, description="only when a store_id is given; null if not sold there")
    location: LocationOut | None = Field(None, description="only when a store_id is given")

    @classmethod
    def of(cls, product: Product, view: services.ProductInStore | None = None) -> ProductOut:
        out = cls(
            id=product.id,
            sku=product.sku,
            gtin=product.gtin,
            name=product.name,
            brand=product.brand,
            category=product.category,
            sold_by=product.sold_by,
            unit_weight_g=product.unit_weight_g,
            temperature_zone=product.temperature_zone,
        )
        if view is not None and view.price is not None:
            out.price = PriceOut(
                amount_minor=view.price.price.amount, currency=view.price.price.currency, per=view.price.per
            )
        if view is not None and view.location is not None:
            out.location = LocationOut.of(view.location)
        return out

    @classmethod
    def priced(cls, item: PricedProduct) -> ProductOut:
        out = cls.of(item.product)
        out.price = PriceOut(
            amount_minor=item.price.amount, currency=item.price.currency, per=item.product.sold_by.price_unit
        )
        return out


class ProductIn(BaseModel):
    sku: str
    gtin: str = Field(description="GTIN-8, -12, -13 or -14 with a valid check digit")
    name: str
    brand: str = ""
    category: str
    sold_by: SoldBy
    unit_weight_g: int = Field(description="nominal weight of one unit (one piece for goods sold by weight)")
    temperature_zone: TemperatureZone


class ProductPatch(BaseModel):
    sku: str | None = None
    gtin: str | None = None
    name: str | None = None
    brand: str | None = None
    category: str | None = None
    sold_by: SoldBy | None = Field(None, description="may be sent but not changed")
    unit_weight_g: int | None = None
    temperature_zone: TemperatureZone | None = None


class PriceIn(BaseModel):
    price_minor: int = Field(description="integer minor units; per unit, or per kg for goods sold by weight")


class StorePriceOut(BaseModel):
    store_id: str
    product_id: str
    price_minor: int
    currency: str
    per: str


class LocationIn(BaseModel):
    aisle: int
    bay: int
    shelf: int


class CategoryOut(BaseModel):
    name: str
    product_count: int


class ImportOut(BaseModel):
    products_created: int
    products_updated: int
    products_unchanged: int
    prices_set: int
    locations_set: int


# --- helpers --------------------------------------------------------------------------------------


def _idempotent(
    runtime: Runtime,
    principal: Principal,
    key: str | None,
    scope: str,
    request: dict[str, Any],
    work: Callable[[UnitOfWork], dict[str, Any]],
) -> dict[str, Any]:
    return run_idempotent(
        runtime.uow(), tenant_id=principal.tenant_id, scope=f"catalog.{scope}", key=key, request=request, work=work
    )


def _views(runtime: Runtime, principal: Principal, products: list[Product], store_id: str | None) -> list[ProductOut]:
    if store_id is None:
        return [ProductOut.of(p) for p in products]
    views = services.in_store(runtime.uow(), principal.tenant_id, store_id, products)
    return [ProductOut.of(v.product, v) for v in views]


# --- reads ----------------------------------------------------------------------------------------


@router.get("/products", response_model=list[ProductOut])
def list_products(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    category: str | None = None,
    q: Annotated[str | None, Query(description="name or brand contains; or an exact SKU or GTIN")] = None,
    store_id: Annotated[str | None, Query(description="include this store's price and shelf location")] = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ProductOut]:
    found = services.list_products(
        runtime.uow(), principal.tenant_id, category=category, search=q, limit=limit, offset=offset
    )
    return _views(runtime, principal, found, store_id)


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(principal: PrincipalDep, runtime: RuntimeDep) -> list[CategoryOut]:
    return [
        CategoryOut(name=c.name, product_count=c.product_count)
        for c in services.categories(runtime.uow(), principal.tenant_id)
    ]


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(
    product_id: str, principal: PrincipalDep, runtime: RuntimeDep, store_id: str | None = None
) -> ProductOut:
    product = services.get_product(runtime.uow(), principal.tenant_id, product_id)
    return _views(runtime, principal, [product], store_id)[0]


@router.get("/barcodes/{gtin}", response_model=ProductOut)
def get_by_barcode(gtin: str, principal: PrincipalDep, runtime: RuntimeDep, store_id: str | None = None) -> ProductOut:
    product = services.product_by_gtin(runtime.uow(), principal.tenant_id, gtin)
    return _views(runtime, principal, [product], store_id)[0]


@router.get("/products/{product_id}/substitutes", response_model=list[ProductOut])
def substitutes(
    product_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    store_id: str,
    limit: Annotated[int, Query(ge=1, le=services.MAX_SUBSTITUTES)] = 5,
) -> list[ProductOut]:
    ranked = services.substitute_candidates(runtime.uow(), principal.tenant_id, store_id, product_id, limit)
    return [ProductOut.priced(item) for item in ranked]


@router.get("/stores/{store_id}/prices", response_model=list[ProductOut])
def price_list(
    store_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    category: str | None = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_PRICE_LIST_PAGE)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ProductOut]:
    lines = services.price_list(
        runtime.uow(), principal.tenant_id, store_id, category=category, limit=limit, offset=offset
    )
    return [ProductOut.priced(item) for item in lines]


# --- writes ---------------------------------------------------------------------------------------


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
def create_product(
    body: ProductIn, manager: ManagerDep, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    def work(uow: UnitOfWork) -> dict[str, Any]:
        product = services.create_product(uow, tenant_id=manager.tenant_id, **body.model_dump())
        return ProductOut.of(product).model_dump(mode="json")

    return _idempotent(runtime, manager, idempotency_key, "create_product", body.model_dump(mode="json"), work)


@router.patch("/products/{product_id}", response_model=ProductOut)
def update_product(
    product_id: str,
    body: ProductPatch,
    manager: ManagerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    def work(uow: UnitOfWork) -> dict[str, Any]:
        product = services.update_product(
            uow, tenant_id=manager.tenant_id, product_id=product_id, **body.model_dump(exclude_unset=True)
        )
        return ProductOut.of(product).model_dump(mode="json")

    request = {"product_id": product_id, **body.model_dump(mode="json", exclude_unset=True)}
    return _idempotent(runtime, manager, idempotency_key, "update_product", request, work)


@router.put("/stores/{store_id}/prices/{product_id}", response_model=StorePriceOut)
def set_price(
    store_id: str,
    product_id: str,
    body: PriceIn,
    manager: ManagerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    require_store_access(manager, store_id)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        price = services.set_store_price(
            uow, tenant_id=manager.tenant_id, store_id=store_id, product_id=product_id, price_minor=body.price_minor
        )
        return StorePriceOut(
            store_id=store_id,
            product_id=product_id,
            price_minor=price.price.amount,
            currency=price.price.currency,
            per=price.per,
        ).model_dump(mode="json")

    request = {"store_id": store_id, "product_id": product_id, **body.model_dump(mode="json")}
    return _idempotent(runtime, manager, idempotency_key, "set_price", request, work)


@router.put("/stores/{store_id}/locations/{product_id}", response_model=LocationOut)
def set_location(
    store_id: str,
    product_id: str,
    body: LocationIn,
    manager: ManagerDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    require_store_access(manager, store_id)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        location = services.set_location(
            uow, tenant_id=manager.tenant_id, store_id=store_id, product_id=product_id, **body.model_dump()
        )
        return LocationOut.of(location).model_dump(mode="json")

    request = {"store_id": store_id, "product_id": product_id, **body.model_dump(mode="json")}
    return _idempotent(runtime, manager, idempotency_key, "set_location", request, work)


_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        "description": "the CSV file itself as the request body (not multipart)",
    }
}


@router.post("/imports", response_model=ImportOut, openapi_extra=_CSV_BODY)
async def import_csv(
    request: Request,
    manager: ManagerDep,
    runtime: RuntimeDep,
    store_id: Annotated[str | None, Query(description="set price_minor / aisle / bay / shelf for this store")] = None,
    mode: Annotated[ImportMode, Query(description="create: new products only; upsert: update by SKU")] = (
        ImportMode.CREATE
    ),
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Import a catalog CSV: all rows or none. A bad file answers 422 ``catalog_import_rejected``
    with every problem as ``{line, field, reason}`` in ``details.errors``."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        raise ValidationFailed("send the CSV file itself as the request body with Content-Type: text/csv")
    if store_id is not None:
        require_store_access(manager, store_id)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise PayloadTooLarge(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it")
        chunks.append(chunk)
    data = b"".join(chunks)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        summary = services.import_catalog_csv(uow, tenant_id=manager.tenant_id, data=data, store_id=store_id, mode=mode)
        return ImportOut(
            products_created=summary.products_created,
            products_updated=summary.products_updated,
            products_unchanged=summary.products_unchanged,
            prices_set=summary.prices_set,
            locations_set=summary.locations_set,
        ).model_dump(mode="json")

    fingerprint = {"store_id": store_id, "mode": mode.value, "sha256": hashlib.sha256(data).hexdigest()}
    # The import is synchronous database work: keep it off the event loop.
    return await run_in_threadpool(_idempotent, runtime, manager, idempotency_key, "import", fingerprint, work)
