"""The shop for customers: browse a store, fill the cart, see the promise for an address, check out,
follow the orders (and answer a picker's proposed substitute)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from newretail.api.deps import RuntimeDep
from newretail.catalog import services as catalog
from newretail.catalog.model import PricedProduct
from newretail.core.errors import DomainError, ValidationFailed
from newretail.core.geo import Point
from newretail.core.runtime import Runtime
from newretail.fulfilment import services as fulfilment
from newretail.fulfilment.substitution import SubstitutionPreference
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod, OrderStatus, PaymentMode
from newretail.ordering.services import DeliveryOption
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Principal, Store
from newretail.web.board import promise_standing
from newretail.web.rendering import SHOPPING_ROLES, PageRoute, page, redirect
from newretail.web.session import PagePrincipal, PostedForm, require_role

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 24
LOW_STOCK_UNITS = 5
# The default delivery address: a street or two north-west of the store (about 500 m).
DEFAULT_OFFSET = (0.0040, -0.0030)
SUBSTITUTION_CHOICES = {
    SubstitutionPreference.ACCEPT_SUGGESTED: "Accept a similar product if something is missing",
    SubstitutionPreference.REFUND: "No substitutes: refund anything missing",
}


@dataclass(frozen=True)
class ShelfItem:
    id: str
    name: str
    brand: str
    category: str
    sold_by: str
    price_minor: int
    currency: str
    per: str
    available: int

    @property
    def stock_label(self) -> str:
        if self.available <= 0:
            return "Out of stock"
        if self.sold_by == "weight":
            return f"{self.available / 1000:.1f} kg in stock"
        return f"Only {self.available} left" if self.available <= LOW_STOCK_UNITS else f"{self.available} in stock"

    @property
    def stock_class(self) -> str:
        if self.available <= 0:
            return "out"
        if self.sold_by == "each" and self.available <= LOW_STOCK_UNITS:
            return "low"
        return "ok"


def _customer(principal: Principal) -> Principal:
    require_role(principal, SHOPPING_ROLES, "the shop")
    return principal


def _store(runtime: Runtime, principal: Principal, stores: list[Store], store_id: str | None) -> Store:
    if not stores:
        raise ValidationFailed("this retailer has no stores yet")
    if not store_id:
        return stores[0]
    return tenancy.get_store(runtime.uow(), principal.tenant_id, store_id)


def _page_number(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0


def _shelf(
    runtime: Runtime, tenant_id: str, store: Store, q: str, category: str, page_no: int
) -> tuple[list[ShelfItem], bool]:
    """One page of what the store sells, with live availability; and whether there is a next page."""
    priced: list[PricedProduct]
    if q:
        found = catalog.list_products(
            runtime.uow(), tenant_id, search=q, limit=PAGE_SIZE + 1, offset=page_no * PAGE_SIZE
        )
        views = catalog.in_store(runtime.uow(), tenant_id, store.id, found)
        more = len(found) > PAGE_SIZE
        priced = [PricedProduct(v.product, v.price.price) for v in views[:PAGE_SIZE] if v.price is not None]
    else:
        listed = catalog.price_list(
            runtime.uow(),
            tenant_id,
            store.id,
            category=category or None,
            limit=PAGE_SIZE + 1,
            offset=page_no * PAGE_SIZE,
        )
        more = len(listed) > PAGE_SIZE
        priced = listed[:PAGE_SIZE]
    stock = inventory.availability(runtime.uow(), tenant_id, store.id, [p.product.id for p in priced]) if priced else {}
    items = [
        ShelfItem(
            id=p.product.id,
            name=p.product.name,
            brand=p.product.brand,
            category=p.product.category,
            sold_by=p.product.sold_by.value,
            price_minor=p.price.amount,
            currency=p.price.currency,
            per=p.product.sold_by.price_unit,
            available=stock[p.product.id].available,
        )
        for p in priced
    ]
    return items, more


def _browse_query(store_id: str, q: str, category: str, page_no: int) -> str:
    params = {"store": store_id, "q": q, "category": category, "page": str(page_no) if page_no else ""}
    return urlencode({k: v for k, v in params.items() if v})


def shop_page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    *,
    store_id: str | None,
    q: str,
    category: str,
    page_no: int,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    stores = tenancy.list_stores(runtime.uow(), principal.tenant_id)
    store = _store(runtime, principal, stores, store_id)
    items, more = _shelf(runtime, principal.tenant_id, store, q, category, page_no)
    cart = ordering.view_cart(
        runtime.uow(), tenant_id=principal.tenant_id, customer_id=principal.subject_id, store_id=store.id
    )
    return page(
        request,
        "shop.html",
        {
            "stores": stores,
            "store": store,
            "categories": catalog.categories(runtime.uow(), principal.tenant_id),
            "q": q,
            "category": category,
            "page_no": page_no,
            "items": items,
            "prev_query": _browse_query(store.id, q, category, page_no - 1) if page_no > 0 else None,
            "next_query": _browse_query(store.id, q, category, page_no + 1) if more else None,
            "here": _browse_query(store.id, q, category, page_no),
            "cart": cart,
            "currency": runtime.settings.currency,
            "error": error,
            "notice": notice,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/shop")
def shop(
    request: Request,
    principal: PagePrincipal,
    runtime: RuntimeDep,
    store: str | None = None,
    q: str = "",
    category: str = "",
    page: str | None = None,
    updated: str | None = None,
) -> Response:
    _customer(principal)
    return shop_page(
        request,
        runtime,
        principal,
        store_id=store,
        q=q.strip(),
        category=category.strip(),
        page_no=_page_number(page),
        notice="Your cart is updated." if updated else None,
    )


@router.post("/shop/cart")
def set_cart_line(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    _customer(principal)
    store_id, q, category = form.get("store"), form.get("q"), form.get("category")
    page_no = _page_number(form.get("page"))
    try:
        ordering.set_cart_line(
            runtime.uow(),
            tenant_id=principal.tenant_id,
            customer_id=principal.subject_id,
            product_id=form.required("product_id", "the product"),
            quantity=form.integer("quantity", "the quantity"),
        )
    except DomainError as exc:
        return shop_page(
            request,
            runtime,
            principal,
            store_id=store_id or None,
            q=q,
            category=category,
            page_no=page_no,
            error=exc.message,
            status_code=exc.http_status,
        )
    back = form.get("back")
    if back == "checkout":
        return redirect("/shop/checkout?" + urlencode({"store": store_id}))
    return redirect("/shop?" + _browse_query(store_id, q, category, page_no) + "&updated=1")


# -- checkout -------------------------------------------------------------------------------------
def _address(store: Store, lat: str | None, lon: str | None) -> tuple[float, float]:
    if not lat and not lon:
        return round(store.location.lat + DEFAULT_OFFSET[0], 5), round(store.location.lon + DEFAULT_OFFSET[1], 5)
    try:
        point = Point(float(lat or ""), float(lon or ""))
    except ValueError as exc:
        raise ValidationFailed(f"the address is not a valid position: {exc}", field="address") from None
    return point.lat, point.lon


def checkout_page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    *,
    store_id: str | None,
    lat: str | None,
    lon: str | None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    stores = tenancy.list_stores(runtime.uow(), principal.tenant_id)
    store = _store(runtime, principal, stores, store_id)
    quote: dict[str, Any] | None = None
    quote_error: str | None = None
    address: tuple[float, float] | None = None
    try:
        address = _address(store, lat, lon)
        plan = ordering.quote(
            runtime.uow(),
            tenant_id=principal.tenant_id,
            customer_id=principal.subject_id,
            method=FulfilmentMethod.DELIVERY,
            address=Point(*address),
            store_id=None,
        )
        quote = {
            "store": plan.store,
            "distance_m": plan.distance_m,
            "queue_position": plan.quote.queue_position,
            "pick_complete_at": plan.quote.pick_complete_at,
            "express": plan.quote.express,
            "slots": plan.quote.slots,
            "delivery_unavailable": plan.quote.delivery_unavailable,
            "total_minor": sum(line.total.amount for line in plan.lines),
        }
        # The cart is priced where the order would come from.
        store = plan.store
    except DomainError as exc:
        quote_error = exc.message
    cart = ordering.view_cart(
        runtime.uow(), tenant_id=principal.tenant_id, customer_id=principal.subject_id, store_id=store.id
    )
    return page(
        request,
        "checkout.html",
        {
            "store": store,
            "stores": stores,
            "cart": cart,
            "lat": address[0] if address else lat,
            "lon": address[1] if address else lon,
            "quote": quote,
            "quote_error": quote_error,
            "idempotency_key": str(uuid.uuid4()),
            "preferences": SUBSTITUTION_CHOICES,
            "currency": runtime.settings.currency,
            "error": error,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/shop/checkout")
def checkout_form(
    request: Request,
    principal: PagePrincipal,
    runtime: RuntimeDep,
    store: str | None = None,
    lat: str | None = None,
    lon: str | None = None,
) -> Response:
    _customer(principal)
    return checkout_page(request, runtime, principal, store_id=store, lat=lat, lon=lon)


@router.post("/shop/checkout")
def place_order(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    _customer(principal)
    try:
        lat, lon = form.number("lat", "the latitude"), form.number("lon", "the longitude")
        choice = form.required("option", "a delivery option")
        option, _, slot = choice.partition("@")
        if option not in (DeliveryOption.EXPRESS, DeliveryOption.SLOT):
            raise ValidationFailed("choose express delivery or a delivery slot", field="option")
        try:
            slot_start = datetime.fromisoformat(slot) if slot else None
            preference = SubstitutionPreference(form.get("substitution_preference") or "accept_suggested")
            address = Point(lat, lon)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="option") from None
        order = ordering.checkout(
            runtime.uow(),
            tenant_id=principal.tenant_id,
            customer_id=principal.subject_id,
            method=FulfilmentMethod.DELIVERY,
            option=DeliveryOption(option),
            address=address,
            slot_start=slot_start,
            payment_mode=PaymentMode.PAY_ON_DELIVERY,
            substitution_preference=preference,
            idempotency_key=form.get("idempotency_key") or None,
        )
    except DomainError as exc:
        return checkout_page(
            request,
            runtime,
            principal,
            store_id=form.get("store") or None,
            lat=form.get("lat"),
            lon=form.get("lon"),
            error=exc.message,
            status_code=exc.http_status,
        )
    return redirect("/shop/orders?" + urlencode({"placed": order["id"]}))


# -- my orders ------------------------------------------------------------------------------------
def _my_orders(runtime: Runtime, principal: Principal) -> dict[str, Any]:
    orders = ordering.customer_orders(runtime.uow(), principal.tenant_id, principal.subject_id)
    stores = {s.id: s for s in tenancy.list_stores(runtime.uow(), principal.tenant_id)}
    picking_ids = [o.id for o in orders if o.status is OrderStatus.PICKING]
    progress = fulfilment.picking_progress(runtime.uow(), tenant_id=principal.tenant_id, order_ids=picking_ids)
    proposals: dict[str, list[dict[str, Any]]] = {}
    for order_id, found in progress.items():
        lines = fulfilment.picking_json(found.picking)["lines"]
        proposals[order_id] = [
            ln for ln in lines if ln["substitution"] is not None and ln["substitution"]["status"] == "proposed"
        ]
    now = runtime.clock.now()
    return {
        "orders": [(o, promise_standing(o, now)) for o in orders],
        "stores": stores,
        "proposals": proposals,
        "cancellable": {OrderStatus.AWAITING_PAYMENT, OrderStatus.PLACED},
    }


def orders_page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    *,
    placed: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "orders.html",
        {**_my_orders(runtime, principal), "placed": placed, "error": error},
        principal=principal,
        status_code=status_code,
    )


@router.get("/shop/orders")
def my_orders(request: Request, principal: PagePrincipal, runtime: RuntimeDep, placed: str | None = None) -> Response:
    _customer(principal)
    return orders_page(request, runtime, principal, placed=placed)


@router.get("/shop/orders/list")
def my_orders_fragment(request: Request, principal: PagePrincipal, runtime: RuntimeDep) -> Response:
    _customer(principal)
    return page(request, "_orders_list.html", _my_orders(runtime, principal), principal=principal)


@router.post("/shop/orders/{order_id}/cancel")
def cancel_order(
    order_id: str, request: Request, principal: PagePrincipal, runtime: RuntimeDep, _form: PostedForm
) -> Response:
    _customer(principal)
    try:
        ordering.cancel_by_customer(
            runtime.uow(), tenant_id=principal.tenant_id, customer_id=principal.subject_id, order_id=order_id
        )
    except DomainError as exc:
        return orders_page(request, runtime, principal, error=exc.message, status_code=exc.http_status)
    return redirect("/shop/orders")


@router.post("/shop/orders/{order_id}/substitutions")
def answer_substitution(
    order_id: str, request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm
) -> Response:
    _customer(principal)
    try:
        fulfilment.answer_substitution(
            runtime.uow(),
            tenant_id=principal.tenant_id,
            customer_id=principal.subject_id,
            order_id=order_id,
            line_id=form.required("line_id", "the line"),
            approve=form.get("approve") == "yes",
        )
    except DomainError as exc:
        return orders_page(request, runtime, principal, error=exc.message, status_code=exc.http_status)
    return redirect("/shop/orders")
