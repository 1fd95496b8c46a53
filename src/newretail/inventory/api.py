"""Inventory HTTP endpoints: stock levels, goods in, adjustments, till sales, reservations."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from newretail.api.deps import IdempotencyKey, ManagerDep, PrincipalDep, RuntimeDep, StaffDep
from newretail.core.errors import NotFound
from newretail.inventory import services
from newretail.inventory.model import MovementReason
from newretail.tenancy.model import STAFF_ROLES, Principal
from newretail.tenancy.services import require_store_access

router = APIRouter(tags=["inventory"])


class StockOut(BaseModel):
    product_id: str
    on_hand: int
    reserved: int
    available: int


class ReceiptIn(BaseModel):
    product_id: str
    quantity: int = Field(gt=0, description="units, or grams for goods sold by weight")
    reference: str | None = Field(default=None, max_length=100)


class AdjustmentIn(BaseModel):
    product_id: str
    reason: MovementReason
    delta: int | None = Field(default=None, description="negative, for shrink or damage")
    counted: int | None = Field(default=None, ge=0, description="the number on the shelf, for a recount")
    reference: str | None = Field(default=None, max_length=100)


class LineIn(BaseModel):
    product_id: str
    quantity: int = Field(gt=0)


class SaleIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1)
    reference: str | None = Field(default=None, max_length=100)


class ReservationIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1)
    owner_type: str = Field(default="cart", max_length=30)
    owner_id: str | None = Field(default=None, max_length=64)
    ttl_seconds: int | None = Field(default=None, gt=0, description="omit for a hold without expiry (staff only)")


class ReservationLineOut(BaseModel):
    product_id: str
    quantity: int
    shorted: int


class ReservationOut(BaseModel):
    id: str
    store_id: str
    owner_type: str
    owner_id: str
    status: str
    created_at: str
    expires_at: str | None
    lines: list[ReservationLineOut]


class CommitIn(BaseModel):
    picked: dict[str, int] = Field(description="product id -> quantity actually picked")
    reference: str | None = Field(default=None, max_length=100)


def _is_staff(principal: Principal) -> bool:
    return principal.role in STAFF_ROLES


@router.get("/stores/{store_id}/stock", response_model=list[StockOut])
def stock(
    store_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    product_id: Annotated[list[str] | None, Query()] = None,
) -> list[StockOut]:
    levels = services.availability(runtime.uow(), principal.tenant_id, store_id, product_id)
    return [
        StockOut(product_id=a.product_id, on_hand=a.on_hand, reserved=a.reserved, available=a.available)
        for a in sorted(levels.values(), key=lambda a: a.product_id)
    ]


@router.post("/stores/{store_id}/stock/receipts", response_model=StockOut)
def receive(
    store_id: str, body: ReceiptIn, staff: StaffDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    require_store_access(staff, store_id)
    return services.receive(
        runtime.uow(),
        tenant_id=staff.tenant_id,
        store_id=store_id,
        product_id=body.product_id,
        quantity=body.quantity,
        reference=body.reference,
        idempotency_key=key,
    )


@router.post("/stores/{store_id}/stock/adjustments", response_model=StockOut)
def adjust(
    store_id: str, body: AdjustmentIn, manager: ManagerDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    require_store_access(manager, store_id)
    return services.adjust(
        runtime.uow(),
        tenant_id=manager.tenant_id,
        store_id=store_id,
        product_id=body.product_id,
        reason=body.reason,
        delta=body.delta,
        counted=body.counted,
        reference=body.reference,
        idempotency_key=key,
    )


@router.post("/stores/{store_id}/sales")
def sell(
    store_id: str, body: SaleIn, staff: StaffDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    require_store_access(staff, store_id)
    return services.sell(
        runtime.uow(),
        tenant_id=staff.tenant_id,
        store_id=store_id,
        lines=[(line.product_id, line.quantity) for line in body.lines],
        reference=body.reference,
        idempotency_key=key,
    )


@router.post("/stores/{store_id}/reservations", response_model=ReservationOut, status_code=status.HTTP_201_CREATED)
def reserve(
    store_id: str, body: ReservationIn, principal: PrincipalDep, runtime: RuntimeDep, key: IdempotencyKey = None
) -> dict[str, Any]:
    require_store_access(principal, store_id)
    owner_type, owner_id, ttl_seconds = body.owner_type, body.owner_id, body.ttl_seconds
    if not _is_staff(principal):
        # A shopper holds a cart for themselves, and only for a while.
        max_ttl = runtime.settings.reservation_ttl_minutes * 60
        owner_type, owner_id = "cart", principal.subject_id
        ttl_seconds = min(ttl_seconds or max_ttl, max_ttl)
    return services.reserve(
        runtime.uow(),
        tenant_id=principal.tenant_id,
        store_id=store_id,
        lines=[(line.product_id, line.quantity) for line in body.lines],
        owner_type=owner_type,
        owner_id=owner_id or principal.subject_id,
        ttl=timedelta(seconds=ttl_seconds) if ttl_seconds else None,
        idempotency_key=key,
    )


@router.get("/reservations/{reservation_id}", response_model=ReservationOut)
def get_reservation(reservation_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    reservation = services.get_reservation(runtime.uow(), principal.tenant_id, reservation_id)
    if not _is_staff(principal) and reservation.owner_id != principal.subject_id:
        raise NotFound("reservation not found", reservation_id=reservation_id)
    require_store_access(principal, reservation.store_id)
    return services.reservation_json(reservation)


@router.post("/reservations/{reservation_id}/release", response_model=ReservationOut)
def release(reservation_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    get_reservation(reservation_id, principal, runtime)  # same visibility rules as reading it
    return services.release(runtime.uow(), tenant_id=principal.tenant_id, reservation_id=reservation_id)


@router.post("/reservations/{reservation_id}/commit", response_model=ReservationOut)
def commit(reservation_id: str, body: CommitIn, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    get_reservation(reservation_id, staff, runtime)
    return services.commit(
        runtime.uow(),
        tenant_id=staff.tenant_id,
        reservation_id=reservation_id,
        picked=body.picked,
        reference=body.reference,
    )


@router.post("/inventory/expire-stale")
def expire_stale(manager: ManagerDep, runtime: RuntimeDep) -> dict[str, int]:
    return {"expired": services.expire_stale(runtime.uow(), tenant_id=manager.tenant_id)}
