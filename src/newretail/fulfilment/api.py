"""Store staff endpoints for picking: shifts, the pick queue, batches, scanning, substitutions, packing;
and the customer's answer to a proposed substitute."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from newretail.api.deps import PrincipalDep, RuntimeDep, StaffDep
from newretail.fulfilment import services
from newretail.ordering import services as ordering
from newretail.tenancy.services import require_store_access

router = APIRouter(tags=["fulfilment"])


class BatchIn(BaseModel):
    order_ids: list[str] | None = Field(default=None, description="omit to take the next batch, oldest first")


class ScanIn(BaseModel):
    line_id: str
    barcode: str = Field(min_length=8, max_length=14)
    units: int | None = Field(default=None, gt=0)
    grams: int | None = Field(default=None, gt=0)


class LineIn(BaseModel):
    line_id: str


class SubstituteIn(BaseModel):
    line_id: str
    product_id: str


class AnswerIn(BaseModel):
    line_id: str
    approve: bool


def _store_of(runtime: Any, staff: Any, order_id: str) -> None:
    order = ordering.get_order(runtime.uow(), staff.tenant_id, order_id)
    require_store_access(staff, order.store_id)


@router.post("/stores/{store_id}/shifts/start")
def start_shift(store_id: str, staff: StaffDep, runtime: RuntimeDep) -> dict[str, str]:
    require_store_access(staff, store_id)
    return {
        "shift_id": services.start_shift(
            runtime.uow(), tenant_id=staff.tenant_id, store_id=store_id, picker_id=staff.subject_id
        )
    }


@router.post("/stores/{store_id}/shifts/end")
def end_shift(store_id: str, staff: StaffDep, runtime: RuntimeDep) -> dict[str, str]:
    require_store_access(staff, store_id)
    services.end_shift(runtime.uow(), tenant_id=staff.tenant_id, store_id=store_id, picker_id=staff.subject_id)
    return {"status": "ended"}


@router.get("/stores/{store_id}/pick-queue")
def pick_queue(store_id: str, staff: StaffDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    require_store_access(staff, store_id)
    return services.pick_queue(runtime.uow(), tenant_id=staff.tenant_id, store_id=store_id)


@router.post("/stores/{store_id}/batches", status_code=201)
def start_batch(store_id: str, body: BatchIn, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    require_store_access(staff, store_id)
    batch = services.start_batch(
        runtime.uow(),
        tenant_id=staff.tenant_id,
        store_id=store_id,
        picker_id=staff.subject_id,
        order_ids=body.order_ids,
    )
    return {"batch_id": batch.batch_id, "order_ids": batch.order_ids, **services.pick_list_json(batch.pick_list)}


@router.get("/batches/{batch_id}")
def get_batch(batch_id: str, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    batch = services.batch_view(runtime.uow(), tenant_id=staff.tenant_id, batch_id=batch_id)
    for order_id in batch.order_ids:
        _store_of(runtime, staff, order_id)
    return {"batch_id": batch.batch_id, "order_ids": batch.order_ids, **services.pick_list_json(batch.pick_list)}


@router.post("/orders/{order_id}/picking/scan")
def scan(order_id: str, body: ScanIn, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    _store_of(runtime, staff, order_id)
    return services.picking_json(
        services.scan(
            runtime.uow(),
            tenant_id=staff.tenant_id,
            order_id=order_id,
            line_id=body.line_id,
            barcode=body.barcode,
            units=body.units,
            grams=body.grams,
        )
    )


@router.post("/orders/{order_id}/picking/short")
def report_short(order_id: str, body: LineIn, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    _store_of(runtime, staff, order_id)
    return services.picking_json(
        services.report_short(runtime.uow(), tenant_id=staff.tenant_id, order_id=order_id, line_id=body.line_id)
    )


@router.get("/orders/{order_id}/picking/substitutes")
def substitutes(order_id: str, line_id: str, staff: StaffDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    _store_of(runtime, staff, order_id)
    return [
        {"product_id": c.product_id, "name": c.name, "gtin": c.gtin, "unit_price_minor": c.unit_price.amount}
        for c in services.suggest_substitutes(
            runtime.uow(), tenant_id=staff.tenant_id, order_id=order_id, line_id=line_id
        )
    ]


@router.post("/orders/{order_id}/picking/substitute")
def propose_substitute(order_id: str, body: SubstituteIn, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    _store_of(runtime, staff, order_id)
    return services.picking_json(
        services.propose_substitute(
            runtime.uow(),
            tenant_id=staff.tenant_id,
            order_id=order_id,
            line_id=body.line_id,
            product_id=body.product_id,
        )
    )


@router.post("/orders/{order_id}/pack")
def pack(order_id: str, staff: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    _store_of(runtime, staff, order_id)
    order = services.pack(runtime.uow(), tenant_id=staff.tenant_id, order_id=order_id, picker_id=staff.subject_id)
    return ordering.order_json(order)


@router.get("/orders/{order_id}/picking")
def picking(order_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Progress of picking: staff see it, and so does the customer who placed the order."""
    from newretail.fulfilment.repository import FulfilmentRepository
    from newretail.tenancy.model import STAFF_ROLES

    order = ordering.get_order(runtime.uow(), principal.tenant_id, order_id)
    ordering.require_owner_or_staff(order, principal.subject_id, principal.role in STAFF_ROLES)
    with runtime.uow() as uow:
        doc, _row = FulfilmentRepository(uow.conn).picking(principal.tenant_id, order_id)
    return services.picking_json(doc)


@router.post("/orders/{order_id}/substitutions/answer")
def answer(order_id: str, body: AnswerIn, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    return services.picking_json(
        services.answer_substitution(
            runtime.uow(),
            tenant_id=principal.tenant_id,
            customer_id=principal.subject_id,
            order_id=order_id,
            line_id=body.line_id,
            approve=body.approve,
        )
    )
