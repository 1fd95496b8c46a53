"""Customer-facing ordering endpoints (addresses, cart, quote, checkout, orders) and store settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from newretail.api.deps import IdempotencyKey, ManagerDep, PrincipalDep, RuntimeDep, StaffDep
from newretail.core.errors import Conflict, ValidationFailed
from newretail.core.geo import Point
from newretail.fulfilment.substitution import SubstitutionPreference
from newretail.ordering import payment, services
from newretail.ordering.model import FulfilmentMethod, PaymentMode
from newretail.ordering.services import DeliveryOption
from newretail.payments.api import ProvidersDep
from newretail.payments.model import Channel, Method
from newretail.tenancy.model import STAFF_ROLES
from newretail.tenancy.services import require_store_access

router = APIRouter(tags=["ordering"])


class AddressIn(BaseModel):
    label: str = Field(default="home", max_length=60)
    line1: str = Field(min_length=1, max_length=300)
    lat: float
    lon: float


class CartLineIn(BaseModel):
    product_id: str
    quantity: int = Field(ge=0, description="units, or grams for goods sold by weight; 0 removes the line")


class WhereIn(BaseModel):
    method: FulfilmentMethod = FulfilmentMethod.DELIVERY
    address_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    store_id: str | None = Field(default=None, description="the collection store (click-and-collect)")


class CheckoutIn(WhereIn):
    option: DeliveryOption
    slot_start: datetime | None = None
    payment_mode: PaymentMode = PaymentMode.PAY_ON_DELIVERY
    payment_method: Method | None = Field(default=None, description="wallet, alipay or test; needed to pay now")
    payment_channel: Channel = Channel.DIRECT
    payment_code: str | None = Field(default=None, max_length=64, description="in-store barcode or test token")
    substitution_preference: SubstitutionPreference = SubstitutionPreference.ACCEPT_SUGGESTED


def _address(runtime: Any, principal: Any, body: WhereIn) -> Point | None:
    if body.method is FulfilmentMethod.COLLECTION:
        return None
    if body.address_id:
        for row in services.addresses(runtime.uow(), principal.tenant_id, principal.subject_id):
            if row.id == body.address_id:
                return Point(row.lat, row.lon)
        raise ValidationFailed("unknown address", field="address_id")
    if body.lat is None or body.lon is None:
        raise ValidationFailed("give an address_id, or lat and lon", field="address")
    try:
        return Point(body.lat, body.lon)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="address") from exc


@router.post("/me/addresses", status_code=status.HTTP_201_CREATED)
def add_address(body: AddressIn, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, str]:
    address_id = services.add_address(
        runtime.uow(),
        tenant_id=principal.tenant_id,
        customer_id=principal.subject_id,
        label=body.label,
        line1=body.line1,
        lat=body.lat,
        lon=body.lon,
    )
    return {"id": address_id}


@router.get("/me/addresses")
def list_addresses(principal: PrincipalDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [
        {"id": r.id, "label": r.label, "line1": r.line1, "lat": r.lat, "lon": r.lon}
        for r in services.addresses(runtime.uow(), principal.tenant_id, principal.subject_id)
    ]


@router.put("/me/cart/lines")
def set_cart_line(body: CartLineIn, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    services.set_cart_line(
        runtime.uow(),
        tenant_id=principal.tenant_id,
        customer_id=principal.subject_id,
        product_id=body.product_id,
        quantity=body.quantity,
    )
    return get_cart(principal, runtime)


@router.get("/me/cart")
def get_cart(principal: PrincipalDep, runtime: RuntimeDep, store_id: str | None = None) -> dict[str, Any]:
    cart = services.view_cart(
        runtime.uow(), tenant_id=principal.tenant_id, customer_id=principal.subject_id, store_id=store_id
    )
    return {
        "store_id": cart.store_id,
        "lines": [
            {
                "product_id": ln.product_id,
                "name": ln.name,
                "sold_by": ln.sold_by.value,
                "quantity": ln.quantity,
                "unit_price_minor": ln.unit_price.amount if ln.unit_price else None,
                "line_total_minor": ln.line_total.amount if ln.line_total else None,
            }
            for ln in cart.lines
        ],
        "total_minor": cart.total.amount if cart.total else None,
    }


@router.post("/me/quote")
def quote(body: WhereIn, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    plan = services.quote(
        runtime.uow(),
        tenant_id=principal.tenant_id,
        customer_id=principal.subject_id,
        method=body.method,
        address=_address(runtime, principal, body),
        store_id=body.store_id,
    )
    q = plan.quote
    return {
        "store_id": plan.store.id,
        "store_name": plan.store.name,
        "distance_m": plan.distance_m,
        "queue_position": q.queue_position,
        "pick_complete_at": q.pick_complete_at.isoformat(),
        "collection_ready_at": q.collection_ready_at.isoformat(),
        "delivery_eta": q.delivery_eta.isoformat() if q.delivery_eta else None,
        "delivery_unavailable": q.delivery_unavailable,
        "express": None
        if q.express is None
        else {"eta": q.express.eta.isoformat(), "deadline": q.express.deadline.isoformat()},
        "slots": [{"start": s.start.isoformat(), "end": s.end.isoformat(), "remaining": s.remaining} for s in q.slots],
        "estimated_total_minor": sum(line.total.amount for line in plan.lines),
    }


@router.post("/me/checkout", status_code=status.HTTP_201_CREATED)
def checkout(
    body: CheckoutIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    providers: ProvidersDep,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Place the cart. Paying now authorises the promised total (plus a margin for weighed goods and
    substitutions) before the order joins the pick queue; a declined payment cancels it (402)."""
    if body.payment_mode is PaymentMode.PAY_NOW and body.payment_method is None:
        raise ValidationFailed("paying now needs a payment_method", field="payment_method")
    order = services.checkout(
        runtime.uow(),
        tenant_id=principal.tenant_id,
        customer_id=principal.subject_id,
        method=body.method,
        option=body.option,
        address=_address(runtime, principal, body),
        store_id=body.store_id,
        slot_start=body.slot_start,
        payment_mode=body.payment_mode,
        substitution_preference=body.substitution_preference,
        idempotency_key=key,
    )
    if body.payment_mode is PaymentMode.PAY_NOW:
        assert body.payment_method is not None
        view = payment.pay(
            runtime.uow(),
            providers,
            tenant_id=principal.tenant_id,
            customer_id=principal.subject_id,
            order_id=order["id"],
            method=body.payment_method,
            channel=body.payment_channel,
            payment_code=body.payment_code,
            idempotency_key=f"checkout:{order['id']}",
        )
        order = services.order_json(services.get_order(runtime.uow(), principal.tenant_id, order["id"]))
        order["payment"] = view.to_json()
    return order


@router.get("/me/orders")
def my_orders(principal: PrincipalDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [
        services.order_json(o)
        for o in services.customer_orders(runtime.uow(), principal.tenant_id, principal.subject_id)
    ]


@router.get("/orders/{order_id}")
def get_order(order_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    order = services.get_order(runtime.uow(), principal.tenant_id, order_id)
    services.require_owner_or_staff(order, principal.subject_id, principal.role in STAFF_ROLES)
    if principal.role in STAFF_ROLES:
        require_store_access(principal, order.store_id)
    return services.order_json(order)


@router.post("/orders/{order_id}/cancel")
def cancel(order_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    order = services.cancel_by_customer(
        runtime.uow(), tenant_id=principal.tenant_id, customer_id=principal.subject_id, order_id=order_id
    )
    return services.order_json(order)


@router.post("/orders/{order_id}/steps/{step}")
def advance(order_id: str, step: str, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Click-and-collect steps at the counter: ``ready_for_collection``, ``collect``.

    Delivery orders leave with a courier's trip (the dispatch board and the courier app under
    ``/delivery``), so a trip and its order never disagree about where the bags are."""
    order = services.get_order(runtime.uow(), staff.tenant_id, order_id)
    require_store_access(staff, order.store_id)
    if order.method is FulfilmentMethod.DELIVERY and step in ("dispatch", "deliver"):
        raise Conflict(
            "delivery orders are dispatched and delivered through the courier's trip (/delivery)",
            order_id=order_id,
            step=step,
        )
    return services.order_json(services.advance(runtime.uow(), tenant_id=staff.tenant_id, order_id=order_id, step=step))


@router.post("/orders/{order_id}/payment-hold/release")
def release_payment_hold(order_id: str, manager: ManagerDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The explicit override: the money was collected another way, the order may leave."""
    order = services.get_order(runtime.uow(), manager.tenant_id, order_id)
    require_store_access(manager, order.store_id)
    return services.order_json(payment.release_hold(runtime.uow(), tenant_id=manager.tenant_id, order_id=order_id))


@router.get("/stores/{store_id}/operations")
def get_operations(store_id: str, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    require_store_access(staff, store_id)
    return services.store_operations(runtime.uow(), tenant_id=staff.tenant_id, store_id=store_id).to_json()


@router.put("/stores/{store_id}/operations")
def set_operations(store_id: str, body: dict[str, Any], manager: ManagerDep, runtime: RuntimeDep) -> dict[str, Any]:
    require_store_access(manager, store_id)
    return services.set_store_operations(
        runtime.uow(), tenant_id=manager.tenant_id, store_id=store_id, settings=body
    ).to_json()
